package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitsource/gittest"
)

func newCache(t *testing.T, opts Options) *Cache {
	t.Helper()
	c, err := NewCache(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// objects counts the objects of type typ in the clone of repo.
func objects(t *testing.T, c *Cache, repo Repo, typ plumbing.ObjectType) int {
	t.Helper()
	ep, err := repo.endpoint()
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := openStorage(filepath.Join(c.dir, ep.key), forRead)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	iter, err := st.IterEncodedObjects(typ)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := iter.ForEach(func(plumbing.EncodedObject) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustSync(t *testing.T, c *Cache, repo Repo) (string, bool) {
	t.Helper()
	commit, changed, err := c.Sync(context.Background(), repo)
	if err != nil {
		t.Fatalf("Sync(%s): %v", repo.URL, err)
	}
	return commit, changed
}

func snapshot(t *testing.T, c *Cache, repo Repo, commit string) *Snapshot {
	t.Helper()
	s, err := c.Snapshot(context.Background(), repo, commit)
	if err != nil {
		t.Fatalf("Snapshot(%s): %v", commit, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func wantCode(t *testing.T, err error, code greenroom.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %s", code)
	}
	if got := greenroom.ErrorCode(err); got != code {
		t.Fatalf("error %q has code %s, want %s", err, got, code)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not mention %q", err, s)
		}
	}
}

func TestSyncShallowThenIncremental(t *testing.T) {
	srv := gittest.NewServer(t)
	url := srv.CreateRepo("org/service")
	files := map[string]string{"README.md": "hello"}
	for i := range 20 {
		files[fmt.Sprintf("services/s%02d/catalog-info.yaml", i)] = fmt.Sprintf("name: s%02d\n", i)
	}
	srv.Commit("org/service", "main", map[string]string{"old.txt": "v1"}, "one")
	srv.Commit("org/service", "main", map[string]string{"old.txt": "v2"}, "two")
	tip := srv.Commit("org/service", "main", files, "three")

	c := newCache(t, Options{})
	repo := Repo{URL: url}
	commit, changed := mustSync(t, c, repo)
	if commit != tip || !changed {
		t.Fatalf("first Sync = %s, %v; want %s, true", commit, changed, tip)
	}
	if n := objects(t, c, repo, plumbing.CommitObject); n != 1 {
		t.Fatalf("after the first Sync the cache holds %d commits, want 1 (depth 1)", n)
	}
	before := objects(t, c, repo, plumbing.AnyObject)

	// Nothing changed: one ref listing, no fetch.
	reqs := srv.Requests()
	commit, changed = mustSync(t, c, repo)
	if commit != tip || changed {
		t.Fatalf("second Sync = %s, %v; want %s, false", commit, changed, tip)
	}
	if n := srv.Requests() - reqs; n != 1 {
		t.Fatalf("an unchanged Sync made %d requests, want 1", n)
	}

	// A new commit: only its new objects come over.
	next := srv.Commit("org/service", "main", map[string]string{"services/s00/catalog-info.yaml": "name: renamed\n"}, "four")
	commit, changed = mustSync(t, c, repo)
	if commit != next || !changed {
		t.Fatalf("Sync after a push = %s, %v; want %s, true", commit, changed, next)
	}
	// commit + root tree + services tree + s00 tree + blob
	if added := objects(t, c, repo, plumbing.AnyObject) - before; added != 5 {
		t.Fatalf("the incremental fetch added %d objects, want 5", added)
	}
	snap := snapshot(t, c, repo, commit)
	got, err := fs.ReadFile(snap, "services/s00/catalog-info.yaml")
	if err != nil || string(got) != "name: renamed\n" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if snap.Commit() != next {
		t.Fatalf("Snapshot.Commit() = %s, want %s", snap.Commit(), next)
	}
	matches, err := Glob(snap, "/services/*/catalog-info.yaml")
	if err != nil || len(matches) != 20 {
		t.Fatalf("Glob = %d files, %v; want 20", len(matches), err)
	}
	// The previous commit is still readable.
	old := snapshot(t, c, repo, tip)
	if got, _ := fs.ReadFile(old, "services/s00/catalog-info.yaml"); string(got) != "name: s00\n" {
		t.Fatalf("old snapshot reads %q", got)
	}

	// Deleted files disappear from the next snapshot.
	_ = snap.Close()
	_ = old.Close()
	del := srv.Delete("org/service", "main", "services/s01", "services/s02/catalog-info.yaml")
	commit, _ = mustSync(t, c, repo)
	if commit != del {
		t.Fatalf("Sync after Delete = %s, want %s", commit, del)
	}
	matches, err = Glob(snapshot(t, c, repo, commit), "/**/catalog-info.yaml")
	if err != nil || len(matches) != 18 || matches[0] != "services/s00/catalog-info.yaml" || matches[1] != "services/s03/catalog-info.yaml" {
		t.Fatalf("Glob after Delete = %v, %v", matches, err)
	}
}

func TestSyncBranches(t *testing.T) {
	srv := gittest.NewServer(t)
	url := srv.CreateRepo("app")
	mainTip := srv.Commit("app", "main", map[string]string{"catalog-info.yaml": "main"}, "main")
	devTip := srv.Commit("app", "dev", map[string]string{"catalog-info.yaml": "dev"}, "dev")
	c := newCache(t, Options{})

	tests := []struct {
		branch, want, content string
	}{
		{"", mainTip, "main"}, // the remote HEAD
		{"main", mainTip, "main"},
		{"dev", devTip, "dev"},
		{"refs/heads/dev", devTip, "dev"},
	}
	for _, tt := range tests {
		repo := Repo{URL: url, Branch: tt.branch}
		commit, _ := mustSync(t, c, repo)
		if commit != tt.want {
			t.Errorf("branch %q: commit %s, want %s", tt.branch, commit, tt.want)
			continue
		}
		snap := snapshot(t, c, repo, commit)
		if got, err := fs.ReadFile(snap, "catalog-info.yaml"); err != nil || string(got) != tt.content {
			t.Errorf("branch %q: content %q, %v", tt.branch, got, err)
		}
		_ = snap.Close() // an open snapshot holds the next Sync of the URL
	}

	_, _, err := c.Sync(context.Background(), Repo{URL: url, Branch: "nope"})
	wantCode(t, err, greenroom.CodeNotFound, `branch "nope" not found`, url)

	// HEAD names main, but only dev exists.
	srv.CreateRepo("devonly")
	srv.Commit("devonly", "dev", map[string]string{"a": "a"}, "dev")
	_, _, err = c.Sync(context.Background(), Repo{URL: srv.RepoURL("devonly")})
	wantCode(t, err, greenroom.CodeNotFound, "set a branch")

	srv.CreateRepo("empty")
	_, _, err = c.Sync(context.Background(), Repo{URL: srv.RepoURL("empty")})
	wantCode(t, err, greenroom.CodeNotFound, "empty")

	_, _, err = c.Sync(context.Background(), Repo{URL: srv.RepoURL("missing")})
	wantCode(t, err, greenroom.CodeNotFound, "repository not found")

	_, err = c.Snapshot(context.Background(), Repo{URL: url}, strings.Repeat("ab", 20))
	wantCode(t, err, greenroom.CodeNotFound, "not in the cache")
	_, err = c.Snapshot(context.Background(), Repo{URL: url}, "HEAD")
	wantCode(t, err, greenroom.CodeInvalid, "full commit hash")
	_, err = c.Snapshot(context.Background(), Repo{URL: srv.RepoURL("never-synced")}, mainTip)
	wantCode(t, err, greenroom.CodeNotFound, "Sync it first")
}

func TestSyncTokenAuth(t *testing.T) {
	const token = "glpat-Secret-Token-123"
	srv := gittest.NewServer(t, gittest.WithBasicAuth("oauth2", token))
	url := srv.CreateRepo("group/private")
	tip := srv.Commit("group/private", "main", map[string]string{"catalog-info.yaml": "x"}, "x")
	var logs bytes.Buffer
	c := newCache(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	tests := []struct {
		name string
		repo Repo
		code greenroom.Code
		msg  string
	}{
		{"no credentials", Repo{URL: url}, greenroom.CodeUnauthorized, "authentication required (HTTP 401): configure a token"},
		{"wrong token", Repo{URL: url, Auth: Auth{Username: UserGitLab, Token: "glpat-wrong-token"}}, greenroom.CodeUnauthorized, "HTTP 401): the token was not accepted"},
		{"wrong user name", Repo{URL: url, Auth: Auth{Token: token}}, greenroom.CodeUnauthorized, "not accepted"},
		{"token", Repo{URL: url, Auth: Auth{Username: UserGitLab, Token: token}}, "", ""},
		{"token in the url", Repo{URL: strings.Replace(url, "http://", "http://oauth2:"+token+"@", 1)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			commit, _, err := c.Sync(context.Background(), tt.repo)
			if tt.code != "" {
				wantCode(t, err, tt.code, tt.msg, url)
				if strings.Contains(err.Error(), token) {
					t.Fatalf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil || commit != tip {
				t.Fatalf("Sync = %s, %v; want %s", commit, err, tip)
			}
		})
	}
	if strings.Contains(logs.String(), token) || !strings.Contains(logs.String(), "git sync") {
		t.Fatalf("logs leak the token or say nothing:\n%s", logs.String())
	}
	// A failed first sync leaves no half-made clone behind.
	srv.CreateRepo("other")
	c2 := newCache(t, Options{})
	if _, _, err := c2.Sync(context.Background(), Repo{URL: srv.RepoURL("other")}); err == nil {
		t.Fatal("Sync without a token succeeded")
	}
	if entries, _ := os.ReadDir(c2.dir); len(entries) != 0 {
		t.Fatalf("cache holds %d entries after a failed first sync", len(entries))
	}
}

func TestSyncUnreachable(t *testing.T) {
	// A closed port: refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/x.git"
	_ = ln.Close()
	c := newCache(t, Options{Timeout: 500 * time.Millisecond})
	_, _, err = c.Sync(context.Background(), Repo{URL: closed})
	wantCode(t, err, greenroom.CodeUnavailable, "cannot reach the server", closed)

	// A server that accepts and never answers: the timeout ends it.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { _ = hole.Close(); conns.Wait() })
	conns.Add(1)
	go func() {
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			conn, err := hole.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	start := time.Now()
	_, _, err = c.Sync(context.Background(), Repo{URL: "http://" + hole.Addr().String() + "/x.git"})
	wantCode(t, err, greenroom.CodeUnavailable, "timed out after 500ms")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Sync took %s despite a 500ms timeout", d)
	}
}

func TestSizeLimits(t *testing.T) {
	srv := gittest.NewServer(t)
	url := srv.CreateRepo("big")
	huge := noise(1, 200_000)
	tip := srv.Commit("big", "main", map[string]string{
		"catalog-info.yaml": "small\n",
		"huge.yaml":         huge,
	}, "big")

	t.Run("file", func(t *testing.T) {
		c := newCache(t, Options{MaxFileBytes: 100_000})
		repo := Repo{URL: url}
		commit, _ := mustSync(t, c, repo)
		snap := snapshot(t, c, repo, commit)
		if got, err := fs.ReadFile(snap, "catalog-info.yaml"); err != nil || string(got) != "small\n" {
			t.Fatalf("small file: %q, %v", got, err)
		}
		_, err := fs.ReadFile(snap, "huge.yaml")
		wantCode(t, err, greenroom.CodeTooLarge, "huge.yaml", "over the limit of 100000 bytes")
		_, err = snap.Open("huge.yaml")
		wantCode(t, err, greenroom.CodeTooLarge, "huge.yaml")
		info, err := snap.Stat("huge.yaml")
		if err != nil || info.Size() != int64(len(huge)) {
			t.Fatalf("Stat(huge.yaml) = %v, %v; want size %d", info, err, len(huge))
		}
	})
	t.Run("fetch", func(t *testing.T) {
		c := newCache(t, Options{MaxFetchBytes: 20_000})
		_, _, err := c.Sync(context.Background(), Repo{URL: url})
		wantCode(t, err, greenroom.CodeTooLarge, "more than 20000 bytes")
		if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
			t.Fatalf("cache keeps %d entries after a refused fetch", len(entries))
		}
		c = newCache(t, Options{MaxFetchBytes: 10 << 20})
		if commit, _ := mustSync(t, c, Repo{URL: url}); commit != tip {
			t.Fatalf("Sync = %s, want %s", commit, tip)
		}
	})
	t.Run("growth", func(t *testing.T) {
		srv.CreateRepo("grows")
		srv.Commit("grows", "main", map[string]string{"catalog-info.yaml": "small\n"}, "small")
		c := newCache(t, Options{MaxFetchBytes: 50_000})
		repo := Repo{URL: srv.RepoURL("grows")}
		mustSync(t, c, repo)
		tip := srv.Commit("grows", "main", map[string]string{"huge.yaml": huge}, "grown")
		_, _, err := c.Sync(context.Background(), repo)
		wantCode(t, err, greenroom.CodeTooLarge, "more than 50000 bytes")
		if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
			t.Fatalf("cache keeps %d entries after the branch outgrew the limit", len(entries))
		}
		opts := c.opts
		opts.MaxFetchBytes = 10 << 20
		bigger := &Cache{dir: c.dir, log: c.log, opts: opts, locks: c.locks}
		if commit, changed := mustSync(t, bigger, repo); commit != tip || !changed {
			t.Fatalf("Sync with a bigger limit = %s, %v; want %s, true", commit, changed, tip)
		}
	})
}

func TestSyncConcurrent(t *testing.T) {
	srv := gittest.NewServer(t)
	a := Repo{URL: srv.CreateRepo("a")}
	b := Repo{URL: srv.CreateRepo("b")}
	tipA := srv.Commit("a", "main", map[string]string{"catalog-info.yaml": "a"}, "a")
	tipB := srv.Commit("b", "main", map[string]string{"catalog-info.yaml": "b"}, "b")
	c := newCache(t, Options{})

	type result struct {
		repo    string
		commit  string
		changed bool
		err     error
	}
	results := make(chan result, 12)
	var wg sync.WaitGroup
	for i := range 12 {
		repo, name := a, "a"
		if i%3 == 0 {
			repo, name = b, "b"
		}
		wg.Go(func() {
			commit, changed, err := c.Sync(context.Background(), repo)
			results <- result{name, commit, changed, err}
		})
	}
	wg.Wait()
	close(results)
	changed := map[string]int{}
	for r := range results {
		want := map[string]string{"a": tipA, "b": tipB}[r.repo]
		if r.err != nil || r.commit != want {
			t.Fatalf("concurrent Sync of %s = %s, %v; want %s", r.repo, r.commit, r.err, want)
		}
		if r.changed {
			changed[r.repo]++
		}
	}
	// Serialised per URL: exactly one Sync of each repository saw a change.
	if diff := cmp.Diff(map[string]int{"a": 1, "b": 1}, changed); diff != "" {
		t.Fatalf("Syncs reporting a change (-want +got):\n%s", diff)
	}

	// An open snapshot of a blocks Syncs of a, not of b.
	snap := snapshot(t, c, a, tipA)
	short := newCacheLike(c, 300*time.Millisecond)
	_, _, err := short.Sync(context.Background(), a)
	wantCode(t, err, greenroom.CodeUnavailable, "waiting for another sync or reader")
	if _, _, err := short.Sync(context.Background(), b); err != nil {
		t.Fatalf("Sync of b while a is read: %v", err)
	}
	_ = snap.Close()
	if _, _, err := short.Sync(context.Background(), a); err != nil {
		t.Fatalf("Sync of a after the snapshot closed: %v", err)
	}
}

// newCacheLike returns a view of c with another timeout, sharing its
// directory and locks.
func newCacheLike(c *Cache, timeout time.Duration) *Cache {
	opts := c.opts
	opts.Timeout = timeout
	return &Cache{dir: c.dir, log: c.log, opts: opts, locks: c.locks}
}

func TestSyncCompactsPacks(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := Repo{URL: srv.CreateRepo("busy")}
	c := newCache(t, Options{MaxPacks: 3})
	ep, _ := repo.endpoint()
	dir := filepath.Join(c.dir, ep.key)
	maxPacks := 0
	for i := range 8 {
		tip := srv.Commit("busy", "main", map[string]string{"catalog-info.yaml": fmt.Sprint(i)}, fmt.Sprint(i))
		commit, changed := mustSync(t, c, repo)
		if commit != tip || !changed {
			t.Fatalf("round %d: Sync = %s, %v; want %s, true", i, commit, changed, tip)
		}
		maxPacks = max(maxPacks, packCount(dir))
		snap := snapshot(t, c, repo, commit)
		if got, _ := fs.ReadFile(snap, "catalog-info.yaml"); string(got) != fmt.Sprint(i) {
			t.Fatalf("round %d: content %q", i, got)
		}
		_ = snap.Close()
	}
	if maxPacks > 3 {
		t.Fatalf("the clone grew to %d packs, want at most MaxPacks=3", maxPacks)
	}
	if n := objects(t, c, repo, plumbing.CommitObject); n > 3 {
		t.Fatalf("the clone holds %d commits after compaction, want at most 3", n)
	}
}

func TestSnapshotFS(t *testing.T) {
	srv := gittest.NewServer(t)
	url := srv.CreateRepo("fs")
	srv.Commit("fs", "main", map[string]string{
		"catalog-info.yaml":        "root",
		"b/catalog-info.yaml":      "b",
		"a/x/catalog-info.yaml":    "ax",
		"a-b/c.txt":                "git sorts a-b before a/, io/fs after a",
		"a.txt":                    "a.txt",
		".github/workflows/ci.yml": "ci",
		"run.sh":                   "#!/bin/sh\n",
	}, "tree")
	wt := filepath.Join(t.TempDir(), "wt")
	srv.Git("", "clone", "--quiet", url, wt)
	srv.Git(wt, "update-index", "--chmod=+x", "run.sh")
	links := func(links map[string]string) string {
		for name, target := range links {
			if err := os.Symlink(target, filepath.Join(wt, name)); err != nil {
				t.Fatal(err)
			}
			srv.Git(wt, "add", name)
		}
		srv.Git(wt, "commit", "--quiet", "-m", "links")
		srv.Git(wt, "push", "--quiet", "origin", "HEAD:main")
		return strings.TrimSpace(srv.Git(wt, "rev-parse", "HEAD"))
	}
	good := links(map[string]string{"link.yaml": "catalog-info.yaml", "dirlink": "a/x", "b/up": ".."})

	c := newCache(t, Options{})
	repo := Repo{URL: url}
	commit, _ := mustSync(t, c, repo)
	if commit != good {
		t.Fatalf("Sync = %s, want %s", commit, good)
	}
	snap := snapshot(t, c, repo, commit)
	if err := fstest.TestFS(snap, "catalog-info.yaml", "b/catalog-info.yaml", "a/x/catalog-info.yaml",
		"a.txt", "a-b/c.txt", ".github/workflows/ci.yml", "run.sh", "link.yaml", "dirlink"); err != nil {
		t.Fatal(err)
	}
	info, err := snap.Stat("run.sh")
	if err != nil || info.Mode() != 0o755 {
		t.Fatalf("run.sh mode = %v, %v; want 0755", info, err)
	}
	entries, err := snap.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{".github", "a", "a-b", "a.txt", "b", "catalog-info.yaml", "dirlink", "link.yaml", "run.sh"}, names); diff != "" {
		t.Errorf("ReadDir(.) (-want +got):\n%s", diff)
	}
	for name, want := range map[string]string{"link.yaml": "root", "dirlink/catalog-info.yaml": "ax", "b/up/a.txt": "a.txt", "b/up/b/up/run.sh": "#!/bin/sh\n"} {
		if got, err := fs.ReadFile(snap, name); err != nil || string(got) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if target, err := snap.ReadLink("dirlink"); err != nil || target != "a/x" {
		t.Errorf("ReadLink(dirlink) = %q, %v", target, err)
	}
	if info, err := snap.Lstat("link.yaml"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(link.yaml) = %v, %v; want a symlink", info, err)
	}
	matches, err := Glob(snap, "/**/*.yaml")
	if diff := cmp.Diff([]string{"a/x/catalog-info.yaml", "b/catalog-info.yaml", "catalog-info.yaml"}, matches); diff != "" || err != nil {
		t.Errorf("Glob skips dot dirs and symlinks; (-want +got), err %v:\n%s", err, diff)
	}
	for _, bad := range []string{"/catalog-info.yaml", "a/../b", "missing", "catalog-info.yaml/x", "b/catalog-info.yaml/", "missing/deeper"} {
		if _, err := snap.Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	if _, err := snap.Open("missing/deeper"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing/deeper) = %v, want not exist", err)
	}
	_ = snap.Close()

	links(map[string]string{"escape": "../outside", "abs": "/etc/passwd", "loop": "loop", "sub": "b/../../x"})
	commit, _ = mustSync(t, c, repo)
	snap = snapshot(t, c, repo, commit)
	for name, want := range map[string]string{
		"escape": "outside the repository", "abs": "outside the repository",
		"sub": "outside the repository", "loop": "too many levels",
	} {
		_, err := fs.ReadFile(snap, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadFile(%s) = %v, want an error about %q", name, err, want)
		}
	}
}

func TestNewCacheErrors(t *testing.T) {
	if _, err := NewCache("", Options{}); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Fatalf("NewCache(\"\") = %v, want invalid", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCache(filepath.Join(file, "sub"), Options{}); err == nil {
		t.Fatal("NewCache under a file succeeded")
	}
	c := newCache(t, Options{})
	_, _, err := c.Sync(context.Background(), Repo{URL: "ftp://example.com/x.git"})
	wantCode(t, err, greenroom.CodeInvalid, "not supported")
	_, err = c.Snapshot(context.Background(), Repo{URL: "https://h/x.git", Auth: Auth{Token: config.Secret("t"), SSHKey: "k"}}, strings.Repeat("a", 40))
	wantCode(t, err, greenroom.CodeInvalid, "ssh key")
}

// A server with reachability bitmaps treats our shallow commit as if we had
// its whole history: a revert to an older tree then arrives without the
// objects of that tree. Sync notices and starts from a fresh shallow clone.
func TestSyncRecoversFromIncompleteFetch(t *testing.T) {
	srv := gittest.NewServer(t)
	url := srv.CreateRepo("revert")
	srv.Commit("revert", "main", map[string]string{"catalog-info.yaml": "version one\n"}, "A")
	srv.Commit("revert", "main", map[string]string{"catalog-info.yaml": "version two\n"}, "B")
	var logs bytes.Buffer
	c := newCache(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	repo := Repo{URL: url}
	mustSync(t, c, repo)

	tip := srv.Commit("revert", "main", map[string]string{"catalog-info.yaml": "version one\n"}, "C reverts B")
	srv.Git(srv.RepoDir("revert"), "repack", "-a", "-d", "--write-bitmap-index", "--quiet")
	commit, changed := mustSync(t, c, repo)
	if commit != tip || !changed {
		t.Fatalf("Sync = %s, %v; want %s, true", commit, changed, tip)
	}
	if !strings.Contains(logs.String(), "git cache recloned") || !strings.Contains(logs.String(), "incomplete") {
		t.Fatalf("no reclone logged for the incomplete fetch:\n%s", logs.String())
	}
	snap := snapshot(t, c, repo, commit)
	if got, err := fs.ReadFile(snap, "catalog-info.yaml"); err != nil || string(got) != "version one\n" {
		t.Fatalf("after recovery: %q, %v", got, err)
	}
	if n := objects(t, c, repo, plumbing.CommitObject); n != 1 {
		t.Fatalf("the fresh clone holds %d commits, want 1", n)
	}
}

// A force push to an unrelated, large history would bring all of it in an
// incremental fetch; past the budget (the size of the clone) Sync takes a
// fresh shallow clone of the new tip instead.
func TestSyncForcePushUnrelatedHistory(t *testing.T) {
	srv := gittest.NewServer(t)
	url := srv.CreateRepo("rewrite")
	srv.Commit("rewrite", "main", map[string]string{"catalog-info.yaml": "old\n"}, "old")
	var logs bytes.Buffer
	c := newCache(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	repo := Repo{URL: url}
	mustSync(t, c, repo)

	wt := filepath.Join(t.TempDir(), "rewrite")
	srv.Git("", "init", "--quiet", "--initial-branch=main", wt)
	for i := range 6 {
		if err := os.WriteFile(filepath.Join(wt, "data.txt"), []byte(noise(i, 400_000)), 0o644); err != nil {
			t.Fatal(err)
		}
		srv.Git(wt, "add", "data.txt")
		srv.Git(wt, "commit", "--quiet", "-m", fmt.Sprint("history ", i))
	}
	srv.Git(wt, "push", "--quiet", "--force", srv.RepoDir("rewrite"), "HEAD:main")
	tip := strings.TrimSpace(srv.Git(wt, "rev-parse", "HEAD"))

	commit, changed := mustSync(t, c, repo)
	if commit != tip || !changed {
		t.Fatalf("Sync = %s, %v; want %s, true", commit, changed, tip)
	}
	if !strings.Contains(logs.String(), "git cache recloned") {
		t.Fatalf("no reclone logged for the oversized incremental fetch:\n%s", logs.String())
	}
	if n := objects(t, c, repo, plumbing.CommitObject); n != 1 {
		t.Fatalf("the cache holds %d commits, want 1 (only the new tip)", n)
	}
}

// noise returns n bytes of poorly compressible text, different per seed.
func noise(seed, n int) string {
	var b strings.Builder
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%016x\n", x)
	}
	return b.String()
}
