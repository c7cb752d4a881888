package authn_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"greenroom/internal/access/authn"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// replicas returns two sign-in services ("replicas") on one real
// PostgreSQL database, each with its own store connection and its counters
// shared through it, as serve wires them on PostgreSQL. Without
// GREENROOM_TEST_POSTGRES it skips loudly (fails under CI=true).
func replicas(t *testing.T, configure func(o *authn.Options)) (*harness, *harness) {
	t.Helper()
	opts := storetest.PostgresOptions(t)
	var hs [2]*harness
	for i := range hs {
		st := storetest.Open(t, opts)
		hs[i] = newHarness(t, st, func(o *authn.Options) {
			o.SharedLimits = st
			if configure != nil {
				configure(o)
			}
		})
	}
	return hs[0], hs[1]
}

func withStatic(o *authn.Options) {
	o.StaticTokens = []authn.StaticToken{{Token: "static-ci-token-123", Subject: "ci"}}
}

// The per-user budget holds over both replicas together: 10 requests
// spread over two replicas pass, the 11th is refused on either, with the
// headers saying so.
func TestRateLimitSharedAcrossReplicas(t *testing.T) {
	a, b := replicas(t, func(o *authn.Options) {
		withStatic(o)
		o.RateLimit.PerUser = 10
	})
	cli := &http.Client{}
	allowed := 0
	var last *http.Response
	for i := range 20 {
		h := a
		if i%2 == 1 {
			h = b
		}
		resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer("static-ci-token-123"))
		switch resp.StatusCode {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
			last = resp
		default:
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if allowed != 10 {
		t.Fatalf("two replicas allowed %d requests together, want the budget of 10", allowed)
	}
	if last == nil || last.Header.Get("Retry-After") == "" || last.Header.Get("X-RateLimit-Remaining") != "0" || last.Header.Get("X-RateLimit-Limit") != "10" {
		t.Errorf("429 headers: %v", last.Header)
	}
	if reset, err := strconv.ParseInt(last.Header.Get("X-RateLimit-Reset"), 10, 64); err != nil || reset%3600 != 0 {
		t.Errorf("X-RateLimit-Reset %q is not the end of an aligned hour window", last.Header.Get("X-RateLimit-Reset"))
	}
}

// Brute-force guessing of tokens is bounded over both replicas: after
// SignInFailures bad tokens in total, the address is refused on either.
func TestTokenGuessingLimitSharedAcrossReplicas(t *testing.T) {
	a, b := replicas(t, func(o *authn.Options) {
		withStatic(o)
		o.RateLimit.SignInFailures = 4
	})
	cli := &http.Client{}
	for i := range 4 {
		h := a
		if i%2 == 1 {
			h = b
		}
		if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer("grn_guess"+strconv.Itoa(i))); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	for _, h := range []*harness{a, b} {
		if resp, _ := h.do(cli, http.MethodGet, "/api/whoami", nil, bearer("static-ci-token-123")); resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("after 4 failures over two replicas, a request still passes: %d", resp.StatusCode)
		}
	}
}

// A session rotated on one replica still signs in a request that carries
// the old id to the other replica, for the grace period only.
func TestSessionRotationGraceAcrossReplicas(t *testing.T) {
	m := startOIDC(t)
	oidc := func(o *authn.Options) {
		o.OIDC = &authn.OIDCOptions{MetadataURL: m.DiscoveryEndpoint(), ClientID: m.ClientID, ClientSecret: m.ClientSecret}
	}
	a, b := replicas(t, oidc)
	br := a.browser()
	signIn(t, a, br, "oidc")
	old := a.cookie(br, authn.SessionCookie)
	onB := func(cookie string) int {
		t.Helper()
		resp, _ := b.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, map[string]string{"Cookie": authn.SessionCookie + "=" + cookie})
		return resp.StatusCode
	}
	if got := onB(old); got != http.StatusOK {
		t.Fatalf("the session does not sign in on the other replica: %d", got)
	}
	for _, h := range []*harness{a, b} {
		h.clock.Add(authn.DefaultRotationInterval + time.Minute)
	}
	if p, _ := a.principal(br); p == nil {
		t.Fatal("rotation signed the browser out")
	}
	next := a.cookie(br, authn.SessionCookie)
	if next == old || next == "" {
		t.Fatal("the session id was not rotated")
	}
	if got := onB(old); got != http.StatusOK {
		t.Errorf("the old id on the other replica within the grace: %d, want 200", got)
	}
	if got := onB(next); got != http.StatusOK {
		t.Errorf("the new id on the other replica: %d", got)
	}
	b.clock.Add(31 * time.Second)
	if got := onB(old); got != http.StatusUnauthorized {
		t.Errorf("the old id after the grace: %d, want 401", got)
	}
}

var _ authn.Store = (*store.Store)(nil)

// BenchmarkRateLimitShared measures what the shared counters cost a
// request (a static token, so the count is the only database work): in
// memory, and one UPSERT … RETURNING on PostgreSQL.
func BenchmarkRateLimitShared(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := "memory"
		if shared {
			name = "postgres"
		}
		b.Run(name, func(b *testing.B) {
			st := storetest.Postgres(b)
			h := newHarness(b, st, func(o *authn.Options) {
				withStatic(o)
				o.RateLimit.PerUser = 1 << 30
				if shared {
					o.SharedLimits = st
				}
			})
			mw := h.svc.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			cpu0 := cpuTime()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, "/api/whoami", nil)
				r.Header.Set("Authorization", "Bearer static-ci-token-123")
				w := httptest.NewRecorder()
				mw.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is this process's user+system CPU time (the benchmark's side;
// the PostgreSQL server's own work is not in it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
