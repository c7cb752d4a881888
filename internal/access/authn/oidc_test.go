package authn_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// startOIDC runs mockoidc in-process; tamper, when set, rewrites the
// claims of every ID token the token endpoint returns and re-signs it with
// key (mockoidc's own key when nil).
func startOIDC(t testing.TB, setup ...func(m *mockoidc.MockOIDC)) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range setup {
		fn(m)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func oidcHarness(t testing.TB, m *mockoidc.MockOIDC, resolvers ...authn.Resolver) *harness {
	return newHarness(t, nil, func(o *authn.Options) {
		o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret, Resolvers: resolvers}
	})
}

// tamperIDTokens makes mockoidc's token endpoint return ID tokens whose
// claims edit changed, signed with key (nil: mockoidc's key).
func tamperIDTokens(t *testing.T, m *mockoidc.MockOIDC, key *mockoidc.Keypair, edit func(c jwt.MapClaims)) {
	t.Helper()
	if key == nil {
		key = m.Keypair
	}
	err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.TokenEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["id_token"] == nil {
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(body["id_token"].(string), claims); err != nil {
				t.Errorf("parse id token: %v", err)
			}
			edit(claims)
			signed, err := key.SignJWT(claims)
			if err != nil {
				t.Errorf("sign: %v", err)
			}
			body["id_token"] = signed
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOIDCSignInFlow(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	b := h.browser()

	// Unauthenticated: the API answers 401 in Backstage's shape, pages
	// redirect to sign-in with the way back.
	resp, body := h.get(b, "/api/whoami")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"name":"AuthenticationError"`) && !strings.Contains(body, `"statusCode":401`) {
		t.Fatalf("anonymous API: %d %s", resp.StatusCode, body)
	}
	resp, _ = h.do(noRedirect(b.Jar), http.MethodGet, "/catalog?x=1", nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/signin?returnTo=%2Fcatalog%3Fx%3D1" {
		t.Fatalf("anonymous page: %d %q", resp.StatusCode, loc)
	}
	// Probes and the webhook stay open.
	if resp, _ := h.get(b, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	if resp, _ := h.do(b, http.MethodPost, "/api/events/http/github", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("webhook: %d", resp.StatusCode)
	}

	// The start redirect carries state, nonce and an S256 PKCE challenge.
	resp, _ = h.do(noRedirect(b.Jar), http.MethodGet, "/api/auth/oidc/start?returnTo=/catalog", nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	auth, _ := url.Parse(resp.Header.Get("Location"))
	q := auth.Query()
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization URL lacks state, nonce or PKCE: %s", auth)
	}
	if got, want := q.Get("redirect_uri"), h.srv.URL+"/api/auth/oidc/handler/frame"; got != want {
		t.Errorf("redirect_uri %q, want Backstage's callback %q", got, want)
	}
	// Follow it: mockoidc redirects back to the callback, which signs in
	// and returns to /catalog.
	resp, body = h.get(b, auth.String())
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/catalog" {
		t.Fatalf("after sign-in at %s: %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	p, _ := h.principal(b)
	if p == nil || p.UserRef != "user:default/jane.doe" || p.Kind != access.KindUser {
		t.Fatalf("principal after sign-in: %+v", p)
	}
	wantOwn := []string{"user:default/jane.doe", "group:default/team-a", "group:default/platform", "group:default/engineering"}
	if strings.Join(p.OwnershipRefs, ",") != strings.Join(wantOwn, ",") {
		t.Errorf("ownership refs %v, want %v", p.OwnershipRefs, wantOwn)
	}
	if len(h.audit.find(authn.ActionSignIn, access.DecisionAllow)) != 1 {
		t.Errorf("sign-in not audited: %+v", h.audit.evs)
	}

	// The session cookie: HttpOnly, SameSite=Lax, only a hash stored.
	var sc *http.Cookie
	for _, c := range resp.Request.Response.Cookies() {
		if c.Name == authn.SessionCookie {
			sc = c
		}
	}
	if sc == nil {
		// The cookie was set on the callback's response, one redirect back.
		for r := resp.Request.Response; r != nil && sc == nil; r = r.Request.Response {
			for _, c := range r.Cookies() {
				if c.Name == authn.SessionCookie && c.Value != "" {
					sc = c
				}
			}
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" {
		t.Fatalf("session cookie: %+v", sc)
	}
	if _, err := h.store.Session(t.Context(), sc.Value); err == nil {
		t.Error("the session id itself is a key in the store; only its hash may be")
	}

	// Backstage's refresh route answers with the identity and uses the
	// refresh token.
	resp, body = h.do(b, http.MethodGet, "/api/auth/oidc/refresh", nil, map[string]string{"X-Requested-With": "XMLHttpRequest"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"userEntityRef":"user:default/jane.doe"`) {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.get(b, "/api/auth/oidc/refresh"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh without X-Requested-With: %d", resp.StatusCode)
	}
	resp, body = h.get(b, "/api/auth/v1/userinfo")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"sub":"user:default/jane.doe"`) {
		t.Errorf("userinfo: %d %s", resp.StatusCode, body)
	}

	// Logout needs the CSRF token, then ends the session.
	if resp, _ := h.do(b, http.MethodPost, "/api/auth/oidc/logout", nil, map[string]string{"X-Requested-With": "XMLHttpRequest"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d", resp.StatusCode)
	}
	csrfCookie(t, h, b)
	resp, _ = h.do(b, http.MethodPost, "/api/auth/oidc/logout", nil, map[string]string{"X-Requested-With": "XMLHttpRequest", authn.CSRFHeader: "csrf-test-token-000000000000"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if p, code := h.principal(b); p != nil || code != http.StatusUnauthorized {
		t.Errorf("after logout: %+v %d", p, code)
	}
	if len(h.audit.find(authn.ActionSignOut, access.DecisionNone)) != 1 {
		t.Error("logout not audited")
	}
}

// csrfCookie gives the browser the portal's CSRF cookie (as any page
// render would).
func csrfCookie(t testing.TB, h *harness, b *http.Client) {
	t.Helper()
	u, _ := url.Parse(h.srv.URL)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: authn.CSRFCookie, Value: "csrf-test-token-000000000000", Path: "/"}})
}

// signIn runs the whole OIDC flow with browser b.
func signIn(t testing.TB, h *harness, b *http.Client, provider string) {
	t.Helper()
	resp, body := h.get(b, "/api/auth/"+provider+"/start")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" && resp.Request.URL.Path != "/catalog" {
		// "/" is not routed in the harness: any 404 at "/" still means signed in
		if resp.Request.URL.Path != "/" {
			t.Fatalf("sign-in ended at %s: %d %s", resp.Request.URL, resp.StatusCode, body)
		}
	}
	if p, _ := h.principal(b); p == nil {
		t.Fatalf("not signed in after the flow (ended at %s: %s)", resp.Request.URL, body)
	}
}

func TestOIDCRejectsBadIDTokens(t *testing.T) {
	other, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		key    *mockoidc.Keypair
		edit   func(c jwt.MapClaims)
		reason string // in the audit record
	}{
		{"forged signature", other, func(jwt.MapClaims) {}, "signature does not verify"},
		{"expired", nil, func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		}, "it has expired"},
		{"wrong issuer", nil, func(c jwt.MapClaims) { c["iss"] = "https://evil.example/oidc" }, "another issuer"},
		{"wrong audience", nil, func(c jwt.MapClaims) { c["aud"] = []string{"another-client"} }, "another client"},
		{"nonce mismatch", nil, func(c jwt.MapClaims) { c["nonce"] = "not-the-nonce" }, "nonce mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := startOIDC(t, func(m *mockoidc.MockOIDC) { tamperIDTokens(t, m, tt.key, tt.edit) })
			h := oidcHarness(t, m)
			b := h.browser()
			resp, body := h.get(b, "/api/auth/oidc/start")
			if resp.Request.URL.Path != authn.SignInPath || resp.Request.URL.Query().Get("error") != authn.FailProvider {
				t.Fatalf("ended at %s: %s", resp.Request.URL, body)
			}
			if !strings.Contains(body, "could not be verified") {
				t.Errorf("page: %s", body)
			}
			if p, _ := h.principal(b); p != nil {
				t.Fatalf("signed in with a bad ID token: %+v", p)
			}
			denied := h.audit.find(authn.ActionSignIn, access.DecisionDeny)
			if len(denied) != 1 || !strings.Contains(denied[0].Reason, "could not be verified") || !strings.Contains(denied[0].Reason, tt.reason) {
				t.Fatalf("audit: %+v", denied)
			}
			if strings.Contains(denied[0].Reason, m.ClientSecret) {
				t.Error("the audit reason leaks the client secret")
			}
		})
	}
}

func TestOIDCStateAndReplay(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)

	// Capture a genuine callback URL without following it.
	b := h.browser()
	planted := "planted-csrf-token-0000000000000000000000000"
	b.Jar.SetCookies(mustURL(h.srv.URL), []*http.Cookie{{Name: authn.CSRFCookie, Value: planted, Path: "/"}})
	nr := noRedirect(b.Jar)
	resp, _ := h.do(nr, http.MethodGet, "/api/auth/oidc/start", nil, nil)
	resp, _ = h.do(nr, http.MethodGet, resp.Header.Get("Location"), nil, nil)
	callback := resp.Header.Get("Location")
	if !strings.Contains(callback, "/api/auth/oidc/handler/frame?") {
		t.Fatalf("mockoidc did not redirect to the callback: %q", callback)
	}

	t.Run("another browser (no state cookie)", func(t *testing.T) {
		attacker := h.browser()
		resp, _ := h.get(attacker, callback)
		if resp.Request.URL.Query().Get("error") != authn.FailState {
			t.Fatalf("ended at %s", resp.Request.URL)
		}
	})
	t.Run("state mismatch", func(t *testing.T) {
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("state", "forged-state")
		u.RawQuery = q.Encode()
		resp, _ := h.get(h.browser(), u.String())
		if resp.Request.URL.Query().Get("error") != authn.FailState {
			t.Fatalf("ended at %s", resp.Request.URL)
		}
	})
	// The genuine browser completes the sign-in once.
	resp, _ = h.get(b, callback)
	if p, _ := h.principal(b); p == nil {
		t.Fatalf("genuine callback did not sign in (at %s)", resp.Request.URL)
	}
	if got := h.cookie(b, authn.CSRFCookie); got == planted || len(got) != 43 {
		t.Errorf("CSRF token after sign-in %q: want a fresh one", got)
	}
	t.Run("replayed callback", func(t *testing.T) {
		// Same browser, same state cookie value restored: the state was
		// consumed.
		u, _ := url.Parse(callback)
		st := u.Query().Get("state")
		r := h.browser()
		r.Jar.SetCookies(u, []*http.Cookie{{Name: "greenroom_auth_state", Value: st, Path: "/api/auth/oidc/"}})
		resp, _ := h.get(r, callback)
		if resp.Request.URL.Query().Get("error") != authn.FailUsed {
			t.Fatalf("ended at %s", resp.Request.URL)
		}
	})
	t.Run("replayed code in a new flow", func(t *testing.T) {
		code, _ := url.Parse(callback)
		r := h.browser()
		nr := noRedirect(r.Jar)
		resp, _ := h.do(nr, http.MethodGet, "/api/auth/oidc/start", nil, nil)
		auth, _ := url.Parse(resp.Header.Get("Location"))
		cb := h.srv.URL + "/api/auth/oidc/handler/frame?" + url.Values{"code": {code.Query().Get("code")}, "state": {auth.Query().Get("state")}}.Encode()
		resp, _ = h.get(r, cb)
		if resp.Request.URL.Query().Get("error") != authn.FailProvider {
			t.Fatalf("ended at %s", resp.Request.URL)
		}
	})
	if n := len(h.audit.find(authn.ActionSignIn, access.DecisionDeny)); n != 4 {
		t.Errorf("%d denied sign-ins audited, want 4", n)
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	for _, ret := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "http://" + strings.TrimPrefix(h.srv.URL, "http://") + "@evil.example/"} {
		resp, body := h.get(h.browser(), "/api/auth/oidc/start?returnTo="+url.QueryEscape(ret))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not on this portal") {
			t.Errorf("returnTo %q: %d %s", ret, resp.StatusCode, body)
		}
	}
	if n := len(h.audit.find(authn.ActionRedirect, access.DecisionDeny)); n != 5 {
		t.Errorf("%d refused redirects audited, want 5", n)
	}
	// Same-origin absolute URLs and paths are fine.
	b := h.browser()
	resp, _ := h.get(b, "/api/auth/oidc/start?returnTo="+url.QueryEscape(h.srv.URL+"/catalog?kind=api"))
	if resp.Request.URL.Path != "/catalog" || resp.Request.URL.RawQuery != "kind=api" {
		t.Errorf("same-origin return ended at %s", resp.Request.URL)
	}
}

func TestOIDCNoCatalogUser(t *testing.T) {
	m := startOIDC(t)
	m.QueueUser(&mockoidc.MockUser{Subject: "42", Email: "stranger@example.com", PreferredUsername: "stranger"})
	h := oidcHarness(t, m)
	resp, body := h.get(h.browser(), "/api/auth/oidc/start")
	if resp.Request.URL.Query().Get("error") != authn.FailNoUser || !strings.Contains(body, "no user in the catalog") {
		t.Fatalf("ended at %s: %s", resp.Request.URL, body)
	}

	// dangerouslyAllowSignInWithoutUserInCatalog signs in as the local part.
	m.QueueUser(&mockoidc.MockUser{Subject: "42", Email: "stranger@example.com", PreferredUsername: "stranger"})
	h2 := oidcHarness(t, m, authn.Resolver{Name: authn.ResolverEmailProfile, AllowWithoutCatalog: true})
	b := h2.browser()
	h2.get(b, "/api/auth/oidc/start")
	if p, _ := h2.principal(b); p == nil || p.UserRef != "user:default/stranger" {
		t.Fatalf("without catalog user: %+v", p)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	b1, b2 := h.browser(), h.browser()
	signIn(t, h, b1, "oidc")
	signIn(t, h, b2, "oidc")
	csrfCookie(t, h, b1)
	form := strings.NewReader("everywhere=true&csrf=csrf-test-token-000000000000")
	resp, _ := h.do(noRedirect(b1.Jar), http.MethodPost, "/api/auth/session/logout", form,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?signedOut=1" {
		t.Fatalf("logout form: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for i, b := range []*http.Client{b1, b2} {
		if p, _ := h.principal(b); p != nil {
			t.Errorf("browser %d still signed in", i+1)
		}
	}
	if ev := h.audit.find(authn.ActionSignOutAll, access.DecisionNone); len(ev) != 1 || ev[0].Details["sessions"] != "2" {
		t.Errorf("audit: %+v", ev)
	}
	_ = bytes.MinRead
}

func TestOIDCRefreshRefusedEndsSession(t *testing.T) {
	m := startOIDC(t)
	h := newHarness(t, nil, func(o *authn.Options) {
		// mockoidc reads the client secret from the form only.
		o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
			TokenEndpointAuthMethod: "client_secret_post"}
	})
	b := h.browser()
	signIn(t, h, b, "oidc")
	xhr := map[string]string{"X-Requested-With": "XMLHttpRequest"}
	if resp, body := h.do(b, http.MethodGet, "/api/auth/oidc/refresh", nil, xhr); resp.StatusCode != http.StatusOK {
		t.Fatalf("first refresh: %d %s", resp.StatusCode, body)
	}
	// The provider revokes the grant: the next refresh is refused.
	m.QueueError(&mockoidc.ServerError{Code: http.StatusBadRequest, Error: "invalid_grant", Description: "Token is not active"})
	resp, body := h.do(b, http.MethodGet, "/api/auth/oidc/refresh", nil, xhr)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "refused to refresh") {
		t.Fatalf("refused refresh: %d %s", resp.StatusCode, body)
	}
	if p, _ := h.principal(b); p != nil {
		t.Error("session survived a refused refresh")
	}
	if ev := h.audit.find(authn.ActionRefresh, access.DecisionDeny); len(ev) != 1 {
		t.Errorf("refused refresh not audited: %+v", ev)
	}
	// Refresh of another provider's session is refused.
	if resp, _ := h.do(b, http.MethodGet, "/api/auth/github/refresh", nil, xhr); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unconfigured provider: %d", resp.StatusCode)
	}
}

// enricher adds a role, or fails.
type enricher struct{ fail bool }

func (e enricher) Enrich(_ context.Context, p *access.Principal) error {
	if e.fail {
		return errors.New("policy store down")
	}
	p.Roles = append(p.Roles, "developer")
	p.Contractor = strings.HasPrefix(p.UserRef, "user:default/jane")
	return nil
}

func TestEnricher(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	h.svc.SetEnricher(enricher{})
	b := h.browser()
	signIn(t, h, b, "oidc")
	p, _ := h.principal(b)
	if p == nil || len(p.Roles) != 1 || p.Roles[0] != "developer" || !p.Contractor {
		t.Fatalf("enriched principal: %+v", p)
	}
	h.svc.SetEnricher(enricher{fail: true})
	if _, code := h.principal(b); code != http.StatusInternalServerError {
		t.Errorf("failing enricher: %d", code)
	}
}

func TestRefreshTokensSealedAtRest(t *testing.T) {
	m := startOIDC(t)
	st := storetest.SQLite(t)
	opts := func(secret string) func(o *authn.Options) {
		return func(o *authn.Options) {
			o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
			o.Session.Secret = secret
		}
	}
	h := newHarness(t, st, opts("first-secret-value"))
	b := h.browser()
	signIn(t, h, b, "oidc")
	xhr := map[string]string{"X-Requested-With": "XMLHttpRequest"}
	if resp, body := h.do(b, http.MethodGet, "/api/auth/oidc/refresh", nil, xhr); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh with a sealed token: %d %s", resp.StatusCode, body)
	}
	ss := storedSession(t, st, h.cookie(b, authn.SessionCookie))
	if !strings.HasPrefix(ss.RefreshToken, "v1:") || strings.Count(ss.RefreshToken, ".") == 2 {
		t.Fatalf("refresh token stored as %q, want sealed", ss.RefreshToken)
	}
	// Another secret cannot open it: the refresh fails and ends the session.
	h2 := newHarness(t, st, opts("another-secret-value"))
	b2 := h2.browser()
	b2.Jar.SetCookies(mustURL(h2.srv.URL), []*http.Cookie{{Name: authn.SessionCookie, Value: h.cookie(b, authn.SessionCookie), Path: "/"}})
	if resp, _ := h2.do(b2, http.MethodGet, "/api/auth/oidc/refresh", nil, xhr); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh with the wrong secret: %d", resp.StatusCode)
	}
}

// storedSession returns the stored session of a cookie value (stored
// under its SHA-256).
func storedSession(t *testing.T, st *store.Store, cookie string) authn.Session {
	t.Helper()
	sum := sha256.Sum256([]byte(cookie))
	ss, err := st.Session(t.Context(), hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}
