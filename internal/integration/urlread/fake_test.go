package urlread

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose Sleep advances it, so that backoff waits cost
// no real time and can be asserted.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// seen is one request a fake received.
type seen struct {
	Path   string // escaped
	Query  url.Values
	Header http.Header
}

// recorder keeps the requests of a fake and the failures it was told to
// answer first.
type recorder struct {
	mu       sync.Mutex
	requests []seen
	// fail holds statuses to answer before behaving normally, one per
	// request; failHeader is sent with them.
	fail       []int
	failHeader http.Header
	failBody   []byte
}

func (rec *recorder) record(r *http.Request) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests = append(rec.requests, seen{Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone()})
}

func (rec *recorder) Requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.requests...)
}

func (rec *recorder) Count() int { return len(rec.Requests()) }

// Fail makes the next requests answer the given statuses.
func (rec *recorder) Fail(header http.Header, body []byte, statuses ...int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.fail, rec.failHeader, rec.failBody = append(rec.fail, statuses...), header, body
}

// failing answers the next queued failure, if any.
func (rec *recorder) failing(w http.ResponseWriter) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.fail) == 0 {
		return false
	}
	code := rec.fail[0]
	rec.fail = rec.fail[1:]
	for k, v := range rec.failHeader {
		w.Header()[k] = v
	}
	if rec.failBody != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(code)
	_, _ = w.Write(rec.failBody)
	return true
}

func testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func etagOf(b []byte) string {
	sum := sha1.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// writeFile answers a file with an ETag, or 304 when the request's
// If-None-Match names it.
func writeFile(w http.ResponseWriter, r *http.Request, contentType string, data []byte) {
	tag := etagOf(data)
	w.Header().Set("ETag", tag)
	w.Header().Set("Last-Modified", "Sat, 01 Mar 2025 10:00:00 GMT")
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// fakeGitHub answers like GitHub Enterprise Server: the REST API under
// /api/v3 (only GET /repos/{owner}/{repo}/contents/{path}) and raw files
// under /raw/{owner}/{repo}/{ref}/{path}. Private repositories answer 404
// without the token, as GitHub does; a wrong token answers 401.
type fakeGitHub struct {
	recorder
	tb      testing.TB
	srv     *httptest.Server
	token   string
	private bool
	files   map[string][]byte // "owner/repo/ref/path"
	// rateLimitReset, when set, makes the API answer 403 with the primary
	// rate limit headers.
	rateLimitReset time.Time
}

func newFakeGitHub(tb testing.TB) *fakeGitHub {
	f := &fakeGitHub{tb: tb, token: "ghp_fake_token", files: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) apiBase() string { return f.srv.URL + "/api/v3" }
func (f *fakeGitHub) rawBase() string { return f.srv.URL + "/raw" }

func (f *fakeGitHub) json(w http.ResponseWriter, code int, name string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(testdata(f.tb, name))
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.record(r)
	if f.failing(w) {
		return
	}
	auth := r.Header.Get("Authorization")
	token, hasToken := strings.CutPrefix(auth, "Bearer ")
	if !hasToken {
		token, hasToken = strings.CutPrefix(auth, "token ")
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v3/"):
		if hasToken && token != f.token {
			f.json(w, http.StatusUnauthorized, "github_bad_credentials.json")
			return
		}
		w.Header().Set("X-GitHub-Media-Type", "github.v3; param=raw")
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Resource", "core")
		if !f.rateLimitReset.IsZero() {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.rateLimitReset.Unix(), 10))
			w.Header().Set("X-RateLimit-Used", "5000")
			f.json(w, http.StatusForbidden, "github_rate_limited.json")
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "4999")
		parts := strings.SplitN(strings.TrimPrefix(p, "/api/v3/repos/"), "/", 4)
		if len(parts) != 4 || parts[2] != "contents" || (f.private && !hasToken) {
			f.json(w, http.StatusNotFound, "github_not_found.json")
			return
		}
		ref := r.URL.Query().Get("ref")
		if ref == "" {
			ref = "main"
		}
		data, ok := f.files[parts[0]+"/"+parts[1]+"/"+ref+"/"+parts[3]]
		if !ok {
			f.json(w, http.StatusNotFound, "github_not_found.json")
			return
		}
		if r.Header.Get("Accept") == githubAccept {
			writeFile(w, r, "application/vnd.github.raw; charset=utf-8", data)
			return
		}
		body, _ := json.Marshal(map[string]any{
			"type": "file", "encoding": "base64", "name": filepath.Base(parts[3]), "path": parts[3],
			"size": len(data), "content": base64.StdEncoding.EncodeToString(data),
		})
		writeFile(w, r, "application/json; charset=utf-8", body)
	case strings.HasPrefix(p, "/raw/"):
		data, ok := f.files[strings.TrimPrefix(p, "/raw/")]
		if !ok || f.private && token != f.token {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("404: Not Found"))
			return
		}
		writeFile(w, r, "text/plain; charset=utf-8", data)
	default:
		http.NotFound(w, r)
	}
}

// fakeGitLab answers like GitLab's REST API v4 (only GET
// /api/v4/projects/:id/repository/files/:file_path/raw), with projects
// named by their URL-encoded path. The instance may sit under a relative
// path (prefix).
type fakeGitLab struct {
	recorder
	tb      testing.TB
	srv     *httptest.Server
	prefix  string
	token   string
	private bool
	files   map[string][]byte // "group/project@ref:path"
}

func newFakeGitLab(tb testing.TB, prefix string) *fakeGitLab {
	f := &fakeGitLab{tb: tb, prefix: prefix, token: "glpat-fake-token", files: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitLab) apiBase() string { return f.srv.URL + f.prefix + "/api/v4" }

func (f *fakeGitLab) json(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	f.record(r)
	if f.failing(w) {
		return
	}
	token := r.Header.Get("PRIVATE-TOKEN")
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = b
	}
	if token != "" && token != f.token {
		f.json(w, http.StatusUnauthorized, testdata(f.tb, "gitlab_unauthorized.json"))
		return
	}
	// The project and file are single escaped segments: read the escaped
	// path, as GitLab does.
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), f.prefix+"/api/v4/projects/")
	project, file, ok2 := strings.Cut(rest, "/repository/files/")
	file, ok3 := strings.CutSuffix(file, "/raw")
	if !ok || !ok2 || !ok3 || strings.Contains(project, "/") || strings.Contains(file, "/") {
		f.json(w, http.StatusNotFound, []byte(`{"error":"404 Not Found"}`))
		return
	}
	project, _ = url.PathUnescape(project)
	file, _ = url.PathUnescape(file)
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		f.json(w, http.StatusBadRequest, []byte(`{"error":"ref is missing, ref is empty"}`))
		return
	}
	known := false
	for k := range f.files {
		known = known || strings.HasPrefix(k, project+"@")
	}
	if !known || f.private && token == "" {
		f.json(w, http.StatusNotFound, testdata(f.tb, "gitlab_project_not_found.json"))
		return
	}
	data, ok := f.files[project+"@"+ref+":"+file]
	if !ok {
		f.json(w, http.StatusNotFound, testdata(f.tb, "gitlab_file_not_found.json"))
		return
	}
	w.Header().Set("X-Gitlab-File-Path", file)
	w.Header().Set("X-Gitlab-Ref", ref)
	writeFile(w, r, "text/plain; charset=utf-8", data)
}

// plainServer answers fixed bytes (or what handler says) and records
// requests.
type plainServer struct {
	recorder
	srv *httptest.Server
}

func newPlainServer(tb testing.TB, handler http.HandlerFunc) *plainServer {
	s := &plainServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if s.failing(w) {
			return
		}
		handler(w, r)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// host returns the server's host:port, for backend.reading.allow.
func (s *plainServer) host() string { return strings.TrimPrefix(s.srv.URL, "http://") }
