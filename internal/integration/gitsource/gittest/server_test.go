package gittest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerCloneAndPushWithGitCLI(t *testing.T) {
	s := NewServer(t)
	url := s.CreateRepo("team/app")
	first := s.Commit("team/app", "main", map[string]string{"catalog-info.yaml": "a: 1\n", "docs/x.md": "x"}, "first")
	if len(first) != 40 {
		t.Fatalf("Commit returned %q, want a full hash", first)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	s.Git("", "clone", "--quiet", url, clone)
	got, err := os.ReadFile(filepath.Join(clone, "catalog-info.yaml"))
	if err != nil || string(got) != "a: 1\n" {
		t.Fatalf("cloned catalog-info.yaml = %q, %v", got, err)
	}

	// A push over HTTP (receive-pack), then Commit builds on top of it.
	if err := os.WriteFile(filepath.Join(clone, "pushed.txt"), []byte("p"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Git(clone, "add", "pushed.txt")
	s.Git(clone, "commit", "--quiet", "-m", "pushed over http")
	s.Git(clone, "push", "--quiet", "origin", "HEAD:main")
	third := s.Commit("team/app", "main", map[string]string{"more.txt": "m"}, "third")
	log := s.Git(s.RepoDir("team/app"), "log", "--format=%s", "main")
	if want := "third\npushed over http\nfirst\n"; log != want {
		t.Fatalf("log = %q, want %q", log, want)
	}

	del := s.Delete("team/app", "main", "docs")
	files := s.Git(s.RepoDir("team/app"), "ls-tree", "-r", "--name-only", del)
	if strings.Contains(files, "docs/") || !strings.Contains(files, "more.txt") {
		t.Fatalf("after Delete the tree is %q", files)
	}
	if parent := strings.TrimSpace(s.Git(s.RepoDir("team/app"), "rev-parse", del+"^")); parent != third {
		t.Fatalf("Delete's parent = %s, want %s", parent, third)
	}

	other := s.Commit("team/app", "feature/x", map[string]string{"f.txt": "f"}, "orphan branch")
	if n := strings.TrimSpace(s.Git(s.RepoDir("team/app"), "rev-list", "--count", other)); n != "1" {
		t.Fatalf("new branch has %s commits, want 1 (an orphan)", n)
	}
	if s.Requests() == 0 {
		t.Fatal("Requests() = 0 after an HTTP clone and push")
	}
}

func TestServerBasicAuth(t *testing.T) {
	s := NewServer(t, WithBasicAuth("x-access-token", "s3cret"))
	url := s.CreateRepo("private")
	s.Commit("private", "main", map[string]string{"a": "a"}, "a")

	resp, err := http.Get(url + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("without credentials: %d %q, want 401 with a Basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	req, _ := http.NewRequest(http.MethodGet, url+"/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("x-access-token", "wrong")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
	}

	req.SetBasicAuth("x-access-token", "s3cret")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-git-upload-pack-advertisement" {
		t.Fatalf("with credentials: %d %q, want 200 and a ref advertisement", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
