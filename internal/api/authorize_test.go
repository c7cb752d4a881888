package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// routeDirs are the packages whose mux.Handle calls make up the server's
// routes (the API, the portal, and what cli registers itself).
var routeDirs = []string{".", "../web", "../cli"}

// serverRoutes scans routeDirs for mux.Handle / HandleFunc calls with a
// literal pattern and returns the patterns, so that a route added anywhere
// is in the matrix without anyone listing it.
func serverRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range scanRoutes(t, routeDirs...) {
		out = append(out, r.pattern)
	}
	if len(out) < 30 {
		t.Fatalf("found only %d routes; is the scan broken?", len(out))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Every route has a rule, and every rule a route.
func TestEveryRouteHasAnAuthorizationRule(t *testing.T) {
	routes := serverRoutes(t)
	for _, p := range routes {
		if _, ok := RouteRuleFor(p); !ok {
			t.Errorf("route %q has no authorization rule: declare one with RegisterRouteRule (internal/api/authorize.go)", p)
		}
	}
	for p := range RouteRules() {
		if !slices.Contains(routes, p) {
			t.Errorf("authorization rule for %q matches no route", p)
		}
	}
}

var wildcard = regexp.MustCompile(`\{([^}]+)\}`)

var sampleValues = map[string]string{"uid": "u1", "kind": "component", "namespace": "default", "name": "svc", "id": "l1",
	"source": "s1", "section": "about", "file": "app.css", "$": ""}

// sampleRequest builds a request that the mux routes to pattern.
func sampleRequest(pattern string) *http.Request {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern+"zzz-unknown"
	}
	path = wildcard.ReplaceAllStringFunc(path, func(m string) string { return sampleValues[strings.Trim(m, "{}")] })
	body := "{}"
	if strings.HasSuffix(path, "/refresh") {
		body = `{"entityRef":"component:default/svc"}`
	}
	return httptest.NewRequest(method, path, strings.NewReader(body))
}

// fakeLookup knows one entity, component:default/svc owned by team-a.
type fakeLookup struct{}

var svcEntity = json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc","namespace":"default","uid":"u1"},"spec":{"owner":"team-a","type":"service","lifecycle":"experimental"}}`)

func (fakeLookup) EntityByUID(_ context.Context, uid string) (json.RawMessage, error) {
	if uid == "u1" {
		return svcEntity, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "no entity with uid %s", uid)
}

func (fakeLookup) EntityByName(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if strings.EqualFold(ref.String(), "component:default/svc") {
		return svcEntity, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "entity %s not found", ref)
}

// memAudit records audit events.
type memAudit struct {
	mu  sync.Mutex
	evs []access.AuditEvent
}

func (m *memAudit) Audit(_ context.Context, ev access.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, ev)
	return nil
}

func (m *memAudit) events() []access.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.evs)
}

func matrixPolicy() access.Policy {
	return access.Policy{Enabled: true, Contractors: access.Contractors{
		Members:     []string{"group:default/contractors"},
		Permissions: access.ContractorPermissions{AllowedNamespaces: []string{"default"}},
		Boundaries: access.AccessBoundaries{RestrictedServices: []string{"component:default/payments-core"},
			RequiresApproval: []string{access.ActionScaffolderCreate, access.ActionDeploymentSync}},
	}}
}

// expected is the authorization matrix: what each role may do on a
// resource it does not own, and what it may do besides on one it owns.
var expected = map[string]struct{ any, own []string }{
	access.RolePlatformAdmin:       {any: access.Actions},
	access.RoleDeveloper:           {any: []string{"read", "list", "create", "refresh", "scaffolder.task.create"}, own: []string{"update", "delete", "sync", "deployment.sync", "cost.view"}},
	access.RoleViewer:              {any: []string{"read", "list"}},
	access.RoleCostManager:         {any: []string{"read", "list", "cost.view"}},
	access.RoleContractorViewer:    {any: []string{"read", "list"}},
	access.RoleContractorDeveloper: {any: []string{"read", "list", "create", "refresh"}, own: []string{"update"}},
	"":                             {}, // a signed-in principal without any role
}

func allowedFor(role, action string, owner bool) bool {
	e := expected[role]
	return slices.Contains(e.any, action) || (owner && slices.Contains(e.own, action))
}

// TestAuthorizationMatrix drives the middleware with every role (as owner
// of the route's entity and not) against every route of the server, and
// checks it lets through exactly what the matrix allows, answers 403
// otherwise, and audits every decision on a write.
func TestAuthorizationMatrix(t *testing.T) {
	audit := &memAudit{}
	authz, err := access.NewAuthorizer(matrixPolicy(), audit, nil)
	if err != nil {
		t.Fatal(err)
	}
	routes := serverRoutes(t)
	mux := http.NewServeMux()
	for _, p := range routes {
		mux.Handle(p, http.NotFoundHandler())
	}
	checked := map[string]bool{}
	for _, p := range routes {
		rule, ok := RouteRuleFor(p)
		if !ok {
			t.Errorf("route %q has no decision", p)
			continue
		}
		for role := range expected {
			for _, owner := range []bool{false, true} {
				principal := &access.Principal{Kind: access.KindUser, UserRef: "user:default/someone", OwnershipRefs: []string{"user:default/someone"}}
				if role != "" {
					principal.Roles = []string{role}
				}
				if strings.HasPrefix(role, "contractor") {
					principal.Contractor = true
					principal.OwnershipRefs = append(principal.OwnershipRefs, "group:default/contractors")
				}
				if owner {
					principal.OwnershipRefs = append(principal.OwnershipRefs, "group:default/team-a")
				}
				reached := false
				mw := &Authorize{Mux: mux, Authz: authz, Lookup: fakeLookup{}}
				h := mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
				req := sampleRequest(p)
				req = req.WithContext(access.NewContext(req.Context(), principal))
				rec := httptest.NewRecorder()
				before := len(audit.events())
				h.ServeHTTP(rec, req)
				if _, pat := mux.Handler(req); pat != p {
					t.Fatalf("sample request for %q routes to %q", p, pat)
				}
				want := true
				if !rule.Public && !rule.SelfChecked {
					ownsEntity := owner && rule.Resource != nil
					want = allowedFor(role, rule.Action, ownsEntity)
					if strings.HasPrefix(role, "contractor") && rule.Type == "locations" && !access.IsWrite(rule.Action) {
						want = false // contractor.locations: registered locations name restricted repositories
					}
					checked[rule.Action] = true
				}
				if reached != want {
					t.Errorf("%s as %q (owner %v): reached %v, want %v (status %d %s)", p, role, owner, reached, want, rec.Code, rec.Body)
				}
				if !reached && rec.Code != http.StatusForbidden {
					t.Errorf("%s as %q: denied with %d, want 403", p, role, rec.Code)
				}
				audited := len(audit.events()) - before
				if wantAudit := !rule.Public && !rule.SelfChecked && access.IsWrite(rule.Action); (audited == 1) != wantAudit {
					t.Errorf("%s as %q: %d audit events, want audited=%v", p, role, audited, wantAudit)
				}
			}
		}
	}
	for _, a := range []string{"read", "list", "create", "update", "delete", "refresh", "admin", "audit.read"} {
		if !checked[a] {
			t.Errorf("no route exercises action %s", a)
		}
	}
}

// With the route table covering only some actions, the remaining ones of
// the list (sync, cost view, approve, scaffolder, deployment) are
// decided by the engine directly, for every role.
func TestAuthorizationMatrixActions(t *testing.T) {
	authz, err := access.NewAuthorizer(matrixPolicy(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	own := access.Resource{Type: "entity", Ref: "component:default/svc", Kind: "component", Namespace: "default", Name: "svc", Owner: "group:default/team-a"}
	for role := range expected {
		for _, action := range access.Actions {
			if action == access.ActionApprove {
				continue // TestApprovalDecisions
			}
			for _, owner := range []bool{false, true} {
				p := &access.Principal{Kind: access.KindUser, UserRef: "user:default/someone", Roles: []string{role}}
				if strings.HasPrefix(role, "contractor") {
					p.Contractor = true
				}
				if owner {
					p.OwnershipRefs = []string{"group:default/team-a"}
				}
				d := authz.Check(access.NewContext(context.Background(), p), action, own)
				want := allowedFor(role, action, owner)
				if d.Allowed != want {
					t.Errorf("%q %s (owner %v): allowed %v, want %v: %s", role, action, owner, d.Allowed, want, d.Reason)
				}
			}
		}
	}
}

func TestEntityFromPath(t *testing.T) {
	req := httptest.NewRequest("POST", "/api/deploy/component/default/svc/sync", nil)
	setPathValues(req, "POST /api/deploy/{kind}/{namespace}/{name}/sync")
	res := EntityFromPath(req.Context(), req, fakeLookup{})
	if res.Type != "entity" || res.Ref != "component:default/svc" || res.Owner != "group:default/team-a" {
		t.Fatalf("%+v", res)
	}
	req = httptest.NewRequest("POST", "/api/deploy/component/default/none/sync", nil)
	setPathValues(req, "POST /api/deploy/{kind}/{namespace}/{name}/sync")
	if res := EntityFromPath(req.Context(), req, fakeLookup{}); res.Type != "catalog" {
		t.Fatalf("missing entity: %+v", res)
	}
}

// A request no route matches acts on nothing: the mux answers it (405
// here) without a decision or an audit record; a route without a rule is
// decided as a generic one.
func TestUnmatchedAndUnruledRoutes(t *testing.T) {
	audit := &memAudit{}
	authz, err := access.NewAuthorizer(matrixPolicy(), audit, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/catalog/entities", http.NotFoundHandler())
	mux.Handle("POST /api/new-feature/things", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) }))
	h := (&Authorize{Mux: mux, Authz: authz, Lookup: fakeLookup{}}).Wrap(mux)
	viewer := &access.Principal{Kind: access.KindUser, UserRef: "user:default/v", Roles: []string{access.RoleViewer}}
	admin := &access.Principal{Kind: access.KindUser, UserRef: "user:default/a", Roles: []string{access.RolePlatformAdmin}}
	do := func(p *access.Principal, method, target string) int {
		req := httptest.NewRequest(method, target, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(access.NewContext(req.Context(), p)))
		return rec.Code
	}
	if code := do(viewer, "DELETE", "/api/catalog/entities"); code != http.StatusMethodNotAllowed {
		t.Errorf("unmatched: %d", code)
	}
	if len(audit.events()) != 0 {
		t.Errorf("unmatched request audited: %+v", audit.events())
	}
	if code := do(viewer, "POST", "/api/new-feature/things"); code != http.StatusForbidden {
		t.Errorf("viewer on an unruled write route: %d", code)
	}
	if code := do(admin, "POST", "/api/new-feature/things"); code != http.StatusCreated {
		t.Errorf("admin on an unruled write route: %d", code)
	}
	evs := audit.events()
	if len(evs) != 2 || evs[0].Resource != "route:POST /api/new-feature/things" || evs[0].Decision != access.DecisionDeny {
		t.Errorf("audit %+v", evs)
	}
}
