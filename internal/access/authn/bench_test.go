package authn_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"greenroom/internal/access/authn"
)

// BenchmarkMiddleware measures what authentication adds to a request on
// SQLite: a session cookie (lookup, identity from the 5 s cache), a
// personal access token (lookup; last use written at most once a
// minute) and a static externalAccess token (no database).
func BenchmarkMiddleware(b *testing.B) {
	h, br := signedInOIDC(b, func(o *authn.Options) { o.RateLimit.Disabled = true })
	pat := createToken(b, h, br, `{"name":"bench"}`)
	session := h.cookie(br, authn.SessionCookie)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mw := h.svc.Middleware(ok)
	cases := []struct {
		name string
		set  func(r *http.Request)
	}{
		{"session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: session}) }},
		{"personal-token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+pat.Token) }},
		{"static-token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer static-ci-token-123") }},
		{"exempt", func(r *http.Request) { r.URL.Path = "/healthz" }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/api/whoami", nil)
				c.set(r)
				w := httptest.NewRecorder()
				mw.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
