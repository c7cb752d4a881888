package authn_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// signedInOIDC returns a harness with an OIDC provider and a browser
// signed in as jane.doe holding the CSRF cookie.
func signedInOIDC(t testing.TB, configure func(o *authn.Options)) (*harness, *http.Client) {
	t.Helper()
	m := startOIDC(t)
	h := newHarness(t, nil, func(o *authn.Options) {
		o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		o.StaticTokens = []authn.StaticToken{{Token: "static-ci-token-123", Subject: "ci"}}
		if configure != nil {
			configure(o)
		}
	})
	b := h.browser()
	signIn(t, h, b, "oidc")
	csrfCookie(t, h, b)
	return h, b
}

var csrfHeader = map[string]string{authn.CSRFHeader: "csrf-test-token-000000000000", "Content-Type": "application/json"}

func createToken(t testing.TB, h *harness, b *http.Client, body string) authn.TokenView {
	t.Helper()
	resp, out := h.do(b, http.MethodPost, "/api/auth/tokens", strings.NewReader(body), csrfHeader)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d %s", resp.StatusCode, out)
	}
	var v authn.TokenView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestTokens(t *testing.T) {
	h, b := signedInOIDC(t, nil)
	pat := createToken(t, h, b, `{"name":"laptop","expiresInDays":30}`)
	if !strings.HasPrefix(pat.Token, authn.TokenPrefix) || pat.Subject != "user:default/jane.doe" {
		t.Fatalf("token: %+v", pat)
	}
	stored, err := h.store.Token(t.Context(), pat.ID)
	if err != nil || stored.Hash == pat.Token || strings.Contains(stored.Hash, pat.Token) || len(stored.Hash) != 64 {
		t.Fatalf("stored token is not a SHA-256 hash: %+v %v", stored, err)
	}

	// The token authenticates a client without cookies, as the user.
	cli := &http.Client{}
	resp, body := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer(pat.Token))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"UserRef":"user:default/jane.doe"`) || !strings.Contains(body, "group:default/team-a") {
		t.Fatalf("bearer: %d %s", resp.StatusCode, body)
	}
	// Bearer writes need no CSRF token, and are audited.
	if resp, _ := h.do(cli, http.MethodPost, "/api/things", nil, bearer(pat.Token)); resp.StatusCode != http.StatusOK {
		t.Errorf("bearer POST: %d", resp.StatusCode)
	}
	if len(h.audit.find(authn.ActionTokenUse, access.DecisionAllow)) != 1 {
		t.Error("token write not audited")
	}

	// The list shows last use, never secrets.
	resp, body = h.get(b, "/api/auth/tokens")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, pat.Token) || strings.Contains(body, stored.Hash) || !strings.Contains(body, `"lastUsedAt":"`) {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}

	// A read-only token cannot write.
	ro := createToken(t, h, b, `{"name":"ro","scopes":["read"]}`)
	if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer(ro.Token)); resp.StatusCode != http.StatusOK {
		t.Errorf("read-only GET: %d", resp.StatusCode)
	}
	if resp, body := h.do(cli, http.MethodPost, "/api/things", nil, bearer(ro.Token)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
		t.Errorf("read-only POST: %d %s", resp.StatusCode, body)
	}

	// A service token acts as service:<name>.
	svc := createToken(t, h, b, `{"name":"deploy","kind":"service","service":"deployer"}`)
	resp, body = h.do(cli, http.MethodGet, "/api/whoami", nil, bearer(svc.Token))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Kind":"service"`) || !strings.Contains(body, `"UserRef":"service:deployer"`) {
		t.Errorf("service token: %d %s", resp.StatusCode, body)
	}
	// Tokens cannot mint tokens.
	if resp, _ := h.do(cli, http.MethodPost, "/api/auth/tokens", strings.NewReader(`{"name":"x"}`), bearer(pat.Token)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("token creating a token: %d", resp.StatusCode)
	}

	// Revoked: refused with the same message as unknown, and audited.
	resp, _ = h.do(b, http.MethodDelete, "/api/auth/tokens/"+pat.ID, nil, csrfHeader)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	resp, body = h.do(cli, http.MethodGet, "/api/whoami", nil, bearer(pat.Token))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "unknown, revoked or expired") {
		t.Errorf("revoked token: %d %s", resp.StatusCode, body)
	}
	if ev := h.audit.find(authn.ActionTokenUse, access.DecisionDeny); len(ev) != 1 || !strings.Contains(ev[0].Reason, "revoked") {
		t.Errorf("audit of revoked use: %+v", ev)
	}
	if len(h.audit.find(authn.ActionTokenCreate, access.DecisionNone)) != 3 || len(h.audit.find(authn.ActionTokenRevoke, access.DecisionNone)) != 1 {
		t.Error("token creation or revocation not audited")
	}
	// Another user's token id answers 404.
	if resp, _ := h.do(b, http.MethodDelete, "/api/auth/tokens/no-such-id", nil, csrfHeader); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", resp.StatusCode)
	}

	// Expired.
	h.clock.Add(31 * 24 * time.Hour)
	resp, _ = h.do(cli, http.MethodGet, "/api/whoami", nil, bearer(ro.Token))
	if resp.StatusCode == http.StatusOK {
		// ro lives 90 days by default: still valid
	} else {
		t.Errorf("90-day token refused after 31 days: %d", resp.StatusCode)
	}
	h.clock.Add(60 * 24 * time.Hour)
	if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer(ro.Token)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
	if ev := h.audit.find(authn.ActionTokenUse, access.DecisionDeny); len(ev) != 2 || !strings.Contains(ev[1].Reason, "expired") {
		t.Errorf("audit of expired use: %+v", ev)
	}
}

func TestTokenBadRequests(t *testing.T) {
	h, b := signedInOIDC(t, nil)
	for _, body := range []string{`{"name":""}`, `{"name":"x","scopes":["admin"]}`, `{"name":"x","kind":"robot"}`,
		`{"name":"x","kind":"service","service":"bad name"}`, `{"name":"x","expiresInDays":4000}`, `{"name":"x","extra":1}`, `not json`} {
		resp, out := h.do(b, http.MethodPost, "/api/auth/tokens", strings.NewReader(body), csrfHeader)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `"message"`) {
			t.Errorf("%s: %d %s", body, resp.StatusCode, out)
		}
	}
}

func TestStaticExternalAccessToken(t *testing.T) {
	h, _ := signedInOIDC(t, nil)
	resp, body := h.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, bearer("static-ci-token-123"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"UserRef":"external:ci"`) {
		t.Errorf("static token: %d %s", resp.StatusCode, body)
	}
	for _, hdr := range []map[string]string{bearer("grn_nope"), bearer("static-ci-token-12"), {"Authorization": "Basic Zm9vOmJhcg=="}} {
		resp, body := h.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, hdr)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%v: %d %s", hdr, resp.StatusCode, body)
		}
	}
}

func TestCSRF(t *testing.T) {
	h, b := signedInOIDC(t, nil)
	tests := []struct {
		name string
		path string
		hdr  map[string]string
		body string
		want int
	}{
		{"API without token", "/api/things", nil, "", http.StatusForbidden},
		{"API wrong token", "/api/things", map[string]string{authn.CSRFHeader: "csrf-test-token-111111111111"}, "", http.StatusForbidden},
		{"API with header", "/api/things", map[string]string{authn.CSRFHeader: "csrf-test-token-000000000000"}, "", http.StatusOK},
		{"form without field", "/things", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=1", http.StatusForbidden},
		{"form with field", "/things", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=1&csrf=csrf-test-token-000000000000", http.StatusOK},
		{"cross-site form with field", "/things", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"},
			"csrf=csrf-test-token-000000000000", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do(b, http.MethodPost, tt.path, strings.NewReader(tt.body), tt.hdr)
			if resp.StatusCode != tt.want {
				t.Errorf("%d, want %d: %s", resp.StatusCode, tt.want, body)
			}
		})
	}
	if n := len(h.audit.find(authn.ActionCSRF, access.DecisionDeny)); n != 4 {
		t.Errorf("%d CSRF refusals audited, want 4", n)
	}
}

func TestSessionTimeoutsAndRotation(t *testing.T) {
	h, b := signedInOIDC(t, func(o *authn.Options) {
		o.Session = authn.SessionOptions{IdleTimeout: time.Hour, AbsoluteTimeout: 3 * time.Hour, RotationInterval: 20 * time.Minute}
	})
	idle, forgotten := h.browser(), h.browser()
	signIn(t, h, idle, "oidc")      // then left alone
	signIn(t, h, forgotten, "oidc") // never seen again: only Purge removes it
	first := h.cookie(b, authn.SessionCookie)
	h.clock.Add(25 * time.Minute)
	if p, _ := h.principal(b); p == nil {
		t.Fatal("signed out before the idle timeout")
	}
	second := h.cookie(b, authn.SessionCookie)
	if second == first || second == "" {
		t.Fatal("session id not rotated after the rotation interval")
	}
	// The old id still works for a moment (requests in flight), then not.
	old := h.browser()
	old.Jar.SetCookies(mustURL(h.srv.URL), []*http.Cookie{{Name: authn.SessionCookie, Value: first, Path: "/"}})
	if p, _ := h.principal(old); p == nil {
		t.Error("rotated-away id refused within the grace period")
	}
	h.clock.Add(time.Minute)
	if p, _ := h.principal(old); p != nil {
		t.Error("rotated-away id still accepted after the grace period")
	}
	// Active use keeps the session until the absolute timeout.
	for i := 0; i < 5; i++ {
		h.clock.Add(30 * time.Minute)
		if p, _ := h.principal(b); p == nil {
			t.Fatalf("signed out while active after %d half-hours", i+1)
		}
		if i == 1 { // 86 minutes after sign-in
			if p, _ := h.principal(idle); p != nil {
				t.Error("session outlived the idle timeout")
			}
		}
	}
	h.clock.Add(30 * time.Minute) // 3h05 after sign-in
	if p, _ := h.principal(b); p != nil {
		t.Error("session outlived the absolute timeout")
	}

	// Tampered cookie.
	b3 := h.browser()
	b3.Jar.SetCookies(mustURL(h.srv.URL), []*http.Cookie{{Name: authn.SessionCookie, Value: second + "x", Path: "/"}})
	if p, code := h.principal(b3); p != nil || code != http.StatusUnauthorized {
		t.Errorf("tampered cookie: %+v %d", p, code)
	}
	reasons := map[string]bool{}
	for _, ev := range h.audit.find(authn.ActionSessionReject, access.DecisionDeny) {
		reasons[ev.Reason] = true
	}
	for _, want := range []string{"session idle for longer than the idle timeout", "session past its absolute timeout",
		"unknown session cookie (signed out, rotated or tampered with)"} {
		if !reasons[want] {
			t.Errorf("no audit entry %q in %v", want, reasons)
		}
	}
	n, err := h.svc.Purge(t.Context())
	if err != nil || n != 1 {
		t.Errorf("purge: %d %v", n, err)
	}
}

func TestRateLimits(t *testing.T) {
	h, b := signedInOIDC(t, func(o *authn.Options) {
		o.RateLimit = authn.RateLimitOptions{PerUser: 6, PerTeam: 100, Window: time.Minute, SignInFailures: 3, SignInWindow: time.Minute}
	})
	// signIn took two requests of the budget (the page it lands on and
	// its check); the anonymous flow before took none.
	var last *http.Response
	for i := 0; i < 4; i++ {
		last, _ = h.get(b, "/api/whoami")
		if last.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, last.StatusCode)
		}
	}
	if last.Header.Get("X-RateLimit-Limit") != "6" || last.Header.Get("X-RateLimit-Remaining") != "0" || last.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("headers: %v", last.Header)
	}
	resp, body := h.get(b, "/api/whoami")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"statusCode":429`) {
		t.Fatalf("6th request: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := h.get(b, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("health is rate limited: %d", resp.StatusCode)
	}
	if resp, _ := h.do(b, http.MethodPost, "/api/events/http/github", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("webhook is rate limited: %d", resp.StatusCode)
	}
	if len(h.audit.find(authn.ActionRateLimited, access.DecisionDeny)) != 1 {
		t.Error("rate limit refusal not audited")
	}
	h.clock.Add(time.Minute)
	if resp, _ := h.get(b, "/api/whoami"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the window: %d", resp.StatusCode)
	}

	// Brute force: after 3 bad tokens the address is refused, even with a
	// good one, until the window passes.
	cli := &http.Client{}
	for i := 0; i < 3; i++ {
		if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer("grn_guess")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer("static-ci-token-123")); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after 3 failures: %d", resp.StatusCode)
	}
	if resp, _ := h.do(noRedirect(nil), http.MethodGet, "/api/auth/oidc/start", nil, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in start after 3 failures: %d", resp.StatusCode)
	}
	h.clock.Add(time.Minute)
	if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer("static-ci-token-123")); resp.StatusCode != http.StatusOK {
		t.Errorf("after the failure window: %d", resp.StatusCode)
	}
	// Starting sign-in stores a flow each time: 10 per allowed failure.
	h.clock.Add(time.Minute)
	for i := 0; i < 30; i++ {
		if resp, _ := h.do(noRedirect(nil), http.MethodGet, "/api/auth/oidc/start", nil, nil); resp.StatusCode != http.StatusFound {
			t.Fatalf("start %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := h.do(noRedirect(nil), http.MethodGet, "/api/auth/oidc/start", nil, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("31st start: %d", resp.StatusCode)
	}
}

func TestTeamRateLimit(t *testing.T) {
	h, b := signedInOIDC(t, func(o *authn.Options) {
		o.RateLimit = authn.RateLimitOptions{PerUser: 100, PerTeam: 5, Window: time.Minute}
	})
	// jane.doe is in team-a; a personal token of hers shares the budget.
	// signIn made requests 1 and 2.
	tok := createToken(t, h, b, `{"name":"t"}`) // 3
	for i := 0; i < 2; i++ {                    // 4, 5
		if resp, _ := h.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, bearer(tok.Token)); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+4, resp.StatusCode)
		}
	}
	resp, _ := h.get(b, "/api/whoami")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("X-RateLimit-Limit") != "5" {
		t.Errorf("6th team request: %d limit %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
}

func TestGuestMode(t *testing.T) {
	h := newHarness(t, nil, func(o *authn.Options) { o.Guest = &authn.GuestOptions{} })
	p, code := h.principal(&http.Client{})
	if code != http.StatusOK || p == nil || p.Kind != access.KindGuest || p.UserRef != authn.DefaultGuestUser {
		t.Fatalf("guest mode principal: %+v %d", p, code)
	}
	if h.svc.Enabled() || !h.svc.GuestMode() {
		t.Error("guest mode reports sign-in enabled")
	}
	// Guest beside a provider: a sign-in choice, not the default.
	m := startOIDC(t)
	h2 := newHarness(t, nil, func(o *authn.Options) {
		o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		o.Guest = &authn.GuestOptions{UserEntityRef: "user:default/visitor"}
	})
	if _, code := h2.principal(&http.Client{}); code != http.StatusUnauthorized {
		t.Errorf("anonymous with providers: %d", code)
	}
	b := h2.browser()
	h2.get(b, "/api/auth/guest/start")
	if p, _ := h2.principal(b); p == nil || p.UserRef != "user:default/visitor" || p.Kind != access.KindGuest {
		t.Errorf("guest session: %+v", p)
	}
	if len(h2.svc.Providers()) != 2 {
		t.Errorf("providers: %+v", h2.svc.Providers())
	}
}

// TestSignInOnBothStores runs a sign-in, a token and a logout on SQLite
// and PostgreSQL.
func TestSignInOnBothStores(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		m := startOIDC(t)
		h := newHarness(t, st, func(o *authn.Options) {
			o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
		})
		b := h.browser()
		signIn(t, h, b, "oidc")
		csrfCookie(t, h, b)
		tok := createToken(t, h, b, `{"name":"ci"}`)
		if resp, _ := h.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, bearer(tok.Token)); resp.StatusCode != http.StatusOK {
			t.Errorf("bearer: %d", resp.StatusCode)
		}
		resp, _ := h.do(b, http.MethodPost, "/api/auth/oidc/logout", nil, map[string]string{authn.CSRFHeader: "csrf-test-token-000000000000", "Accept": "application/json"})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("logout: %d", resp.StatusCode)
		}
		if p, _ := h.principal(b); p != nil {
			t.Error("still signed in after logout")
		}
	})
}

func TestGuestModeRefusesCrossSiteWrites(t *testing.T) {
	h := newHarness(t, nil, func(o *authn.Options) { o.Guest = &authn.GuestOptions{} })
	if resp, _ := h.do(&http.Client{}, http.MethodPost, "/api/things", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site write in local mode: %d", resp.StatusCode)
	}
	if resp, _ := h.do(&http.Client{}, http.MethodPost, "/api/things", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("write from a non-browser client in local mode: %d", resp.StatusCode)
	}
}

func TestServiceNameBelongsToItsFirstIssuer(t *testing.T) {
	h, b := signedInOIDC(t, nil)
	createToken(t, h, b, `{"name":"a","kind":"service","service":"deployer"}`)
	createToken(t, h, b, `{"name":"b","kind":"service","service":"deployer"}`) // the same owner may issue more
	// Another user cannot act as service:deployer.
	other, err := h.svc.CreateToken(t.Context(), &access.Principal{Kind: access.KindUser, UserRef: "user:default/octocat"},
		authn.TokenRequest{Name: "x", Kind: authn.TokenService, Service: "Deployer"})
	if err == nil || !strings.Contains(err.Error(), "belongs to user:default/jane.doe") {
		t.Fatalf("other user's service token: %+v %v", other, err)
	}
}
