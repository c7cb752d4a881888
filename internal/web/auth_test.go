package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/store/storetest"
)

// authFixture is the portal with the sign-in pages, every request acting
// as principal (nil: anonymous).
func authFixture(t *testing.T, principal *access.Principal) (*fixture, *authn.Service) {
	t.Helper()
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	svc, err := authn.New(authn.Options{BaseURL: "http://portal.example", Store: st, Catalog: f.svc, Guest: &authn.GuestOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	f.h.SetIdentify(IdentifyFromPrincipal)
	mux := http.NewServeMux()
	f.h.AuthPages(svc).Routes(mux)
	f.h.Routes(mux)
	f.mux = mux
	inner := f.mux
	wrapped := http.NewServeMux()
	wrapped.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if principal != nil {
			r = r.WithContext(access.NewContext(r.Context(), principal))
		}
		inner.ServeHTTP(w, r)
	}))
	f.mux = wrapped
	return f, svc
}

var jane = &access.Principal{Kind: access.KindUser, UserRef: "user:default/daniel.ferreira", DisplayName: "Daniel Ferreira",
	OwnershipRefs: []string{"user:default/daniel.ferreira", "group:default/engineering"}, Roles: []string{"developer"}}

func TestSignInPage(t *testing.T) {
	f, _ := authFixture(t, &access.Principal{Kind: access.KindGuest, UserRef: authn.DefaultGuestUser, OwnershipRefs: []string{authn.DefaultGuestUser}})
	res := f.get(t, "/signin")
	for _, want := range []string{"<h1>Sign in</h1>", "local mode", "Guest mode: no sign-in is configured"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}
	checkHeaders(t, res.Header())
	res = f.get(t, "/signin?error=state")
	if res.Code != http.StatusUnauthorized || !strings.Contains(res.body, `role="alert"`) || !strings.Contains(res.body, "does not belong to a sign-in started in this browser") {
		t.Errorf("failure: %d %s", res.Code, res.body)
	}
	// Unknown codes show nothing: no text of the request is reflected.
	res = f.get(t, "/signin?error=%3Cscript%3Ealert(1)%3C/script%3E")
	if res.Code != http.StatusOK || strings.Contains(res.body, "alert(1)") {
		t.Errorf("unknown failure code reflected: %d", res.Code)
	}
}

func TestSettingsAndTokens(t *testing.T) {
	f, svc := authFixture(t, jane)
	res := f.get(t, "/settings")
	for _, want := range []string{"<h1>Settings</h1>", "user:default/daniel.ferreira", `href="/catalog/default/group/engineering"`, "developer",
		`<label for="token-name">Name</label>`, "You have no tokens yet", "Signed in as daniel.ferreira"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("settings lack %q", want)
		}
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}
	ck, tok := f.csrf(t)
	res = f.post(t, "/settings/tokens", url.Values{"csrf": {tok}, "name": {"laptop"}, "kind": {"personal"}, "scope": {"read"}, "days": {"30"}}, ck)
	secret := regexp.MustCompile(`value="(grn_[^"]+)"`).FindStringSubmatch(res.body)
	if res.Code != http.StatusCreated || secret == nil || !strings.Contains(res.body, "it is not shown again") {
		t.Fatalf("create: %d %s", res.Code, res.body)
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}
	// The token is listed with its state, and is shown only once.
	res = f.get(t, "/settings")
	if strings.Contains(res.body, secret[1]) || !strings.Contains(res.body, "laptop") || !strings.Contains(res.body, "Never") {
		t.Errorf("list after create: %s", res.body)
	}
	ts, err := svc.Tokens(t.Context(), jane)
	if err != nil || len(ts) != 1 || ts[0].Scopes[0] != "read" {
		t.Fatalf("tokens: %+v %v", ts, err)
	}
	// Bad input re-renders with the message.
	res = f.post(t, "/settings/tokens", url.Values{"csrf": {tok}, "name": {""}, "days": {"30"}}, ck)
	if res.Code != http.StatusBadRequest || !strings.Contains(res.body, "needs a name") || !strings.Contains(res.body, `aria-invalid="true"`) {
		t.Errorf("bad input: %d", res.Code)
	}
	// Without the CSRF token nothing happens.
	res = f.post(t, "/settings/tokens/"+ts[0].ID+"/revoke", url.Values{}, ck)
	if res.Code != http.StatusForbidden {
		t.Errorf("revoke without CSRF: %d", res.Code)
	}
	res = f.post(t, "/settings/tokens/"+ts[0].ID+"/revoke", url.Values{"csrf": {tok}}, ck)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", res.Code, res.body)
	}
	if res := f.get(t, "/settings"); !strings.Contains(res.body, "<td>revoked</td>") {
		t.Errorf("revoked token not shown as revoked")
	}
}

func TestCLILoginPage(t *testing.T) {
	f, _ := authFixture(t, jane)
	for _, bad := range []string{"/settings/cli-login?port=80&state=x", "/settings/cli-login?port=abc&state=x", "/settings/cli-login?port=4000&state=%3Cx%3E"} {
		if res := f.get(t, bad); res.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, res.Code)
		}
	}
	res := f.get(t, "/settings/cli-login?port=45678&state=s-1")
	if res.Code != http.StatusOK || !strings.Contains(res.body, `name="port" value="45678"`) {
		t.Fatalf("page: %d", res.Code)
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}
	ck, tok := f.csrf(t)
	res = f.post(t, "/settings/cli-login", url.Values{"csrf": {tok}, "port": {"45678"}, "state": {"s-1"}}, ck)
	if !strings.Contains(res.body, `href="http://127.0.0.1:45678/callback?state=s-1&amp;token=grn_`) {
		t.Errorf("authorized: %d %s", res.Code, res.body)
	}
	// Paste flow: no port, the token is shown.
	res = f.post(t, "/settings/cli-login", url.Values{"csrf": {tok}, "state": {"s-2"}}, ck)
	if !strings.Contains(res.body, "Paste this token") || strings.Contains(res.body, "127.0.0.1") {
		t.Errorf("paste flow: %s", res.body)
	}
	// Anonymous visitors are told to sign in.
	anon, _ := authFixture(t, nil)
	if res := anon.get(t, "/settings"); res.Code != http.StatusUnauthorized {
		t.Errorf("anonymous settings: %d", res.Code)
	}
}

// The sign-in middleware checks the portal's own CSRF cookie and field.
func TestCSRFNamesAgree(t *testing.T) {
	if csrfCookie != authn.CSRFCookie || csrfField != authn.CSRFField {
		t.Errorf("web uses %s/%s, authn checks %s/%s", csrfCookie, csrfField, authn.CSRFCookie, authn.CSRFField)
	}
}
