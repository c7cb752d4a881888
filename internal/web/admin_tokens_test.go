package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

// adminTokensFixture is the admin pages over a real sign-in service and
// SQLite store, with two users' tokens; admin says whether the viewer
// administers the portal.
func adminTokensFixture(t *testing.T, admin bool) (*http.ServeMux, *authn.Service, authn.NewToken) {
	t.Helper()
	st := storetest.SQLite(t)
	cat, err := catalog.NewService(st, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := authn.New(authn.Options{BaseURL: "http://portal.test", Store: st, Catalog: cat, Guest: &authn.GuestOptions{}, Auditor: st})
	if err != nil {
		t.Fatal(err)
	}
	allow := map[string]bool{}
	if admin {
		allow[access.ActionAdmin] = true
	}
	authz := fakeAdminAuthz{allow: allow}
	svc.SetAdminCheck(func(ctx context.Context) access.Decision {
		return authz.Check(ctx, access.ActionAdmin, access.Resource{Type: "admin"})
	})
	bob := &access.Principal{Kind: access.KindUser, UserRef: "user:default/bob"}
	nt, err := svc.CreateToken(t.Context(), bob, authn.TokenRequest{Name: "bob laptop", Scopes: []string{authn.ScopeRead}, ExpiresIn: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New("Acme", cat, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	pages := h.AdminPages(authz, &fakeAdminAudit{}, &fakeAdminApprovals{}, fakeRoles{}, nil)
	pages.SetTokens(svc)
	pages.Routes(mux)
	h.Routes(mux)
	return mux, svc, nt
}

func asJane(req *http.Request) *http.Request {
	return req.WithContext(access.NewContext(req.Context(), &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane"}))
}

func TestAdminTokensListAndRevokeWithConfirm(t *testing.T) {
	mux, svc, bobs := adminTokensFixture(t, true)
	rec := serve(mux, asJane(httptest.NewRequest("GET", "/admin/tokens", nil)))
	body := rec.Body.String()
	for _, want := range []string{"<code>user:default/bob</code>", "bob laptop", "<td>read</td>", "Never", `action="/admin/tokens/` + bobs.ID + `/revoke"`} {
		if !strings.Contains(body, want) {
			t.Errorf("tokens page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, bobs.Secret) || strings.Contains(body, bobs.Hash) {
		t.Fatal("the page shows a secret or hash")
	}
	var csrf *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == csrfCookie {
			csrf = c
		}
	}
	post := func(form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/admin/tokens/"+bobs.ID+"/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(csrf)
		return serve(mux, asJane(req))
	}
	live := func() bool {
		ts, err := svc.AllTokens(asJane(httptest.NewRequest("GET", "/", nil)).Context())
		if err != nil {
			t.Fatal(err)
		}
		return len(ts) == 1 && ts[0].RevokedAt.IsZero()
	}
	if rec := post(url.Values{"csrf": {"wrong"}, "confirm": {"yes"}}); rec.Code != http.StatusForbidden || !live() {
		t.Fatalf("revoke without a valid CSRF token: %d", rec.Code)
	}
	rec = post(url.Values{"csrf": {csrf.Value}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="confirm" value="yes"`) || !live() {
		t.Fatalf("revoke without confirm must ask first: %d live=%v\n%s", rec.Code, live(), rec.Body)
	}
	rec = post(url.Values{"csrf": {csrf.Value}, "confirm": {"yes"}})
	if rec.Code != http.StatusSeeOther || live() {
		t.Fatalf("confirmed revoke: %d live=%v %s", rec.Code, live(), rec.Body)
	}
	body = serve(mux, asJane(httptest.NewRequest("GET", rec.Header().Get("Location"), nil))).Body.String()
	if !strings.Contains(body, "revoked.") || !strings.Contains(body, "<td>revoked</td>") {
		t.Errorf("after revoke: %s", body)
	}
}

func TestAdminTokensRefusedToNonAdmin(t *testing.T) {
	mux, _, _ := adminTokensFixture(t, false)
	rec := serve(mux, asJane(httptest.NewRequest("GET", "/admin/tokens", nil)))
	if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "bob laptop") {
		t.Fatalf("non-admin tokens page: %d %s", rec.Code, rec.Body)
	}
	body := serve(mux, asJane(httptest.NewRequest("GET", "/admin", nil))).Body.String()
	if strings.Contains(body, `href="/admin/tokens"`) || !strings.Contains(body, "Tokens") {
		t.Errorf("admin overview still links the tokens page for a non-admin: %s", body)
	}
}
