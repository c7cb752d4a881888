package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/internal/config"
	"greenroom/internal/integration/github"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/integration/gitsource/gittest"
	"greenroom/internal/store/storetest"
	"greenroom/internal/techdocs"
)

func TestDocsRepo(t *testing.T) {
	tests := []struct{ in, repo, branch, dir string }{
		{"https://github.com/acme/pay/tree/main/", "https://github.com/acme/pay", "main", ""},
		{"https://github.com/acme/pay/tree/main/services/docs/", "https://github.com/acme/pay", "main", "services/docs"},
		{"https://github.com/acme/pay/blob/main/catalog-info.yaml", "https://github.com/acme/pay", "main", ""},
		{"https://gitlab.com/g/sub/r/-/tree/dev/docs", "https://gitlab.com/g/sub/r", "dev", "docs"},
		{"https://git.acme.dev/team/repo.git", "https://git.acme.dev/team/repo.git", "", ""},
		{"https://github.com/acme/pay/tree/main/../../../etc", "https://github.com/acme/pay", "main", "etc"},
	}
	for _, tt := range tests {
		repo, dir, err := docsRepo(tt.in)
		if err != nil || repo.URL != tt.repo || repo.Branch != tt.branch || dir != tt.dir {
			t.Errorf("docsRepo(%q) = %q %q %q, %v; want %q %q %q", tt.in, repo.URL, repo.Branch, dir, err, tt.repo, tt.branch, tt.dir)
		}
	}
	if _, _, err := docsRepo("ftp://x/y"); err == nil {
		t.Error("ftp URL accepted")
	}
}

// TestGitDocsSource builds docs from a directory of a real git repository
// served over HTTP, and rebuilds after a push that changes only the docs.
func TestGitDocsSource(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo("acme/pay")
	srv.Commit("acme/pay", "main", map[string]string{
		"catalog-info.yaml":       "x",
		"docs-site/mkdocs.yml":    "site_name: Pay\n",
		"docs-site/docs/index.md": "# Pay\n\nfirst\n",
	}, "docs")
	tmp := t.TempDir()
	f, err := newGitDocsFetcher(&config.Config{}, filepath.Join(tmp, "cache"), tmp, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	pub := &techdocs.LocalPublisher{Dir: t.TempDir()}
	svc := techdocs.NewService(techdocs.ServiceOptions{Publisher: pub, Status: storetest.SQLite(t), Fetcher: f, URLRecheck: time.Nanosecond})
	e := techdocs.EntityDocs{Name: techdocs.EntityName{Namespace: "default", Kind: "component", Name: "pay"}, ETag: "e1",
		Annotations: map[string]string{techdocs.AnnotationRef: "dir:./docs-site",
			techdocs.AnnotationLocation: "url:" + srv.URL + "/acme/pay.git/blob/main/catalog-info.yaml"}}
	ctx := context.Background()
	if updated, err := svc.Sync(ctx, e, false, nil); err != nil || !updated {
		t.Fatalf("first sync: %v, %v", updated, err)
	}
	read := func() string {
		rc, _, err := pub.Open(ctx, e.Name, "index.html")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b := new(strings.Builder)
		buf := make([]byte, 1<<16)
		for {
			n, err := rc.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}
	if !strings.Contains(read(), "first") {
		t.Fatal("first version not published")
	}
	if svc.Stale(ctx, e) {
		t.Error("stale right after the build")
	}
	srv.Commit("acme/pay", "main", map[string]string{"docs-site/docs/index.md": "# Pay\n\nsecond\n"}, "edit docs")
	if !svc.Stale(ctx, e) {
		t.Fatal("a docs-only push is not seen as a change")
	}
	if updated, err := svc.Sync(ctx, e, false, nil); err != nil || !updated {
		t.Fatalf("second sync: %v, %v", updated, err)
	}
	if !strings.Contains(read(), "second") {
		t.Error("second version not published")
	}
	entries, _ := os.ReadDir(tmp)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "docs-src-") {
			t.Errorf("fetched source %s left behind", en.Name())
		}
	}
}

// TestGitDocsSourceGitHubApp fetches a url: docs source from a host whose
// integration has a GitHub App: the clone's password is the token of the
// App's installation on the repository's owner, which the fake GitHub
// mints for the App's JWT (the git server accepts only that token), and
// the token is reused, not minted again, by the next fetch. An owner the
// App is not installed on fails with the reason.
func TestGitDocsSourceGitHubApp(t *testing.T) {
	fake := githubfake.New(t, githubfake.Config{Enterprise: true})
	fake.AddOrg("acme")
	fake.AddOrg("other")
	fake.InstallApp("acme")
	srv := gittest.NewServer(t, gittest.WithBasicAuthFunc(func(user, password string) bool {
		return user == github.GitUser && fake.InstallationTokenValid("acme", password)
	}))
	srv.CreateRepo("acme/pay")
	srv.Commit("acme/pay", "main", map[string]string{"docs/mkdocs.yml": "site_name: Pay\n", "docs/docs/index.md": "# Pay\n\nvia the app\n"}, "docs")
	srv.CreateRepo("other/x")
	srv.Commit("other/x", "main", map[string]string{"mkdocs.yml": "site_name: X\n", "docs/index.md": "# X\n"}, "docs")
	host := strings.TrimPrefix(srv.URL, "http://")
	cfg := &config.Config{Integrations: config.Integrations{GitHub: []config.GitHubIntegration{{
		Host: host, APIBaseURL: fake.APIBaseURL(),
		Apps: []config.GitHubApp{{AppID: fake.AppID(), PrivateKey: config.Secret(fake.AppPrivateKeyPEM())}},
	}}}}
	tmp := t.TempDir()
	f, err := newGitDocsFetcher(cfg, filepath.Join(tmp, "cache"), tmp, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir, etag, cleanup, err := f.Fetch(ctx, srv.URL+"/acme/pay/tree/main/docs")
	if err != nil {
		t.Fatalf("fetch with the app's installation token: %v", err)
	}
	defer cleanup()
	if b, err := os.ReadFile(filepath.Join(dir, "docs", "index.md")); err != nil || !strings.Contains(string(b), "via the app") {
		t.Fatalf("fetched docs: %q, %v", b, err)
	}
	if etag == "" {
		t.Error("no etag")
	}
	minted := fake.Stats().ByRoute["POST /app/installations/{id}/access_tokens"]
	if minted != 1 {
		t.Errorf("%d installation tokens minted, want 1", minted)
	}
	if _, err := f.ETag(ctx, srv.URL+"/acme/pay/tree/main/docs"); err != nil {
		t.Fatalf("etag: %v", err)
	}
	if n := fake.Stats().ByRoute["POST /app/installations/{id}/access_tokens"]; n != minted {
		t.Errorf("token minted again (%d): not cached", n)
	}
	if _, _, _, err := f.Fetch(ctx, srv.URL+"/other/x/tree/main/"); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("fetch for an owner without the app: %v, want 'not installed'", err)
	}
}
