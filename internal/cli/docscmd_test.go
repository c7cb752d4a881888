package cli

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func docsProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDocsBuildCommand(t *testing.T) {
	src := docsProject(t, map[string]string{"mkdocs.yml": "site_name: CLI\n", "docs/index.md": "# Home\n\n[gone](gone.md)\n"})
	site := filepath.Join(t.TempDir(), "site")
	code, out, errOut := runCLI(t, "docs", "build", src, "--out", site)
	if code != 0 || !strings.Contains(out, "Built 1 pages") || !strings.Contains(errOut, "WARNING docs/index.md:3: link to \"gone.md\"") {
		t.Fatalf("build: %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(site, "techdocs_metadata.json")); err != nil {
		t.Error(err)
	}
	if code, _, _ := runCLI(t, "docs", "build", src, "--out", site, "--strict"); code != 1 {
		t.Errorf("--strict with a warning: exit %d, want 1", code)
	}
	bad := docsProject(t, map[string]string{"mkdocs.yml": "site_name: [x\n", "docs/index.md": "x"})
	if code, _, errOut := runCLI(t, "docs", "build", bad, "--out", t.TempDir()+"/s"); code != 1 || !strings.Contains(errOut, "mkdocs.yml:1") {
		t.Errorf("broken project: %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "docs", "build", src); code != 2 {
		t.Errorf("no --out: exit %d, want 2", code)
	}
}

func TestDocsPublishCommand(t *testing.T) {
	src := docsProject(t, map[string]string{"mkdocs.yml": "site_name: Pub\n", "docs/index.md": "# Home\n"})
	site := filepath.Join(t.TempDir(), "site")
	if code, _, errOut := runCLI(t, "docs", "build", src, "--out", site); code != 0 {
		t.Fatal(errOut)
	}
	store := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "app-config.yaml")
	os.WriteFile(cfg, []byte("techdocs:\n  builder: external\n  publisher:\n    type: local\n    local:\n      publishDirectory: "+store+"\n"), 0o644)
	code, out, errOut := runCLI(t, "--config", cfg, "docs", "publish", "--entity", "default/Component/pub", "--directory", site)
	if code != 0 || !strings.Contains(out, "default/component/pub/") {
		t.Fatalf("publish: %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(store, "default", "component", "pub", "index.html")); err != nil {
		t.Error(err)
	}
	if code, _, _ := runCLI(t, "--config", cfg, "docs", "publish", "--entity", "pub", "--directory", site); code != 2 {
		t.Errorf("bad --entity: exit %d, want 2", code)
	}
}

func TestDocsServeReloads(t *testing.T) {
	src := docsProject(t, map[string]string{"mkdocs.yml": "site_name: Live\n", "docs/index.md": "# Home\n\nfirst\n"})
	var out, errb bytes.Buffer
	p := newPreview(src, "", &out, &errb)
	defer p.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return b.String()
	}
	if body := get("/"); !strings.Contains(body, "first") || !strings.Contains(body, `<script src="/__greenroom/reload.js"></script>`) {
		t.Fatalf("index:\n%s", body)
	}
	resp, err := http.Get(srv.URL + "/__greenroom/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	readGen := func() string {
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "data: ") {
				return strings.TrimSpace(strings.TrimPrefix(line, "data: "))
			}
		}
	}
	first := readGen()
	go p.watch(ctx, 20*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	os.WriteFile(filepath.Join(src, "docs", "index.md"), []byte("# Home\n\nsecond\n"), 0o644)
	done := make(chan string, 1)
	go func() { done <- readGen() }()
	select {
	case gen := <-done:
		if gen == first {
			t.Errorf("generation did not change: %s", gen)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reload event after a change")
	}
	if body := get("/"); !strings.Contains(body, "second") {
		t.Errorf("not rebuilt:\n%s", body)
	}
}
