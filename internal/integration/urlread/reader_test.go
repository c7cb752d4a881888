package urlread

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

var (
	noIntegrations = config.Integrations{}
	noReading      = config.Reading{}
)

// newTestReader returns a Reader on a fake clock, with jitter fixed at 0 so
// that backoff waits are exact.
func newTestReader(t *testing.T, in config.Integrations, reading config.Reading, opts Options) (*Reader, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	opts.Now, opts.Sleep = clock.Now, clock.Sleep
	r, err := New(in, reading, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.jitter = func() float64 { return 0 }
	return r, clock
}

// allowHost is a backend.reading.allow for the given hosts.
func allowHost(hosts ...string) config.Reading {
	var r config.Reading
	for _, h := range hosts {
		r.Allow = append(r.Allow, config.ReadingAllow{Host: h})
	}
	return r
}

func wantError(t *testing.T, err error, code greenroom.Code, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := greenroom.ErrorCode(err); got != code {
		t.Errorf("code = %s, want %s (error: %v)", got, code, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err.Error(), p)
		}
	}
}

func TestReadGitHubContentsAPI(t *testing.T) {
	gh := newFakeGitHub(t)
	gh.private = true
	content := testdata(t, "catalog-info.yaml")
	gh.files["platform/catalog/main/catalog-info.yaml"] = content
	in := config.Integrations{GitHub: []config.GitHubIntegration{
		{Host: "ghe.acme.dev", APIBaseURL: gh.apiBase(), RawBaseURL: gh.rawBase(), Token: config.Secret(gh.token)},
	}}
	r, _ := newTestReader(t, in, noReading, Options{})
	const u = "https://ghe.acme.dev/platform/catalog/blob/main/catalog-info.yaml"

	res, err := r.ReadURLWithInfo(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Data, content) || res.FromCache || res.Stale || res.ETag != etagOf(content) {
		t.Errorf("first read = %+v", res)
	}
	reqs := gh.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	got := reqs[0]
	want := map[string]string{
		"path": "/api/v3/repos/platform/catalog/contents/catalog-info.yaml", "ref": "main",
		"Accept": "application/vnd.github.v3.raw", "Authorization": "Bearer " + gh.token, "User-Agent": "Greenroom",
		"If-None-Match": "",
	}
	gotMap := map[string]string{"path": got.Path, "ref": got.Query.Get("ref")}
	for _, h := range []string{"Accept", "Authorization", "User-Agent", "If-None-Match"} {
		gotMap[h] = got.Header.Get(h)
	}
	if diff := cmp.Diff(want, gotMap); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	// The second read is conditional; 304 gives the cached bytes.
	res, err = r.ReadURLWithInfo(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Data, content) || !res.FromCache || res.Stale || res.Age != 0 {
		t.Errorf("read after 304 = %+v", res)
	}
	reqs = gh.Requests()
	if len(reqs) != 2 || reqs[1].Header.Get("If-None-Match") != etagOf(content) ||
		reqs[1].Header.Get("If-Modified-Since") != "Sat, 01 Mar 2025 10:00:00 GMT" {
		t.Errorf("second request not conditional: %+v", reqs[len(reqs)-1].Header)
	}

	// A changed file is read again.
	gh.files["platform/catalog/main/catalog-info.yaml"] = []byte("kind: Group\n")
	data, err := r.ReadURL(t.Context(), u)
	if err != nil || string(data) != "kind: Group\n" {
		t.Errorf("after a change: %q, %v", data, err)
	}
}

func TestReadGitHubRawWithoutToken(t *testing.T) {
	gh := newFakeGitHub(t)
	gh.files["o/r/v1.0/dir/x.yaml"] = []byte("kind: API\n")
	in := config.Integrations{GitHub: []config.GitHubIntegration{
		{Host: "ghe.acme.dev", APIBaseURL: gh.apiBase(), RawBaseURL: gh.rawBase()},
	}}
	r, _ := newTestReader(t, in, noReading, Options{})
	data, err := r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/v1.0/dir/x.yaml")
	if err != nil || string(data) != "kind: API\n" {
		t.Fatalf("ReadURL = %q, %v", data, err)
	}
	req := gh.Requests()[0]
	if req.Path != "/raw/o/r/v1.0/dir/x.yaml" || req.Header.Get("Authorization") != "" {
		t.Errorf("request = %s with Authorization %q", req.Path, req.Header.Get("Authorization"))
	}
	_, err = r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/v1.0/missing.yaml")
	wantError(t, err, greenroom.CodeNotFound, `not found (404 "404: Not Found")`, "a private repository answers 404 without a token: set one under integrations.github for ghe.acme.dev")
}

func TestReadGitHubErrors(t *testing.T) {
	gh := newFakeGitHub(t)
	gh.private = true
	gh.files["o/r/main/x.yaml"] = []byte("x")
	tokenFor := func(tok string) config.Integrations {
		return config.Integrations{GitHub: []config.GitHubIntegration{{Host: "ghe.acme.dev", APIBaseURL: gh.apiBase(), Token: config.Secret(tok)}}}
	}

	r, _ := newTestReader(t, tokenFor(gh.token), noReading, Options{})
	const u = "https://ghe.acme.dev/o/r/blob/main/x.yaml"
	if _, err := r.ReadURL(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	delete(gh.files, "o/r/main/x.yaml")
	_, err := r.ReadURLWithInfo(t.Context(), u)
	wantError(t, err, greenroom.CodeNotFound, u, "(read as "+gh.apiBase()+"/repos/o/r/contents/x.yaml?ref=main)",
		`not found (404 "Not Found")`, "integrations.github token for ghe.acme.dev can read the repository")
	if _, ok := r.cache.get(u); ok {
		t.Error("a file that is gone stays cached")
	}

	bad, _ := newTestReader(t, tokenFor("wrong"), noReading, Options{})
	_, err = bad.ReadURL(t.Context(), u)
	wantError(t, err, greenroom.CodeForbidden, `the credentials were refused (401 "Bad credentials")`, "check the integrations.github token for ghe.acme.dev")

	anon, _ := newTestReader(t, tokenFor(""), noReading, Options{})
	_, err = anon.ReadURL(t.Context(), u)
	wantError(t, err, greenroom.CodeNotFound, "set one under integrations.github for ghe.acme.dev")
	if n := gh.Count(); n != 4 {
		t.Errorf("%d requests, want 4: errors that retrying cannot fix must not be retried", n)
	}
}

func TestReadGitHubRateLimit(t *testing.T) {
	gh := newFakeGitHub(t)
	gh.files["o/r/main/x.yaml"] = []byte("kind: System\n")
	in := config.Integrations{GitHub: []config.GitHubIntegration{{Host: "ghe.acme.dev", APIBaseURL: gh.apiBase()}}}
	r, clock := newTestReader(t, in, noReading, Options{})
	const u = "https://ghe.acme.dev/o/r/blob/main/x.yaml"
	if _, err := r.ReadURL(t.Context(), u); err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Minute)
	gh.rateLimitReset = clock.Now().Add(10 * time.Minute)
	res, err := r.ReadURLWithInfo(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stale || !res.FromCache || res.Age != time.Minute || string(res.Data) != "kind: System\n" {
		t.Errorf("rate limited read = %+v, want the cached copy, a minute old", res)
	}
	host := strings.TrimPrefix(gh.srv.URL, "http://")
	wantError(t, res.Err, greenroom.CodeUnavailable, "rate limit exhausted on "+host,
		"it resets at 2025-03-01T12:11:00Z (in 10m0s)", "a token under integrations.github for ghe.acme.dev raises the limit")
	if n := gh.Count(); n != 2 {
		t.Errorf("%d requests, want 2 (no retry before the reset)", n)
	}
	if s := clock.Sleeps(); len(s) != 0 {
		t.Errorf("slept %v waiting for a reset 10 minutes away", s)
	}

	// No hammering until the reset: nothing is sent, for any URL of the host.
	clock.Advance(5 * time.Minute)
	_, err = r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/main/other.yaml")
	wantError(t, err, greenroom.CodeUnavailable, "not asking again before 2025-03-01T12:11:00Z (in 5m0s)")
	if n := gh.Count(); n != 2 {
		t.Errorf("%d requests, want 2: sent while the rate limit is exhausted", n)
	}

	clock.Advance(5 * time.Minute)
	gh.rateLimitReset = time.Time{}
	res, err = r.ReadURLWithInfo(t.Context(), u)
	if err != nil || res.Stale {
		t.Fatalf("after the reset: %+v, %v", res, err)
	}
	if n := gh.Count(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestReadGitHubSecondaryRateLimit(t *testing.T) {
	gh := newFakeGitHub(t)
	gh.files["o/r/main/x.yaml"] = []byte("x")
	in := config.Integrations{GitHub: []config.GitHubIntegration{{Host: "ghe.acme.dev", APIBaseURL: gh.apiBase(), Token: config.Secret(gh.token)}}}
	r, clock := newTestReader(t, in, noReading, Options{})
	body := testdata(t, "github_secondary_rate_limited.json")
	gh.Fail(http.Header{"Retry-After": {"2"}}, body, http.StatusForbidden)
	if _, err := r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/main/x.yaml"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}

	// Without Retry-After GitHub asks for a minute: more than RetryMaxDelay.
	gh.Fail(nil, body, http.StatusForbidden)
	_, err := r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/main/y.yaml")
	wantError(t, err, greenroom.CodeUnavailable, "secondary rate limit reached", "(in 1m0s)")
}

func TestReadGitLab(t *testing.T) {
	gl := newFakeGitLab(t, "/gitlab")
	gl.private = true
	gl.files["platform/sub/catalog@main:teams/all teams.yaml"] = []byte("kind: Group\n")
	in := config.Integrations{GitLab: []config.GitLabIntegration{{
		Host: "git.acme.dev", APIBaseURL: gl.apiBase(), BaseURL: "https://git.acme.dev/gitlab", Token: config.Secret(gl.token),
	}}}
	r, _ := newTestReader(t, in, noReading, Options{})
	data, err := r.ReadURL(t.Context(), "https://git.acme.dev/gitlab/platform/sub/catalog/-/blob/main/teams/all%20teams.yaml")
	if err != nil || string(data) != "kind: Group\n" {
		t.Fatalf("ReadURL = %q, %v", data, err)
	}
	req := gl.Requests()[0]
	if req.Path != "/gitlab/api/v4/projects/platform%2Fsub%2Fcatalog/repository/files/teams%2Fall%20teams.yaml/raw" ||
		req.Query.Get("ref") != "main" || req.Header.Get("Authorization") != "Bearer "+gl.token {
		t.Errorf("request = %s ref=%s Authorization=%q", req.Path, req.Query.Get("ref"), req.Header.Get("Authorization"))
	}

	_, err = r.ReadURL(t.Context(), "https://git.acme.dev/gitlab/platform/sub/catalog/-/blob/main/nope.yaml")
	wantError(t, err, greenroom.CodeNotFound, `not found (404 "404 File Not Found")`)

	anonIn := in
	anonIn.GitLab = []config.GitLabIntegration{in.GitLab[0]}
	anonIn.GitLab[0].Token = ""
	anon, _ := newTestReader(t, anonIn, noReading, Options{})
	_, err = anon.ReadURL(t.Context(), "https://git.acme.dev/gitlab/platform/sub/catalog/-/blob/main/teams/all%20teams.yaml")
	wantError(t, err, greenroom.CodeNotFound, `not found (404 "404 Project Not Found")`)

	badIn := in
	badIn.GitLab = []config.GitLabIntegration{in.GitLab[0]}
	badIn.GitLab[0].Token = "expired"
	bad, _ := newTestReader(t, badIn, noReading, Options{})
	_, err = bad.ReadURL(t.Context(), "https://git.acme.dev/gitlab/platform/sub/catalog/-/blob/main/teams/all%20teams.yaml")
	wantError(t, err, greenroom.CodeForbidden, `(401 "401 Unauthorized")`, "check the integrations.gitlab token for git.acme.dev")
}

func TestPrivateAddressRefused(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "kind: Component\n") })
	port := srv.srv.URL[strings.LastIndexByte(srv.srv.URL, ':')+1:]

	r, _ := newTestReader(t, noIntegrations, noReading, Options{})
	_, err := r.ReadURL(t.Context(), srv.srv.URL+"/catalog-info.yaml")
	wantError(t, err, greenroom.CodeForbidden, "refusing to connect to 127.0.0.1:"+port+", a loopback address",
		"allow its host under backend.reading.allow")

	// A host name that resolves to loopback is refused the same way: the
	// guard judges the resolved address.
	_, err = r.ReadURL(t.Context(), "http://localhost:"+port+"/catalog-info.yaml")
	wantError(t, err, greenroom.CodeForbidden, "a loopback address")
	if n := srv.Count(); n != 0 {
		t.Fatalf("%d requests reached a refused address", n)
	}

	allowed, _ := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{})
	if _, err := allowed.ReadURL(t.Context(), srv.srv.URL+"/catalog-info.yaml"); err != nil {
		t.Errorf("allowed host: %v", err)
	}
	// Allowing 127.0.0.1:port does not allow localhost:port.
	_, err = allowed.ReadURL(t.Context(), "http://localhost:"+port+"/catalog-info.yaml")
	wantError(t, err, greenroom.CodeForbidden, "a loopback address")

	paths, _ := newTestReader(t, noIntegrations,
		config.Reading{Allow: []config.ReadingAllow{{Host: srv.host(), Paths: []string{"/catalog/"}}}}, Options{})
	if _, err := paths.ReadURL(t.Context(), srv.srv.URL+"/catalog/all.yaml"); err != nil {
		t.Errorf("allowed path: %v", err)
	}
	for _, p := range []string{"/secret.yaml", "/catalog/../secret.yaml"} {
		_, err = paths.ReadURL(t.Context(), srv.srv.URL+p)
		wantError(t, err, greenroom.CodeForbidden, "refusing to connect")
	}

	open, _ := newTestReader(t, noIntegrations, noReading, Options{AllowPrivateAddresses: true})
	if _, err := open.ReadURL(t.Context(), "http://localhost:"+port+"/x"); err != nil {
		t.Errorf("AllowPrivateAddresses: %v", err)
	}
	if n := srv.Count(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRedirectToRefusedAddress(t *testing.T) {
	b := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secret") })
	var a *plainServer
	a = newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-b":
			http.Redirect(w, r, b.srv.URL+"/metadata", http.StatusFound)
		case "/to-localhost":
			port := a.srv.URL[strings.LastIndexByte(a.srv.URL, ':')+1:]
			http.Redirect(w, r, "http://localhost:"+port+"/x", http.StatusMovedPermanently)
		}
	})
	r, _ := newTestReader(t, noIntegrations, allowHost(a.host()), Options{})

	_, err := r.ReadURL(t.Context(), a.srv.URL+"/to-b")
	wantError(t, err, greenroom.CodeForbidden, "refusing to connect to "+b.host()+", a loopback address",
		"(after a redirect to "+b.srv.URL+"/metadata)")
	if n := b.Count(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	_, err = r.ReadURL(t.Context(), a.srv.URL+"/to-localhost")
	wantError(t, err, greenroom.CodeForbidden, "a loopback address", "after a redirect to http://localhost:")
}

func TestRedirects(t *testing.T) {
	b := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "from b") })
	a := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/hop/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(p, "/hop/"))
			if n == 0 {
				fmt.Fprint(w, "arrived")
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		case p == "/api/v3/repos/o/r/contents/elsewhere.yaml":
			http.Redirect(w, r, b.srv.URL+"/file", http.StatusFound)
		case p == "/api/v3/repos/o/r/contents/same.yaml":
			http.Redirect(w, r, "/final", http.StatusMovedPermanently)
		case p == "/final":
			fmt.Fprint(w, "same host")
		}
	})
	in := config.Integrations{GitHub: []config.GitHubIntegration{{Host: "ghe.acme.dev", APIBaseURL: a.srv.URL + "/api/v3", Token: "tok"}}}
	r, _ := newTestReader(t, in, allowHost(a.host(), b.host()), Options{})

	if data, err := r.ReadURL(t.Context(), a.srv.URL+"/hop/5"); err != nil || string(data) != "arrived" {
		t.Errorf("5 redirects: %q, %v", data, err)
	}
	before := a.Count()
	_, err := r.ReadURL(t.Context(), a.srv.URL+"/hop/6")
	wantError(t, err, greenroom.CodeUnavailable, "stopped after 5 redirects")
	if n := a.Count() - before; n != 6 {
		t.Errorf("%d requests for 6 redirects, want 6 (the first and 5 redirects)", n)
	}

	if data, err := r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/main/elsewhere.yaml"); err != nil || string(data) != "from b" {
		t.Fatalf("redirect to another host: %q, %v", data, err)
	}
	if got := b.Requests()[0].Header.Get("Authorization"); got != "" {
		t.Errorf("the token followed a redirect to another host: %q", got)
	}
	if _, err := r.ReadURL(t.Context(), "https://ghe.acme.dev/o/r/blob/main/same.yaml"); err != nil {
		t.Fatal(err)
	}
	reqs := a.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/final" || last.Header.Get("Authorization") != "Bearer tok" {
		t.Errorf("same-host redirect: %s with Authorization %q", last.Path, last.Header.Get("Authorization"))
	}
}

func TestSizeLimit(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			w.Write(make([]byte, 1024))
		case "/content-length":
			w.Header().Set("Content-Length", "1025")
			w.Write(make([]byte, 1025))
		case "/chunked":
			for range 4 {
				w.Write(make([]byte, 512))
				w.(http.Flusher).Flush()
			}
		case "/gzip":
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				http.Error(w, "no gzip", http.StatusBadRequest)
				return
			}
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(make([]byte, 1<<20))
			zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(buf.Bytes())
		}
	})
	r, _ := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{MaxBytes: 1024})
	if data, err := r.ReadURL(t.Context(), srv.srv.URL+"/exact"); err != nil || len(data) != 1024 {
		t.Errorf("exactly the limit: %d bytes, %v", len(data), err)
	}
	for _, p := range []string{"/content-length", "/chunked", "/gzip"} {
		_, err := r.ReadURL(t.Context(), srv.srv.URL+p)
		wantError(t, err, greenroom.CodeTooLarge, "larger than the limit of 1 KiB")
	}
	if n := srv.Count(); n != 4 {
		t.Errorf("%d requests, want 4: too large is not retried", n)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		call := n
		mu.Unlock()
		switch call {
		case 1: // the connection drops before any answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			w.WriteHeader(http.StatusBadGateway)
		default:
			fmt.Fprint(w, "finally")
		}
	})
	r, clock := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{})
	res, err := r.ReadURLWithInfo(t.Context(), srv.srv.URL+"/x")
	if err != nil || string(res.Data) != "finally" || res.Stale {
		t.Fatalf("ReadURLWithInfo = %+v, %v", res, err)
	}
	if n := srv.Count(); n != 4 {
		t.Errorf("%d requests, want 4 (dropped, 503, 502, 200)", n)
	}
	// Equal jitter at 0: half of 500ms, 1s, 2s.
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}
	if diff := cmp.Diff(want, clock.Sleeps()); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}

	// Attempts are bounded.
	srv.Fail(nil, nil, 500, 500, 500, 500, 500)
	_, err = r.ReadURL(t.Context(), srv.srv.URL+"/y")
	wantError(t, err, greenroom.CodeUnavailable, `the server failed (500)`)
	if n := srv.Count(); n != 8 {
		t.Errorf("%d requests, want 8 (4 attempts)", n)
	}
}

func TestRetryAfter(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	r, clock := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{})
	srv.Fail(http.Header{"Retry-After": {"3"}}, nil, http.StatusServiceUnavailable)
	if _, err := r.ReadURL(t.Context(), srv.srv.URL+"/x"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{3 * time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}

	// A Retry-After beyond RetryMaxDelay fails the read, and the host is
	// left alone until then.
	srv.Fail(http.Header{"Retry-After": {"60"}}, nil, http.StatusTooManyRequests)
	_, err := r.ReadURL(t.Context(), srv.srv.URL+"/y")
	wantError(t, err, greenroom.CodeUnavailable, "rate limit reached on "+srv.host(), "(in 1m0s)")
	before := srv.Count()
	_, err = r.ReadURL(t.Context(), srv.srv.URL+"/z")
	wantError(t, err, greenroom.CodeUnavailable, "not asking again before")
	if srv.Count() != before {
		t.Error("a request was sent before the Retry-After time")
	}
	clock.Advance(time.Minute)
	if _, err := r.ReadURL(t.Context(), srv.srv.URL+"/z"); err != nil {
		t.Errorf("after the Retry-After time: %v", err)
	}
}

func TestBreakerServesCache(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "good") })
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	r, clock := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{
		MaxAttempts: 1, BreakerThreshold: 2, BreakerOpenFor: 30 * time.Second, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	u := srv.srv.URL + "/catalog-info.yaml"
	if _, err := r.ReadURL(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	srv.Fail(nil, nil, 500, 500, 500, 500, 500, 500)

	type step struct {
		advance  time.Duration
		requests int // total so far
		age      time.Duration
		errPart  string
	}
	for i, s := range []step{
		{time.Minute, 2, time.Minute, "the server failed (500)"},
		{time.Minute, 3, 2 * time.Minute, "the server failed (500)"}, // the breaker opens
		{10 * time.Second, 3, 2*time.Minute + 10*time.Second, "failed 2 times in a row; not trying again before 2025-03-01T12:02:30Z (in 20s)"},
		{20 * time.Second, 4, 2*time.Minute + 30*time.Second, "the server failed (500)"}, // the probe fails
		{time.Second, 4, 2*time.Minute + 31*time.Second, "failed 3 times in a row"},
	} {
		clock.Advance(s.advance)
		res, err := r.ReadURLWithInfo(t.Context(), u)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !res.Stale || !res.FromCache || res.Age != s.age || string(res.Data) != "good" {
			t.Errorf("step %d: %+v, want the cached copy aged %v", i, res, s.age)
		}
		wantError(t, res.Err, greenroom.CodeUnavailable, s.errPart)
		if n := srv.Count(); n != s.requests {
			t.Errorf("step %d: %d requests, want %d", i, n, s.requests)
		}
	}

	// ReadURL returns the cached copy too, and says so in the log.
	data, err := r.ReadURL(t.Context(), u)
	if err != nil || string(data) != "good" {
		t.Errorf("ReadURL = %q, %v", data, err)
	}
	if !strings.Contains(logs.String(), "serving the cached copy") || !strings.Contains(logs.String(), "age=2m31s") {
		t.Errorf("log lacks the stale read:\n%s", logs.String())
	}
	// Without a cached copy the error comes through.
	_, err = r.ReadURL(t.Context(), srv.srv.URL+"/never-read.yaml")
	wantError(t, err, greenroom.CodeUnavailable, "failed 3 times in a row")

	// The host recovers: the next probe closes the breaker.
	srv.mu.Lock()
	srv.fail = nil
	srv.mu.Unlock()
	clock.Advance(30 * time.Second)
	res, err := r.ReadURLWithInfo(t.Context(), u)
	if err != nil || res.Stale || res.FromCache {
		t.Fatalf("after recovery: %+v, %v", res, err)
	}

	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			}
		}
	}
	for k, v := range map[string]float64{
		"greenroom_urlread_breaker_opened_total provider=url":                2,
		"greenroom_urlread_reads_total provider=url result=stale":            6,
		"greenroom_urlread_reads_total provider=url result=fetched":          2,
		"greenroom_urlread_reads_total provider=url result=failed":           1,
		"greenroom_urlread_attempts_total outcome=server_error provider=url": 3,
		"greenroom_urlread_attempts_total outcome=breaker_open provider=url": 4,
		"greenroom_urlread_cache_entries":                                    1,
		"greenroom_urlread_cache_bytes":                                      4,
		"greenroom_urlread_breaker_open_hosts":                               0,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	r, _ := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{Timeout: 50 * time.Millisecond, MaxAttempts: 1})
	start := time.Now()
	_, err := r.ReadURL(t.Context(), srv.srv.URL+"/slow")
	wantError(t, err, greenroom.CodeUnavailable, "no answer within 50ms")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v with a 50ms timeout", took)
	}
}

func TestCallerCancelServesNoCache(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") })
	r, _ := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{})
	u := srv.srv.URL + "/x"
	if _, err := r.ReadURL(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := r.ReadURLWithInfo(ctx, u)
	if err == nil || res.Stale {
		t.Fatalf("canceled read = %+v, %v; want the cancellation, not the cache", res, err)
	}
	if !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("error = %v", err)
	}
	// The cancellation says nothing about the host.
	if ok, _, _ := r.breaker.allow(srv.host(), r.now()); !ok || r.breaker.hosts[srv.host()] != nil {
		t.Error("a canceled read counted against the host")
	}
}

func TestConcurrentReads(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+r.URL.Path+`"`)
		if r.Header.Get("If-None-Match") == `"`+r.URL.Path+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, r.URL.Path)
	})
	r, _ := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("/f%d", i%4)
			data, err := r.ReadURL(context.Background(), srv.srv.URL+p)
			if err == nil && string(data) != p {
				err = fmt.Errorf("%s: got %q", p, data)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMayReachPrivate(t *testing.T) {
	in := config.Integrations{
		GitHub: []config.GitHubIntegration{
			{Host: "github.com", APIBaseURL: "https://api.github.com", RawBaseURL: "https://raw.githubusercontent.com", Token: "t"},
			{Host: "ghe.acme.dev", APIBaseURL: "https://ghe-api.acme.dev:8443/api/v3"},
		},
		GitLab: []config.GitLabIntegration{{Host: "git.acme.dev", APIBaseURL: "https://git.acme.dev/api/v4"}},
	}
	r, _ := newTestReader(t, in, allowHost("*.internal.acme.dev"), Options{})
	for raw, want := range map[string]bool{
		"https://ghe.acme.dev/o/r/blob/main/x.yaml":   true,
		"https://ghe-api.acme.dev:8443/api/v3/repos/": true,
		"https://ghe-api.acme.dev/api/v3/repos/":      false, // another port
		"https://git.acme.dev/g/p/-/blob/main/x":      true,
		"https://docs.internal.acme.dev/x":            true,
		"https://github.com/o/r/blob/main/x.yaml":     false, // public GitHub stays guarded, token or not
		"https://api.github.com/repos/o/r/contents/x": false,
		"https://gitlab.com/g/p/-/blob/main/x":        false,
		"https://example.com/x":                       false,
	} {
		u, _ := parseURL(raw)
		if got := r.mayReachPrivate(u); got != want {
			t.Errorf("mayReachPrivate(%s) = %v, want %v", raw, got, want)
		}
	}
}

func TestMaxStale(t *testing.T) {
	srv := newPlainServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") })
	r, clock := newTestReader(t, noIntegrations, allowHost(srv.host()), Options{MaxAttempts: 1, MaxStale: time.Hour})
	u := srv.srv.URL + "/x"
	if _, err := r.ReadURL(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	srv.Fail(nil, nil, 503, 503)
	clock.Advance(time.Hour)
	if res, err := r.ReadURLWithInfo(t.Context(), u); err != nil || !res.Stale {
		t.Errorf("an hour old: %+v, %v; want the cached copy", res, err)
	}
	clock.Advance(time.Second)
	_, err := r.ReadURL(t.Context(), u)
	wantError(t, err, greenroom.CodeUnavailable, "the server failed (503)")
}

func TestNewDoesNotModifyItsInput(t *testing.T) {
	in := config.Integrations{
		GitHub: []config.GitHubIntegration{{Host: "github.com", Token: "t"}},
		GitLab: []config.GitLabIntegration{{Host: "gitlab.com"}},
	}
	r, _ := newTestReader(t, in, noReading, Options{})
	if in.GitHub[0].APIBaseURL != "" || in.GitLab[0].APIBaseURL != "" || in.GitLab[0].BaseURL != "" {
		t.Errorf("New filled in the caller's integrations: %+v", in)
	}
	u, _ := parseURL("https://github.com/o/r/blob/main/x.yaml")
	got, err := r.resolve(u)
	if err != nil || got.url.String() != "https://api.github.com/repos/o/r/contents/x.yaml?ref=main" {
		t.Errorf("github.com built in code without base URLs: %v, %v", got.url, err)
	}
}
