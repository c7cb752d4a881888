package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/jobs"
	"greenroom/internal/search"
	"greenroom/internal/store/storetest"
	"greenroom/internal/web"
)

const authzFixture = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: platform-team}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: contractors}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: jane}
spec: {memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: ada}
spec: {memberOf: [platform-team]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: cy}
spec: {memberOf: [contractors]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc}
spec: {type: service, lifecycle: experimental, owner: team-a, dependsOn: ['component:default/payments-core']}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments-core}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: hidden, namespace: secret}
spec: {type: service, lifecycle: production, owner: group:default/team-a}
`

// TestAuthzWiring boots the permission layer as serve wires it, behind a
// stand-in for authentication that names the caller, and checks the
// pieces meet: roles resolved from the catalog, reads scoped, writes
// decided and audited, admin routes closed to others.
func TestAuthzWiring(t *testing.T) {
	ctx := t.Context()
	st := storetest.SQLite(t)
	logger := slog.New(slog.DiscardHandler)
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(authzFixture)}}
	cat, err := catalog.NewService(st, []catalog.Source{{Name: "fixture", FS: fsys, Root: "all.yaml"}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	pages, err := web.New("Test", cat, logger)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Permission.Policy = access.Policy{Enabled: true, DefaultRole: access.RoleDeveloper,
		Bindings: []access.Binding{{Role: access.RolePlatformAdmin, Members: []string{"group:default/platform-team"}}},
		Contractors: access.Contractors{Members: []string{"group:default/contractors"}, DefaultRole: access.RoleContractorViewer,
			Permissions: access.ContractorPermissions{AllowedNamespaces: []string{"default"}},
			Boundaries:  access.AccessBoundaries{RestrictedServices: []string{"component:default/payments-core"}}}}
	mux := http.NewServeMux()
	api.New(cat, logger).Routes(mux)
	pages.Routes(mux)
	env := &wireEnv{cfg: cfg, store: st, pool: jobs.New(st, jobs.Options{}), catalog: cat, pages: pages, mux: mux, logger: logger}
	if err := wireAuthz(ctx, env); err != nil {
		t.Fatal(err)
	}
	signIn := func(next http.Handler) http.Handler { // the authentication stand-in
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := r.Header.Get("X-Test-User"); u != "" {
				r = r.WithContext(access.NewContext(r.Context(), &access.Principal{Kind: access.KindUser, UserRef: u, OwnershipRefs: []string{u}}))
			}
			next.ServeHTTP(w, r)
		})
	}
	h := signIn(env.handler(mux))
	do := func(user, method, target string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		req.Header.Set("X-Test-User", user)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	names := func(rec *httptest.ResponseRecorder) string {
		var items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &items); err != nil {
			t.Fatalf("%s", rec.Body)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Metadata.Name)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	const components = "/api/catalog/entities?filter=kind=component"
	if got := names(do("user:default/jane", "GET", components)); got != "hidden,payments-core,svc" {
		t.Errorf("jane sees %s", got)
	}
	rec := do("user:default/cy", "GET", components)
	if got := names(rec); got != "svc" || strings.Contains(rec.Body.String(), "payments-core") {
		t.Errorf("contractor sees %s: %s", got, rec.Body)
	}
	if rec := do("user:default/cy", "GET", "/api/catalog/entities/by-name/component/default/payments-core"); rec.Code != http.StatusNotFound {
		t.Errorf("restricted by name: %d", rec.Code)
	}
	// Writes: the contractor may not delete; jane may delete her team's.
	var svc struct {
		Metadata struct{ UID string } `json:"metadata"`
	}
	_ = json.Unmarshal(do("user:default/jane", "GET", "/api/catalog/entities/by-name/component/default/svc").Body.Bytes(), &svc)
	if rec := do("user:default/cy", "DELETE", "/api/catalog/entities/by-uid/"+svc.Metadata.UID); rec.Code != http.StatusForbidden {
		t.Errorf("contractor delete: %d %s", rec.Code, rec.Body)
	}
	if rec := do("user:default/jane", "DELETE", "/api/catalog/entities/by-uid/"+svc.Metadata.UID); rec.Code != http.StatusNoContent {
		t.Errorf("owner delete: %d %s", rec.Code, rec.Body)
	}
	// The audit log, for admins only.
	if rec := do("user:default/jane", "GET", "/api/access/audit"); rec.Code != http.StatusForbidden {
		t.Errorf("developer reads audit: %d", rec.Code)
	}
	if rec := do("user:default/cy", "GET", "/admin/audit"); rec.Code != http.StatusForbidden || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("contractor admin page: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec = do("user:default/ada", "GET", "/api/access/audit?action=delete")
	var page struct {
		Items []access.AuditRecord `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
		t.Fatalf("admin audit: %d %s", rec.Code, rec.Body)
	}
	if len(page.Items) != 2 || page.Items[0].Actor != "user:default/jane" || page.Items[0].Decision != "allow" ||
		page.Items[1].Actor != "user:default/cy" || page.Items[1].Decision != "deny" || !page.Items[1].Contractor {
		t.Errorf("audit: %+v", page.Items)
	}
	// The home page's recent changes name only what the viewer may see.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := pages.Watch(wctx); err != nil {
		t.Fatal(err)
	}
	fsys["all.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(authzFixture, "lifecycle: production, owner: team-a}", "lifecycle: deprecated, owner: team-a}", 1))}
	if err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(do("user:default/jane", "GET", "/").Body.String(), "payments-core") {
		if time.Now().After(deadline) {
			t.Fatal("the change never reached the home page")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if body := do("user:default/cy", "GET", "/").Body.String(); strings.Contains(body, "payments-core") {
		t.Errorf("the contractor's home page names the restricted service")
	}
	rec = do("user:default/ada", "GET", "/api/access/roles?user=cy")
	if !strings.Contains(rec.Body.String(), `"roles":["contractor-viewer"]`) || !strings.Contains(rec.Body.String(), `"contractor":true`) {
		t.Errorf("roles lookup: %s", rec.Body)
	}
}

// The search engine is given the catalog scope in its own terms.
func TestAuthzSearchScope(t *testing.T) {
	policy := access.Policy{Enabled: true, DefaultRole: access.RoleDeveloper,
		Contractors: access.Contractors{Members: []string{"group:default/contractors"}, DefaultRole: access.RoleContractorViewer,
			Permissions: access.ContractorPermissions{AllowedNamespaces: []string{"Default", "partners"}},
			Boundaries:  access.AccessBoundaries{RestrictedServices: []string{"component:default/Payments-Core"}}}}
	perm, err := newLivePermission(policy, permDeps{store: storetest.SQLite(t), logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	scope := searchScope(perm, nil) // the default policies never list refs
	tests := []struct {
		name string
		p    *access.Principal
		want search.Visibility
	}{
		{"no principal", nil, search.Everything},
		{"employee", &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane", Roles: []string{access.RoleDeveloper}}, search.Everything},
		{"contractor", &access.Principal{Kind: access.KindUser, UserRef: "user:default/cy", Contractor: true, Roles: []string{access.RoleContractorViewer}},
			search.Visibility{Namespaces: []string{"default", "partners"}, ExcludeRefs: []string{"component:default/payments-core"}}},
		{"no role", &access.Principal{Kind: access.KindUser, UserRef: "user:default/nobody"}, search.Visibility{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.p != nil {
				ctx = access.NewContext(ctx, tt.p)
			}
			got, err := scope(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("visibility %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Under an administrator's read policy on entity attributes the search
// engine is given the refs the catalog's read filter selects, or the
// hidden ones to exclude when they are fewer.
func TestAuthzSearchScopeAttributePolicy(t *testing.T) {
	st := storetest.SQLite(t)
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(authzFixture)}}
	cat, err := catalog.NewService(st, []catalog.Source{{Name: "test", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	all := []string{"component:default/payments-core", "component:default/svc", "component:secret/hidden", "group:default/contractors",
		"group:default/platform-team", "group:default/team-a", "user:default/ada", "user:default/cy", "user:default/jane"}
	except := func(hidden ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(r string) bool { return slices.Contains(hidden, r) })
	}
	prodOwners := `forbid (principal, action == Action::"read", resource is Entity) when { resource.production && !(principal.ownership.contains(resource.owner)) };`
	componentsOnly := `forbid (principal, action == Action::"read", resource is Entity) unless { resource.kind == "component" };`
	for _, tc := range []struct {
		name, policy, user, group string
		want                      []string
		excludes                  bool // the hidden refs are fewer: they are excluded
	}{
		{"production hidden outside team-a", prodOwners, "user:default/ada", "group:default/platform-team",
			except("component:default/payments-core", "component:secret/hidden"), true},
		{"team-a sees everything", prodOwners, "user:default/jane", "group:default/team-a", all, true},
		{"components only", componentsOnly, "user:default/ada", "group:default/platform-team",
			[]string{"component:default/payments-core", "component:default/svc", "component:secret/hidden"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			policy := access.Policy{Enabled: true, DefaultRole: access.RoleDeveloper, Files: []access.PolicyFile{{Name: "reads.cedar", Text: []byte(tc.policy)}}}
			perm, err := newLivePermission(policy, permDeps{store: st, entities: st, logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			cat.SetReadFilter(perm.ReadScope)
			p := &access.Principal{Kind: access.KindUser, UserRef: tc.user, Roles: []string{access.RoleDeveloper}, OwnershipRefs: []string{tc.group}}
			v, err := searchScope(perm, cat)(access.NewContext(t.Context(), p))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range all {
				if (v.All || slices.Contains(v.Refs, r)) && !slices.Contains(v.ExcludeRefs, r) {
					got = append(got, r)
				}
			}
			if !slices.Equal(got, tc.want) || v.All != tc.excludes || len(v.Namespaces) > 0 {
				t.Errorf("visibility %+v selects %v, want %v (excluding: %v)", v, got, tc.want, tc.excludes)
			}
		})
	}
}
