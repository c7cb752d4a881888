package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// Every route of the server asks one permission layer before acting: the
// Authorize middleware looks up the pattern the mux routes a request to in
// the route table below, builds the resource, and asks the Authorizer. A
// route missing from the table is decided as a generic read (GET, HEAD) or
// update (anything else) of Resource{Type: "route"}, and the authorization
// matrix test fails until the route gets a rule.

// RouteRule says how one route is authorized.
type RouteRule struct {
	// Action is the action the route takes.
	Action string
	// Public routes need no decision (health, static assets, sign-in,
	// webhooks that authenticate themselves).
	Public bool
	// SelfChecked routes need a principal; the domain decides and audits
	// (approval decisions).
	SelfChecked bool
	// Resource names what the action is on; nil uses Resource{Type: Type}.
	Resource func(ctx context.Context, r *http.Request, c EntityLookup) access.Resource
	// Type is the resource type when Resource is nil ("catalog",
	// "locations"…).
	Type string
}

// EntityLookup finds the entity a route acts on; lookups are scoped to
// the caller, so a hidden entity is not found and the handler answers 404.
type EntityLookup interface {
	EntityByUID(ctx context.Context, uid string) (json.RawMessage, error)
	EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
}

var (
	rulesMu    sync.RWMutex
	routeRules = map[string]RouteRule{}
)

// RegisterRouteRule declares the rule of a route pattern (as given to
// ServeMux.Handle). Features declare their routes' rules from init in
// their own files; declaring a pattern twice panics.
func RegisterRouteRule(pattern string, rule RouteRule) {
	rulesMu.Lock()
	defer rulesMu.Unlock()
	if _, ok := routeRules[pattern]; ok {
		panic("api: route rule for " + pattern + " declared twice")
	}
	if !rule.Public && !rule.SelfChecked && !access.KnownAction(rule.Action) {
		panic("api: route rule for " + pattern + " has unknown action " + rule.Action)
	}
	routeRules[pattern] = rule
}

// RouteRuleFor returns the rule of pattern.
func RouteRuleFor(pattern string) (RouteRule, bool) {
	rulesMu.RLock()
	defer rulesMu.RUnlock()
	r, ok := routeRules[pattern]
	return r, ok
}

// RouteRules returns every declared pattern's rule.
func RouteRules() map[string]RouteRule {
	rulesMu.RLock()
	defer rulesMu.RUnlock()
	out := make(map[string]RouteRule, len(routeRules))
	for k, v := range routeRules {
		out[k] = v
	}
	return out
}

func entityByUID(ctx context.Context, r *http.Request, c EntityLookup) access.Resource {
	return lookedUp(c.EntityByUID(ctx, r.PathValue("uid")))
}

// EntityFromPath describes the entity a route's {kind}/{namespace}/{name}
// names, for rules of routes that act on one entity.
func EntityFromPath(ctx context.Context, r *http.Request, c EntityLookup) access.Resource {
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	return lookedUp(c.EntityByName(ctx, ref))
}

// entityInBody reads {"entityRef": …} from a JSON body (POST /refresh),
// leaving the body for the handler.
func entityInBody(ctx context.Context, r *http.Request, c EntityLookup) access.Resource {
	const maxPeek = 64 << 10
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPeek+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
	if err != nil || len(b) > maxPeek {
		return access.Resource{Type: "catalog"}
	}
	var body struct {
		EntityRef string `json:"entityRef"`
	}
	if json.Unmarshal(b, &body) != nil || body.EntityRef == "" {
		return access.Resource{Type: "catalog"}
	}
	ref, err := greenroom.ParseEntityRef(body.EntityRef, "", "default")
	if err != nil {
		return access.Resource{Type: "catalog"}
	}
	return lookedUp(c.EntityByName(ctx, ref))
}

// lookedUp describes an entity found, or the catalog when it is not
// (the handler then answers 404 as for a missing entity).
func lookedUp(body json.RawMessage, err error) access.Resource {
	if err != nil {
		return access.Resource{Type: "catalog"}
	}
	res, err := access.EntityResource(body)
	if err != nil {
		return access.Resource{Type: "catalog"}
	}
	return res
}

func init() {
	read := func(typ string) RouteRule { return RouteRule{Action: access.ActionRead, Type: typ} }
	list := func(typ string) RouteRule { return RouteRule{Action: access.ActionList, Type: typ} }
	for p, r := range map[string]RouteRule{
		// catalog (routes.go)
		"GET /api/catalog/entities":                                            list("catalog"),
		"GET /api/catalog/entities/by-query":                                   list("catalog"),
		"POST /api/catalog/entities/by-refs":                                   list("catalog"),
		"GET /api/catalog/entity-facets":                                       list("catalog"),
		"POST /api/catalog/entities/by-query":                                  list("catalog"),
		"POST /api/catalog/entity-facets":                                      list("catalog"),
		"GET /api/catalog/entities/by-uid/{uid}":                               read("catalog"),
		"DELETE /api/catalog/entities/by-uid/{uid}":                            {Action: access.ActionDelete, Resource: entityByUID},
		"GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}":          read("catalog"),
		"POST /api/catalog/refresh":                                            {Action: access.ActionRefresh, Resource: entityInBody},
		"POST /api/catalog/validate-entity":                                    read("catalog"),
		"GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry": read("catalog"),
		"POST /api/catalog/locations":                                          {Action: access.ActionCreate, Type: "locations"},
		"GET /api/catalog/locations":                                           list("locations"),
		"POST /api/catalog/locations/by-query":                                 list("locations"),
		"GET /api/catalog/locations/by-entity/{kind}/{namespace}/{name}":       read("locations"),
		"GET /api/catalog/locations/{id}":                                      read("locations"),
		"PUT /api/catalog/locations/{id}":                                      {Action: access.ActionUpdate, Type: "locations"},
		"DELETE /api/catalog/locations/{id}":                                   {Action: access.ActionDelete, Type: "locations"},
		"GET /api/catalog/locations/{id}/status":                               read("locations"),
		"POST /api/catalog/analyze-location":                                   read("locations"),
		"GET /api/catalog/openapi.json":                                        {Public: true},
		"GET /api/catalog/openapi.yaml":                                        {Public: true},
		"/api/":                                                                {Public: true}, // 404 for unknown API routes
		// The push API authenticates its callers with static tokens itself.
		"POST /api/catalog/push/{source}": {Public: true},
		// discovery (cli/discoverywire.go): the webhook checks its signature.
		"POST /api/events/http/github": {Public: true},
		"GET /api/catalog/providers":   read("catalog"),
		// access (access.go)
		"GET /api/access/audit":                    {Action: access.ActionAuditRead, Type: "audit"},
		"GET /api/access/audit/export":             {Action: access.ActionAuditRead, Type: "audit"},
		"GET /api/access/approvals":                list("approvals"),
		"GET /api/access/approvals/{id}":           read("approvals"),
		"POST /api/access/approvals/{id}/decision": {SelfChecked: true},
		"GET /api/access/roles":                    {Action: access.ActionAdmin, Type: "admin"},
		// portal (internal/web)
		"GET /{$}":                               read("catalog"),
		"GET /catalog":                           list("catalog"),
		"GET /catalog/{$}":                       {Public: true}, // a redirect
		"GET /catalog/{namespace}/{kind}/{name}": read("catalog"),
		"GET /catalog/{namespace}/{kind}/{name}/{section}": read("catalog"),
		// Starring is the user's own preference, not a change to the entity.
		"POST /catalog/{namespace}/{kind}/{name}/star": read("catalog"),
		// The entity page's Refresh and Delete… buttons (web/entity_actions.go).
		"POST /catalog/{namespace}/{kind}/{name}/refresh": {Action: access.ActionRefresh, Resource: EntityFromPath},
		"POST /catalog/{namespace}/{kind}/{name}/delete":  {Action: access.ActionDelete, Resource: EntityFromPath},
		"GET /api-docs":        list("catalog"),
		"GET /catalog-import":  read("locations"),
		"POST /catalog-import": {Action: access.ActionCreate, Type: "locations"},
		"GET /static/{file}":   {Public: true},
		"/":                    {Public: true}, // the portal's 404 page
		// admin pages (internal/web/admin.go)
		"GET /admin":                     {SelfChecked: true}, // shows what the caller may see of it
		"GET /admin/bindings":            {Action: access.ActionAdmin, Type: "admin"},
		"GET /admin/approvals":           list("approvals"),
		"POST /admin/approvals/{id}":     {SelfChecked: true},
		"GET /admin/audit":               {Action: access.ActionAuditRead, Type: "audit"},
		"GET /admin/providers":           {Action: access.ActionAdmin, Type: "admin"},
		"GET /admin/tokens":              {Action: access.ActionAdmin, Type: "admin"},
		"POST /admin/tokens/{id}/revoke": {Action: access.ActionAdmin, Type: "admin"},
		// live updates (internal/web/live.go): the stream filters its
		// events by the caller's read scope itself.
		"GET /api/events/stream/catalog": list("catalog"),
		// sign-in and the caller's own settings (internal/web/auth.go): the
		// caller acts on their own session and tokens only.
		"GET /signin":                       {Public: true},
		"GET /settings":                     {SelfChecked: true},
		"POST /settings/tokens":             {SelfChecked: true},
		"POST /settings/tokens/{id}/revoke": {SelfChecked: true},
		"GET /settings/cli-login":           {SelfChecked: true},
		"POST /settings/cli-login":          {SelfChecked: true},
		// server (cli/serve.go)
		"GET /healthz": {Public: true},
		"GET /readyz":  {Public: true},
		"GET /metrics": {Public: true},
	} {
		RegisterRouteRule(p, r)
	}
}

// Authorizer is the permission layer the middleware asks.
type Authorizer interface {
	Authorize(ctx context.Context, action string, res access.Resource) (access.Decision, error)
	// AuthorizeApproved decides (and audits) an approved action about to
	// run, on the requester's rights as they are now.
	AuthorizeApproved(ctx context.Context, action string, res access.Resource, approval string) (access.Decision, error)
}

// ApprovalRequester turns an action that needs approval into a request.
type ApprovalRequester interface {
	Request(ctx context.Context, action string, res access.Resource, executor string, payload any, why string) (access.Approval, error)
}

// ReplayExecutor is the executor that runs an approved HTTP request again.
const ReplayExecutor = "http.replay"

// replayPayload is a request stored for approval. Its body is bounded by
// the server's body limit.
type replayPayload struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Query       string `json:"query,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Body        []byte `json:"body,omitempty"`
	Requester   string `json:"requester"`
	// Scopes and TokenID are the requester's token's, when one was used:
	// the replay keeps to the scopes, and does not run once the token is
	// revoked or expired.
	Scopes  []string `json:"scopes,omitempty"`
	TokenID string   `json:"tokenId,omitempty"`
}

// maxReplayBody bounds the body kept with an approval request.
const maxReplayBody = 128 << 10

// Authorize returns the middleware that authorizes every request mux
// routes. Requests without a principal (authentication off, or a public
// route authentication let through) pass. A denied request answers 403; one
// that needs approval becomes an approval request answered 202 with its id.
type Authorize struct {
	Mux       *http.ServeMux
	Authz     Authorizer
	Lookup    EntityLookup
	Approvals ApprovalRequester // nil: needs-approval answers 403
	// Enrich, when set, fills the principal's roles, contractor flag and
	// attributes (access.Resolver) before anything decides: a copy of the
	// principal goes into the request's context.
	Enrich func(ctx context.Context, p *access.Principal) error
	// PageError renders errors of routes outside /api/ (portal pages);
	// nil renders them as JSON too.
	PageError func(w http.ResponseWriter, r *http.Request, err error)
	Logger    *slog.Logger
	warned    sync.Map
}

// approvedKey marks the context of a replayed, approved request.
type approvedKey struct{}

// Wrap returns next behind the authorization.
func (a *Authorize) Wrap(next http.Handler) http.Handler {
	api := ErrorWriter{Logger: a.Logger}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := access.FromContext(r.Context())
		if p == nil {
			next.ServeHTTP(w, r)
			return
		}
		// A replayed, approved request is decided again as the approval
		// allows, for the requester as they are now (Replay enriched them).
		ctx := r.Context()
		approval, approved := ctx.Value(approvedKey{}).(string)
		if access.SourceFromContext(ctx) == "" {
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				ctx = access.WithSource(ctx, host)
			}
		}
		errs := errorRenderer(api.Write)
		if a.PageError != nil && !strings.HasPrefix(r.URL.Path, "/api/") {
			errs = a.PageError
		}
		if a.Enrich != nil && !approved {
			cp := *p
			cp.Attributes = maps.Clone(p.Attributes)
			if err := a.Enrich(ctx, &cp); err != nil {
				errs(w, r.WithContext(ctx), err)
				return
			}
			ctx = access.NewContext(ctx, &cp)
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx) // once for the source and the enriched principal
		}
		_, pattern := a.Mux.Handler(r)
		if pattern == "" {
			next.ServeHTTP(w, r) // no route: the mux answers 404, 405 or a redirect, acting on nothing
			return
		}
		rule, ok := RouteRuleFor(pattern)
		if !ok {
			if _, seen := a.warned.LoadOrStore(pattern, true); !seen && a.Logger != nil {
				a.Logger.Warn("route has no authorization rule; decided as a generic route", "pattern", pattern)
			}
			rule = RouteRule{Action: access.ActionUpdate, Type: "route"}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				rule.Action = access.ActionRead
			}
		}
		if rule.Public || rule.SelfChecked {
			next.ServeHTTP(w, r)
			return
		}
		res := access.Resource{Type: rule.Type}
		if rule.Resource != nil {
			setPathValues(r, pattern)
			res = rule.Resource(r.Context(), r, a.Lookup)
		}
		if res.Type == "route" || (res.Type == "" && !ok) {
			res = access.Resource{Type: "route", Ref: pattern}
		}
		var d access.Decision
		var err error
		if approved {
			d, err = a.Authz.AuthorizeApproved(r.Context(), rule.Action, res, approval)
		} else {
			d, err = a.Authz.Authorize(r.Context(), rule.Action, res)
		}
		if err != nil {
			errs(w, r, err)
			return
		}
		switch {
		case approved && !d.Allowed:
			errs(w, r, greenroom.Errorf(greenroom.CodeForbidden, "the requester may no longer %s: %s", rule.Action, d.Reason))
		case d.Allowed:
			next.ServeHTTP(w, r)
		case d.NeedsApproval && a.Approvals != nil:
			a.requestApproval(w, r, rule.Action, res, d, errs)
		default:
			errs(w, r, d.Err(rule.Action))
		}
	})
}

// errorRenderer writes an error response.
type errorRenderer func(w http.ResponseWriter, r *http.Request, err error)

func (a *Authorize) requestApproval(w http.ResponseWriter, r *http.Request, action string, res access.Resource, d access.Decision, errs errorRenderer) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil {
		errs(w, r, greenroom.Errorf(greenroom.CodeInvalid, "could not read the request body: %v", err))
		return
	}
	if len(body) > maxReplayBody {
		errs(w, r, greenroom.Errorf(greenroom.CodeTooLarge, "a request awaiting approval may carry at most %d bytes", maxReplayBody))
		return
	}
	p := access.FromContext(r.Context())
	pl := replayPayload{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"),
		Body: body, Requester: p.UserRef, Scopes: p.Scopes, TokenID: p.TokenID}
	ap, err := a.Approvals.Request(r.Context(), action, res, ReplayExecutor, pl, d.Reason)
	if err != nil {
		errs(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/access/approvals/"+ap.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"approvalId": ap.ID, "state": ap.State,
		"message": fmt.Sprintf("%s requires approval; request %s is pending", action, ap.ID),
	})
}

// TokenCheck reports whether the token id is still valid: an error (code
// forbidden or unauthorized) when it is revoked, expired or gone.
type TokenCheck func(ctx context.Context, id string) error

// Replay returns the executor that runs an approved request through h (the
// authorization middleware around the routes) as its requester: enriched
// again, with the token's scopes, so that the middleware decides the
// action once more as the approval allows it, on the requester's rights as
// they are now. It fails — and the approval with it, naming the reason —
// when the requester's token is no longer valid, when they lost the right,
// or unless the handler answers 2xx or 3xx.
func Replay(h http.Handler, enrich func(context.Context, *access.Principal) error, tokens TokenCheck) access.Executor {
	return func(ctx context.Context, ap access.Approval) error {
		var pl replayPayload
		if err := json.Unmarshal(ap.Payload, &pl); err != nil {
			return fmt.Errorf("api: replay approval %s: %w", ap.ID, err)
		}
		if pl.TokenID != "" && tokens != nil {
			if err := tokens(ctx, pl.TokenID); err != nil {
				return greenroom.Errorf(greenroom.CodeForbidden, "the requester's token %s is no longer valid: %s", pl.TokenID, greenroom.ErrorMessage(err))
			}
		}
		target := pl.Path
		if pl.Query != "" {
			target += "?" + pl.Query
		}
		req := httptest.NewRequest(pl.Method, target, bytes.NewReader(pl.Body))
		if pl.ContentType != "" {
			req.Header.Set("Content-Type", pl.ContentType)
		}
		kind := access.KindUser
		if strings.HasPrefix(pl.Requester, "service:") {
			kind = access.KindService
		}
		p := &access.Principal{Kind: kind, UserRef: pl.Requester, OwnershipRefs: []string{pl.Requester}, Scopes: pl.Scopes, TokenID: pl.TokenID}
		if enrich != nil {
			if err := enrich(ctx, p); err != nil {
				return fmt.Errorf("api: replay approval %s: %w", ap.ID, err)
			}
		}
		rctx := access.NewContext(context.WithValue(ctx, approvedKey{}, ap.ID), p)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(rctx))
		if rec.Code >= 400 {
			var body struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			msg := strings.TrimSpace(rec.Body.String())
			if json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.Error.Message != "" {
				msg = body.Error.Message
			}
			code := greenroom.CodeInternal
			if rec.Code == http.StatusForbidden {
				code = greenroom.CodeForbidden
			}
			return greenroom.Errorf(code, "replaying %s %s answered %d: %s", pl.Method, pl.Path, rec.Code, msg)
		}
		return nil
	}
}

// setPathValues fills r's path values from pattern the way the mux will
// once it routes r: the middleware runs before the mux has.
func setPathValues(r *http.Request, pattern string) {
	_, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path = pattern
	}
	pat := strings.Split(strings.Trim(path, "/"), "/")
	got := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, seg := range pat {
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") || i >= len(got) {
			continue
		}
		name := strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
		if name == "$" {
			continue
		}
		v := got[i]
		if strings.HasSuffix(seg, "...}") {
			v = strings.Join(got[i:], "/")
		}
		if u, err := url.PathUnescape(v); err == nil {
			r.SetPathValue(name, u)
		}
	}
}
