package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"

	"greenroom/internal/feishu"
	feishuapi "greenroom/internal/integration/feishu"
	"greenroom/internal/integration/feishu/feishufake"
)

const feishuSamples = "../integration/feishu/feishufake/testdata/public"

func feishuFake(t *testing.T) (*feishufake.Server, []feishu.Dump) {
	t.Helper()
	fake := feishufake.New()
	t.Cleanup(fake.Close)
	fake.BlockPageSize = 10
	dumps, err := feishufake.LoadDumps(feishuSamples)
	if err != nil || len(dumps) < 3 {
		t.Fatalf("samples: %v", err)
	}
	fake.AddFolder("", "fld", "Handbook")
	for _, d := range dumps {
		fake.AddDocument("fld", d)
	}
	return fake, dumps
}

func emptyConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app-config.yaml")
	if err := os.WriteFile(p, []byte("app:\n  title: t\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFeishuConvertCommand(t *testing.T) {
	fake, dumps := feishuFake(t)
	fake.Inject(feishufake.Fault429)
	cfg := emptyConfig(t)
	conv, _ := feishu.NewConverter(feishu.DefaultConversion(), nil)
	want, _ := conv.Convert(context.Background(), dumps[0].Blocks)
	args := []string{"-c", cfg, "feishu", "convert", dumps[0].Document.DocumentID, "--base-url", fake.URL,
		"--app-id", feishufake.AppID, "--app-secret", feishufake.AppSecret, "--images", "link"}

	code, stdout, stderr := runMain(t, args...)
	if code != 0 || stdout != want.Markdown {
		t.Fatalf("convert: exit %d, stderr %s, stdout differs: %v", code, stderr, stdout != want.Markdown)
	}
	for _, line := range fake.Log() {
		if strings.Contains(line, "/medias/") || strings.Contains(line, "/contact/") {
			t.Errorf("--images link fetched %s", line)
		}
	}
	out := filepath.Join(t.TempDir(), "doc.md")
	if code, _, stderr := runMain(t, append(args, "--out", out)...); code != 0 {
		t.Fatalf("convert --out: %d %s", code, stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != want.Markdown {
		t.Error("--out file differs from the conversion")
	}
	if code, _, stderr := runMain(t, "-c", cfg, "feishu", "convert", "nope", "--base-url", fake.URL, "--app-id", feishufake.AppID,
		"--app-secret", feishufake.AppSecret); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("missing document: exit %d, %s", code, stderr)
	}
	if code, _, _ := runMain(t, "-c", cfg, "feishu", "convert", "x", "--images", "inline", "--base-url", fake.URL,
		"--app-id", "a", "--app-secret", "b"); code != 2 {
		t.Errorf("--images inline: exit %d, want 2", code)
	}
}

func TestFeishuMigrateCommands(t *testing.T) {
	fake, dumps := feishuFake(t)
	cfg := emptyConfig(t)
	target := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "data")
	conn := []string{"--base-url", fake.URL, "--app-id", feishufake.AppID, "--app-secret", feishufake.AppSecret}

	code, stdout, stderr := runMain(t, append([]string{"-c", cfg, "feishu", "migrate", "--folder", "fld", "--service", "component:default/pay",
		"--target", target, "--data-dir", dataDir, "-o", "json"}, conn...)...)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var m feishu.Migration
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	if m.Report.SuccessCount != len(dumps) {
		t.Fatalf("report: %+v", m.Report)
	}
	if _, err := os.Stat(filepath.Join(target, "mkdocs.yml")); err != nil {
		t.Errorf("mkdocs.yml not created: %v", err)
	}
	code, stdout, _ = runMain(t, "-c", cfg, "feishu", "migrations", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(stdout, m.ID) {
		t.Errorf("migrations: %d %s", code, stdout)
	}
	// Link mode writes image tokens: validation reports them, exit 1.
	code, stdout, _ = runMain(t, "-c", cfg, "feishu", "validate", m.ID, "--data-dir", dataDir)
	if code != 1 || !regexp.MustCompile(`\.md:\d+: link "boxcn`).MatchString(stdout) {
		t.Errorf("validate: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runMain(t, "-c", cfg, "feishu", "rollback", m.ID, "--data-dir", dataDir)
	if code != 0 || !strings.Contains(stdout, "rolled_back") {
		t.Errorf("rollback: %d %s", code, stdout)
	}
	entries, _ := os.ReadDir(target)
	if len(entries) != 0 {
		t.Errorf("target not empty after rollback: %v", entries)
	}
	if code, _, stderr := runMain(t, "-c", cfg, "feishu", "report", "fm-nope", "--data-dir", dataDir); code != 1 || !strings.Contains(stderr, "no Feishu migration") {
		t.Errorf("report of an unknown id: %d %s", code, stderr)
	}
	if code, _, _ := runMain(t, append([]string{"-c", cfg, "feishu", "migrate", "--service", "component:default/pay", "--target", target,
		"--data-dir", dataDir}, conn...)...); code != 2 {
		t.Errorf("migrate without a source: exit %d, want 2", code)
	}
}

func TestGitPublisher(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _ = wt.Add("README.md")
	sig := &object.Signature{Name: "t", Email: "t@x", When: time.Now()}
	if _, err := wt.Commit("init", &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "docs/feishu"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "docs/feishu/a.md"), []byte("# a\n"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "untracked.txt"), []byte("x"), 0o644)
	h, err := feishuapi.GitPublisher{}.Publish(context.Background(), dir, "feishu/migration", "docs: migrate", []string{"docs/feishu/a.md"})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := repo.Head()
	if head.Name().Short() != "feishu/migration" || head.Hash().String() != h {
		t.Errorf("HEAD = %s %s, want the new branch at %s", head.Name(), head.Hash(), h)
	}
	c, _ := repo.CommitObject(head.Hash())
	files, _ := c.Files()
	var names []string
	_ = files.ForEach(func(f *object.File) error { names = append(names, f.Name); return nil })
	if strings.Join(names, ",") != "README.md,docs/feishu/a.md" {
		t.Errorf("commit holds %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "untracked.txt")); err != nil {
		t.Error("an untracked file was lost")
	}
	if _, err := (feishuapi.GitPublisher{}).Publish(context.Background(), dir, "feishu/migration", "again", nil); err == nil {
		t.Error("publishing to an existing branch succeeded")
	}
}

func TestGitPublisherPullRequest(t *testing.T) {
	dir, bare := t.TempDir(), t.TempDir()
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	_ = os.WriteFile(filepath.Join(dir, "README.md"), []byte("# r\n"), 0o644)
	_, _ = wt.Add("README.md")
	if _, err := wt.Commit("init", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@x", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/repos/acme/pay/pulls" || r.Header.Get("Authorization") != "Bearer ghp_test" {
			http.Error(w, `{"message":"bad request"}`, http.StatusBadRequest)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"html_url":"https://github.com/acme/pay/pull/7"}`))
	}))
	defer api.Close()
	pub := feishuapi.GitPublisher{GitHub: func(host string) (string, string, bool) { return api.URL, "ghp_test", true }}
	_ = os.MkdirAll(filepath.Join(dir, "docs"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "docs/a.md"), []byte("# a\n"), 0o644)
	ctx := context.Background()
	if _, err := pub.Publish(ctx, dir, "feishu/m1", "docs: migrate", []string{"docs/a.md"}); err != nil {
		t.Fatal(err)
	}
	u, err := pub.PullRequest(ctx, dir, "acme/pay", "feishu/m1", "master", "docs: migrate", "body")
	if err != nil || u != "https://github.com/acme/pay/pull/7" {
		t.Fatalf("PullRequest = %q, %v", u, err)
	}
	if got["head"] != "feishu/m1" || got["base"] != "master" || got["title"] != "docs: migrate" {
		t.Errorf("pull request body = %v", got)
	}
	remote, _ := git.PlainOpen(bare)
	if _, err := remote.Reference("refs/heads/feishu/m1", false); err != nil {
		t.Errorf("branch not pushed: %v", err)
	}
	if _, err := pub.PullRequest(ctx, dir, "", "feishu/m1", "master", "t", "b"); err == nil {
		t.Error("a pull request without a repository name succeeded")
	}
}
