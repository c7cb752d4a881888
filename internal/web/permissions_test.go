package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/api"
	"greenroom/internal/jobs"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
	golden "greenroom/templates"
)

// permFixture is the portal with the create pages behind the real
// permission layer (Cedar policies with the default roles, the API's route
// rules): pages ask it which controls to disable.
func permFixture(t *testing.T) (*fixture, *store.Store, func(role, method, path string, form url.Values) response) {
	t.Helper()
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	g := newGoldenCatalog(t, f.svc)
	files := scaffolder.NewResolver()
	files.SetBundled(golden.FS)
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: g, Files: files, DataDir: t.TempDir()})
	f.h.CreatePages(svc, g).Routes(f.mux)
	authz, err := access.NewAuthorizer(access.Policy{Enabled: true}, st, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	f.h.SetPermissions(&api.Authorize{Mux: f.mux, Authz: authz, Lookup: f.svc})
	ck, tok := f.csrf(t)
	as := func(role, method, path string, form url.Values) response {
		t.Helper()
		var req *http.Request
		if form != nil {
			form.Set("csrf", tok)
			req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		} else {
			req = httptest.NewRequest(method, path, nil)
		}
		req.AddCookie(ck)
		p := &access.Principal{Kind: access.KindUser, UserRef: "user:default/" + role, Roles: []string{role}}
		if role == "owner" { // a developer in the team that owns the demo's data platform
			p.Roles, p.OwnershipRefs = []string{access.RoleDeveloper}, []string{"group:default/team-data"}
		}
		return f.do(t, req.WithContext(access.NewContext(req.Context(), p)))
	}
	return f, st, as
}

// disabledFor checks a page shows control as disabled with a visible
// reason for the viewer and enabled, with no reason, for the developer.
func disabledFor(t *testing.T, name string, viewer, developer response, reason string) {
	t.Helper()
	if viewer.Code != http.StatusOK || developer.Code != http.StatusOK {
		t.Fatalf("%s: viewer %d, developer %d", name, viewer.Code, developer.Code)
	}
	for _, want := range []string{`aria-disabled="true"`, reason, "no policy permits"} {
		if !strings.Contains(viewer.body, want) {
			t.Errorf("%s as viewer lacks %q", name, want)
		}
	}
	if strings.Contains(developer.body, `aria-disabled="true"`) || strings.Contains(developer.body, reason) {
		t.Errorf("%s as developer is disabled", name)
	}
	for _, p := range markupProblems(viewer.doc) {
		t.Errorf("%s as viewer: %s", name, p)
	}
}

func TestPagesDisableWhatTheViewerCannotDo(t *testing.T) {
	_, _, as := permFixture(t)
	disabledFor(t, "register page", as("viewer", "GET", "/catalog-import", nil), as("developer", "GET", "/catalog-import", nil),
		"You cannot register components:")

	list := func(role string) response { return as(role, "GET", "/create", nil) }
	if v, d := list("viewer"), list("developer"); !strings.Contains(v.body, "You can browse templates but cannot run them:") ||
		strings.Contains(d.body, "cannot run them") {
		t.Errorf("create list: viewer note missing or developer warned")
	}
	form := func(role string) response { return as(role, "GET", "/create/templates/default/react-app", nil) }
	disabledFor(t, "template form", form("viewer"), form("developer"), "You cannot run this template:")

	// A task run by the developer, seen by both.
	vals := url.Values{"action": {"create"}, "p.name": {"web-shop"}, "p.owner": {"group:default/team-payments"},
		"p.repoUrl.host": {"github.com"}, "p.repoUrl.owner": {"acme-ledger"}, "p.repoUrl.repo": {"web-shop"}}
	res := as("developer", "POST", "/create/templates/default/react-app", vals)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("create as developer: %d %s", res.Code, res.body)
	}
	task := res.Header().Get("Location")
	disabledFor(t, "task page", as("viewer", "GET", task, nil), as("developer", "GET", task, nil), "You cannot cancel or retry tasks:")
}

func TestTokenCreationDisabledForTokens(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	st := storetest.SQLite(t)
	svc, err := authn.New(authn.Options{BaseURL: "http://portal.test", Store: st, Catalog: f.svc, Guest: &authn.GuestOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	f.h.AuthPages(svc).Routes(f.mux)
	settings := func(p *access.Principal) response {
		req := httptest.NewRequest("GET", "/settings", nil)
		return f.do(t, req.WithContext(access.NewContext(req.Context(), p)))
	}
	viaToken := settings(&access.Principal{Kind: access.KindUser, UserRef: "user:default/jane", TokenID: "t1"})
	signedIn := settings(&access.Principal{Kind: access.KindUser, UserRef: "user:default/jane"})
	if viaToken.Code != 200 || !strings.Contains(viaToken.body, "You cannot create tokens:") || !strings.Contains(viaToken.body, `<fieldset class="plain" disabled`) {
		t.Errorf("settings through a token: %d, creation not disabled with its reason", viaToken.Code)
	}
	if signedIn.Code != 200 || strings.Contains(signedIn.body, "You cannot create tokens") || strings.Contains(signedIn.body, "disabled") {
		t.Errorf("settings of a signed-in user: %d, creation disabled", signedIn.Code)
	}
}

func TestEntityActionsFollowPermissions(t *testing.T) {
	f, st, as := permFixture(t)
	pool := jobs.New(st, jobs.Options{})
	f.svc.SetEnqueuer(func(ctx context.Context, kind string, payload any) error {
		_, err := pool.Enqueue(ctx, kind, payload)
		return err
	})
	page := "/catalog/default/component/event-router"
	viewer, developer := as("viewer", "GET", page, nil), as("developer", "GET", page, nil)
	if viewer.Code != 200 || !strings.Contains(viewer.body, "You cannot refresh this entity:") || !strings.Contains(viewer.body, "You cannot delete this entity:") ||
		strings.Count(viewer.body, `aria-disabled="true"`) != 2 {
		t.Errorf("entity page as viewer: Refresh and Delete not both disabled with their reasons")
	}
	for _, p := range markupProblems(viewer.doc) {
		t.Errorf("entity page as viewer: %s", p)
	}
	if strings.Contains(developer.body, "You cannot refresh") || strings.Count(developer.body, `aria-disabled="true"`) != 1 {
		t.Error("entity page as a developer: Refresh disabled")
	}
	// A developer refreshes anything but deletes only what their groups own.
	if !strings.Contains(developer.body, "You cannot delete this entity:") {
		t.Error("entity page as a developer who does not own it: Delete not disabled")
	}
	owner := as("owner", "GET", page, nil)
	if strings.Contains(owner.body, "You cannot") || !strings.Contains(owner.body, `action="`+page+`/delete"`) {
		t.Errorf("entity page as its owner: actions disabled\n%s", owner.body)
	}
	res := as("developer", "POST", page+"/refresh", url.Values{})
	if res.Code != http.StatusSeeOther || res.Header().Get("Location") != page+"?done=refresh" {
		t.Fatalf("refresh: %d %s", res.Code, res.body)
	}
	if got := as("developer", "GET", res.Header().Get("Location"), nil); !strings.Contains(got.body, "Refresh requested") {
		t.Error("no notice after the refresh")
	}
	res = as("owner", "POST", page+"/delete", url.Values{})
	if res.Code != http.StatusOK || !strings.Contains(res.body, `name="confirm" value="yes"`) {
		t.Fatalf("delete without confirm must ask: %d", res.Code)
	}
	if as("owner", "GET", page, nil).Code != http.StatusOK {
		t.Fatal("deleted before the confirmation")
	}
	res = as("owner", "POST", page+"/delete", url.Values{"confirm": {"yes"}})
	if res.Code != http.StatusSeeOther || as("owner", "GET", page, nil).Code != http.StatusNotFound {
		t.Fatalf("confirmed delete: %d", res.Code)
	}
}
