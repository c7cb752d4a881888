package api

import "greenroom/internal/access"

// The scaffolder's routes (scaffolder.go and the portal's create pages).
// Templates are catalog entities: reading one is a catalog read, and the
// catalog's read scope hides what the caller may not see. Running a
// template (and retrying or cancelling a run, which may publish again) is
// scaffolder.task.create, the action permission.contractors'
// requiresApproval names; a dry-run has no side effects and is a read.
func init() {
	read := RouteRule{Action: access.ActionRead, Type: "scaffolder"}
	run := RouteRule{Action: access.ActionScaffolderCreate, Type: "scaffolder"}
	for p, r := range map[string]RouteRule{
		"GET /api/scaffolder/v2/actions":                                              read,
		"GET /api/scaffolder/v2/templates/{namespace}/{kind}/{name}/parameter-schema": {Action: access.ActionRead, Type: "catalog"},
		"POST /api/scaffolder/v2/dry-run":                                             read,
		"POST /api/scaffolder/v2/tasks":                                               run,
		"GET /api/scaffolder/v2/tasks":                                                {Action: access.ActionList, Type: "scaffolder"},
		"GET /api/scaffolder/v2/tasks/{id}":                                           read,
		"GET /api/scaffolder/v2/tasks/{id}/events":                                    read,
		"GET /api/scaffolder/v2/tasks/{id}/eventstream":                               read,
		"POST /api/scaffolder/v2/tasks/{id}/cancel":                                   run,
		"POST /api/scaffolder/v2/tasks/{id}/retry":                                    run,
		"GET /create": {Action: access.ActionList, Type: "catalog"},
		"GET /create/templates/{namespace}/{name}":  {Action: access.ActionRead, Type: "catalog"},
		"POST /create/templates/{namespace}/{name}": run,
		"GET /create/tasks":                         {Action: access.ActionList, Type: "scaffolder"},
		"GET /create/tasks/{id}":                    read,
		"POST /create/tasks/{id}":                   run,
		"GET /create/edit":                          read,
		"POST /create/edit":                         read,
	} {
		RegisterRouteRule(p, r)
	}
}
