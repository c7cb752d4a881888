// Package gittest serves real git repositories over HTTP on loopback for
// tests: Debian's git http-backend run through net/http/cgi, with bare
// repositories in a temporary directory that tests fill through a git work
// tree. Clients (go-git, the git CLI) can clone, fetch and push.
//
// Tests skip, loudly, when git or git http-backend is missing, and fail
// instead under CI=true, where these tests are required. It is for tests
// only and must not be imported by production code.
package gittest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a git smart-HTTP server on 127.0.0.1. Repositories live under
// Root as NAME.git and are served at URL + "/NAME.git".
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// Root is the directory of the bare repositories.
	Root string

	tb       testing.TB
	git      string
	work     string // work trees, one per repository and branch
	env      []string
	user     string
	password string
	check    func(user, password string) bool
	requests atomic.Int64

	mu     sync.Mutex
	stderr bytes.Buffer
}

// Option configures NewServer.
type Option func(*Server)

// WithBasicAuth makes the server answer 401 (with a Basic challenge) to
// every request that does not carry this user name and password.
func WithBasicAuth(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// WithBasicAuthFunc makes the server answer 401 to every request whose
// basic credentials check refuses (tokens minted at run time).
func WithBasicAuthFunc(check func(user, password string) bool) Option {
	return func(s *Server) { s.check = check }
}

// NewServer starts a server that stops when the test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	gitBin, backend := requireGit(tb)
	dir := tb.TempDir()
	s := &Server{
		Root: filepath.Join(dir, "repos"),
		tb:   tb,
		git:  gitBin,
		work: filepath.Join(dir, "work"),
	}
	for _, o := range opts {
		o(s)
	}
	home := filepath.Join(dir, "home")
	for _, d := range []string{s.Root, s.work, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatalf("gittest: %v", err)
		}
	}
	// The same isolated environment for the CGI and the work-tree
	// commands: no user or system git configuration leaks in.
	s.env = []string{
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Greenroom Test", "GIT_AUTHOR_EMAIL=test@greenroom.invalid",
		"GIT_COMMITTER_NAME=Greenroom Test", "GIT_COMMITTER_EMAIL=test@greenroom.invalid",
	}
	h := &cgi.Handler{
		Path: backend,
		Root: "/",
		Env: append([]string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
		}, s.env...),
		Stderr: &lockedWriter{s: s},
		// Broken pipes when a client gives up early (a size limit) are
		// expected: keep them with stderr rather than in the test output.
		Logger: log.New(&lockedWriter{s: s}, "cgi: ", 0),
	}
	srv := httptest.NewServer(s.handler(h)) // listens on 127.0.0.1
	s.URL = srv.URL
	tb.Cleanup(func() {
		srv.Close()
		if tb.Failed() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.stderr.Len() > 0 {
				tb.Logf("gittest: git http-backend stderr:\n%s", s.stderr.String())
			}
		}
	})
	return s
}

func (s *Server) handler(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.user != "" || s.password != "" {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.user)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(s.password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		if s.check != nil {
			if u, p, ok := r.BasicAuth(); !ok || !s.check(u, p) {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	})
}

// Requests returns the number of HTTP requests served so far (including
// refused ones).
func (s *Server) Requests() int64 { return s.requests.Load() }

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

// CreateRepo creates an empty bare repository whose HEAD is main, with
// pushes over HTTP allowed, and returns its URL. name may contain slashes
// (group/project).
func (s *Server) CreateRepo(name string) string {
	s.tb.Helper()
	if !validName.MatchString(name) || strings.Contains(name, "..") {
		s.tb.Fatalf("gittest: bad repository name %q", name)
	}
	dir := s.bare(name)
	if _, err := os.Stat(dir); err == nil {
		s.tb.Fatalf("gittest: repository %q exists", name)
	}
	s.run("", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	s.run(dir, "config", "http.receivepack", "true")
	return s.RepoURL(name)
}

// RepoURL returns the clone URL of repository name.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// RepoDir returns the directory of the bare repository name.
func (s *Server) RepoDir(name string) string { return s.bare(name) }

func (s *Server) bare(name string) string {
	return filepath.Join(s.Root, filepath.FromSlash(name)+".git")
}

// Commit writes files (slash-separated path → content) on branch of
// repository name, creating the branch if needed (from nothing: an
// orphan), commits them with msg and pushes. It returns the commit hash.
func (s *Server) Commit(name, branch string, files map[string]string, msg string) string {
	s.tb.Helper()
	wt := s.worktree(name, branch)
	for p, content := range files {
		full := s.inTree(wt, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			s.tb.Fatalf("gittest: %v", err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			s.tb.Fatalf("gittest: %v", err)
		}
	}
	return s.commitAndPush(wt, branch, msg)
}

// Delete removes paths (files or directories) on branch of repository
// name, commits and pushes; it returns the commit hash.
func (s *Server) Delete(name, branch string, paths ...string) string {
	s.tb.Helper()
	wt := s.worktree(name, branch)
	for _, p := range paths {
		s.inTree(wt, p)
		s.run(wt, "rm", "-r", "--quiet", "--", p)
	}
	return s.commitAndPush(wt, branch, "delete "+strings.Join(paths, ", "))
}

func (s *Server) inTree(wt, p string) string {
	s.tb.Helper()
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." ||
		strings.HasPrefix(p, ".git/") || p == ".git" {
		s.tb.Fatalf("gittest: bad path %q", p)
	}
	return filepath.Join(wt, filepath.FromSlash(p))
}

// worktree returns a work tree of name on branch, at the branch's current
// tip (others may have pushed to it over HTTP).
func (s *Server) worktree(name, branch string) string {
	s.tb.Helper()
	if strings.ContainsAny(branch, " ~^:?*[\\") || branch == "" || strings.HasPrefix(branch, "-") {
		s.tb.Fatalf("gittest: bad branch %q", branch)
	}
	bare := s.bare(name)
	if _, err := os.Stat(bare); err != nil {
		s.tb.Fatalf("gittest: no repository %q: CreateRepo it first", name)
	}
	wt := filepath.Join(s.work, filepath.FromSlash(name), url.PathEscape(branch))
	if _, err := os.Stat(filepath.Join(wt, ".git")); err != nil {
		if err := os.MkdirAll(wt, 0o755); err != nil {
			s.tb.Fatalf("gittest: %v", err)
		}
		s.run(wt, "init", "--quiet", "--initial-branch="+branch)
		s.run(wt, "remote", "add", "origin", bare)
	}
	if s.exists(bare, "refs/heads/"+branch) {
		s.run(wt, "fetch", "--quiet", "origin", branch)
		s.run(wt, "reset", "--quiet", "--hard", "FETCH_HEAD")
	}
	return wt
}

func (s *Server) exists(gitDir, ref string) bool {
	cmd := exec.Command(s.git, "--git-dir", gitDir, "rev-parse", "--verify", "--quiet", ref)
	cmd.Env = append(os.Environ(), s.env...)
	return cmd.Run() == nil
}

func (s *Server) commitAndPush(wt, branch, msg string) string {
	s.tb.Helper()
	s.run(wt, "add", "--all")
	s.run(wt, "commit", "--quiet", "--allow-empty", "-m", msg)
	s.run(wt, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(s.run(wt, "rev-parse", "HEAD"))
}

// Git runs git with args in dir (a work tree or a bare repository, "" for
// none) in the server's isolated environment and returns its output,
// failing the test on error.
func (s *Server) Git(dir string, args ...string) string {
	s.tb.Helper()
	return s.run(dir, args...)
}

func (s *Server) run(dir string, args ...string) string {
	s.tb.Helper()
	cmd := exec.Command(s.git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), s.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		s.tb.Fatalf("gittest: git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.stderr.Len() < 1<<20 { // keep the first MiB for the failure log
		w.s.stderr.Write(p)
	}
	return len(p), nil
}

var warnOnce sync.Once

// requireGit returns the paths of git and git http-backend, or skips the
// test (fails it under CI=true) when either is missing.
func requireGit(tb testing.TB) (gitBin, backend string) {
	tb.Helper()
	gitBin, err := exec.LookPath("git")
	if err == nil {
		var out []byte
		out, err = exec.Command(gitBin, "--exec-path").Output()
		if err == nil {
			backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
			_, err = os.Stat(backend)
		}
	}
	if err == nil {
		return gitBin, backend
	}
	why := fmt.Sprintf("git or git http-backend not found (%v); install Debian's git package", err)
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("gittest: %s; git server tests are required under CI (CI=true)", why)
	}
	warnOnce.Do(func() { fmt.Fprintf(os.Stderr, "gittest: WARNING: git server tests are SKIPPED: %s\n", why) })
	tb.Skipf("SKIPPED: %s", why)
	return "", ""
}
