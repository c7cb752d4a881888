package authn_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
)

// fakeGitHub is GitHub's OAuth web flow and the two API calls sign-in
// makes, served as GitHub Enterprise does (API under /api/v3). It checks
// the client secret, the PKCE verifier against the challenge, and that a
// code is redeemed once.
type fakeGitHub struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex
	codes    map[string]string // code -> challenge
	used     map[string]bool
	login    string
	redeemed int
}

const ghClientID, ghSecret = "gh-client", "gh-secret-value-123"

func startGitHub(t *testing.T, login string) *fakeGitHub {
	g := &fakeGitHub{t: t, codes: map[string]string{}, used: map[string]bool{}, login: login}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != ghClientID || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		if !strings.Contains(q.Get("scope"), "user:email") {
			http.Error(w, "missing scope", http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")[:8]
		g.mu.Lock()
		g.codes[code] = q.Get("code_challenge")
		g.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		g.mu.Lock()
		defer g.mu.Unlock()
		challenge, ok := g.codes[code]
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.PostForm.Get("client_secret") != ghSecret || r.PostForm.Get("client_id") != ghClientID:
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "incorrect_client_credentials"})
		case !ok || g.used[code]:
			json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code"})
		case base64.RawURLEncoding.EncodeToString(sum[:]) != challenge:
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		default:
			g.used[code] = true
			g.redeemed++
			json.NewEncoder(w).Encode(map[string]string{"access_token": "gho_test_" + code, "token_type": "bearer", "scope": "read:user,user:email"})
		}
	})
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer gho_test_") {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			json.NewEncoder(w).Encode(map[string]any{"id": 583231, "login": g.login, "name": "The Octocat", "email": nil})
		}
	})
	mux.HandleFunc("GET /api/v3/user/emails", func(w http.ResponseWriter, r *http.Request) {
		if auth(w, r) {
			json.NewEncoder(w).Encode([]map[string]any{
				{"email": "old@github.example", "primary": false, "verified": true},
				{"email": "octo@github.example", "primary": true, "verified": true},
			})
		}
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

func githubHarness(t *testing.T, g *fakeGitHub, secret string, resolvers ...authn.Resolver) *harness {
	return newHarness(t, nil, func(o *authn.Options) {
		o.Environment = "development"
		o.GitHub = &authn.GitHubOptions{ClientID: ghClientID, ClientSecret: secret, EnterpriseInstanceURL: g.URL, Resolvers: resolvers}
	})
}

func TestGitHubSignIn(t *testing.T) {
	tests := []struct {
		name     string
		login    string
		resolver authn.Resolver
		want     string
	}{
		{"username (default resolver)", "octocat", authn.Resolver{}, "user:default/octocat"},
		{"primary verified email", "someone-else", authn.Resolver{Name: authn.ResolverEmailProfile}, "user:default/octocat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGitHub(t, tt.login)
			var rs []authn.Resolver
			if tt.resolver.Name != "" {
				rs = append(rs, tt.resolver)
			}
			h := githubHarness(t, g, ghSecret, rs...)
			b := h.browser()
			resp, body := h.get(b, "/api/auth/github/start?returnTo=/catalog")
			if resp.Request.URL.Path != "/catalog" {
				t.Fatalf("ended at %s: %s", resp.Request.URL, body)
			}
			p, _ := h.principal(b)
			if p == nil || p.UserRef != tt.want || p.Email != "octo@github.example" {
				t.Fatalf("principal %+v, want %s with the primary email", p, tt.want)
			}
			if g.redeemed != 1 {
				t.Errorf("code redeemed %d times", g.redeemed)
			}
			// GitHub sessions do not refresh upstream; refresh still
			// answers with the identity.
			resp, body = h.do(b, http.MethodGet, "/api/auth/github/refresh", nil, map[string]string{"X-Requested-With": "XMLHttpRequest"})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, tt.want) {
				t.Errorf("refresh: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestGitHubBadClientSecret(t *testing.T) {
	g := startGitHub(t, "octocat")
	h := githubHarness(t, g, "wrong-secret-999")
	b := h.browser()
	resp, body := h.get(b, "/api/auth/github/start")
	if resp.Request.URL.Query().Get("error") != authn.FailProvider {
		t.Fatalf("ended at %s: %s", resp.Request.URL, body)
	}
	for _, ev := range h.audit.evs {
		if strings.Contains(ev.Reason, "wrong-secret-999") || strings.Contains(ev.Reason, ghSecret) {
			t.Errorf("audit leaks a secret: %q", ev.Reason)
		}
	}
	if len(h.audit.find(authn.ActionSignIn, access.DecisionDeny)) != 1 {
		t.Error("failure not audited")
	}
	if resp, body := h.get(b, "/api/auth/github/start?env=production"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "'production' environment") {
		t.Errorf("other environment: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.get(b, "/api/auth/gitlab/start"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown provider: %d", resp.StatusCode)
	}
}
