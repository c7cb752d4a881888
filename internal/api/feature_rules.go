package api

import "greenroom/internal/access"

// The rules of the TechDocs, search and Feishu routes. TechDocs pages
// belong to catalog entities and their handlers read the entity through
// the caller's catalog scope, so a hidden entity's docs answer 404 like a
// missing one; search filters its results by the same scope in the
// engine's query (cli/searchwire.go); the Feishu migration writes into
// repositories and is an administrator's tool.
func init() {
	read := RouteRule{Action: access.ActionRead, Type: "catalog"}
	list := RouteRule{Action: access.ActionList, Type: "catalog"}
	admin := RouteRule{Action: access.ActionAdmin, Type: "admin"}
	for p, r := range map[string]RouteRule{
		// techdocs (techdocs.go, web/docs.go)
		"GET /api/techdocs/metadata/entity/{namespace}/{kind}/{name}":       read,
		"GET /api/techdocs/metadata/techdocs/{namespace}/{kind}/{name}":     read,
		"GET /api/techdocs/static/docs/{namespace}/{kind}/{name}/{file...}": read,
		"GET /api/techdocs/sync/{namespace}/{kind}/{name}":                  read,
		"GET /docs":                                     list,
		"GET /docs/{namespace}/{kind}/{name}":           read,
		"GET /docs/{namespace}/{kind}/{name}/{file...}": read,
		// search (search.go, web/search.go)
		"GET /api/search/query":    list,
		"GET /api/search/suggest":  list,
		"GET /api/search/status":   list,
		"POST /api/search/click":   list, // an aggregate count, no change to what is searched
		"POST /api/search/reindex": admin,
		"GET /search":              list,
		// feishu (feishu.go, web/feishu.go)
		"GET /api/feishu/migrations":                admin,
		"GET /api/feishu/migrations/{id}":           admin,
		"POST /api/feishu/migrations":               admin,
		"POST /api/feishu/migrations/{id}/rollback": admin,
		"POST /api/feishu/migrations/{id}/validate": admin,
		"GET /feishu":                           admin,
		"GET /feishu/migrations/{id}":           admin,
		"POST /feishu/migrations":               admin,
		"POST /feishu/migrations/{id}/rollback": admin,
		"POST /feishu/migrations/{id}/validate": admin,
	} {
		RegisterRouteRule(p, r)
	}
}
