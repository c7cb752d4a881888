package techdocs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSiteRebuild(t *testing.T) {
	ctx := context.Background()
	src := project(t, map[string]string{
		"mkdocs.yml":    "site_name: Inc\n",
		"docs/index.md": "# Home\n\nSee [b](b.md#part).\n",
		"docs/b.md":     "# B\n\n## Part\n\nold text\n",
		"docs/c.md":     "# C\n",
	})
	out := filepath.Join(t.TempDir(), "site")
	s := NewSite(src, out, Options{})
	if _, err := s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	write := func(p, c string) {
		t.Helper()
		time.Sleep(5 * time.Millisecond) // a new modification time
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Same headings, new text: only b is rebuilt.
	write("docs/b.md", "# B\n\n## Part\n\nnew text with a [broken](nope.md) link\n")
	res, rebuilt, err := s.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rebuilt, ",") != "b.md" {
		t.Fatalf("rebuilt %v, want only b.md", rebuilt)
	}
	if got := content(t, out, "b/index.html"); !strings.Contains(got, "new text") {
		t.Errorf("b not rewritten: %s", got)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].File != "docs/b.md" || res.Warnings[0].Line != 5 {
		t.Errorf("warnings = %v", res.Warnings)
	}
	// The incremental page equals a whole build's.
	full := filepath.Join(t.TempDir(), "full")
	if _, err := Build(ctx, src, full, Options{}); err != nil {
		t.Fatal(err)
	}
	if a, b := content(t, out, "b/index.html"), content(t, full, "b/index.html"); a != b {
		t.Errorf("incremental page differs from a whole build:\n%s\n---\n%s", a, b)
	}
	idx, _ := os.ReadFile(filepath.Join(out, "search", "search_index.json"))
	if !strings.Contains(string(idx), "new text") {
		t.Errorf("search index not updated")
	}
	// Nothing changed: nothing rebuilt.
	if _, rebuilt, _ := s.Rebuild(ctx); len(rebuilt) != 0 || rebuilt == nil {
		t.Errorf("no change: rebuilt %v", rebuilt)
	}
	// A heading changes anchors: the whole site is rebuilt.
	write("docs/b.md", "# B\n\n## Renamed\n")
	res, rebuilt, err = s.Rebuild(ctx)
	if err != nil || rebuilt != nil {
		t.Fatalf("heading change: rebuilt %v, err %v; want a whole build", rebuilt, err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, "no anchor #part") {
		t.Errorf("warnings after the heading change = %v", res.Warnings)
	}
	// A new file: whole build.
	write("docs/d.md", "# D\n")
	if _, rebuilt, err := s.Rebuild(ctx); err != nil || rebuilt != nil {
		t.Errorf("new file: rebuilt %v, err %v", rebuilt, err)
	}
	if _, err := os.Stat(filepath.Join(out, "d", "index.html")); err != nil {
		t.Error(err)
	}
}

// TestSiteRebuildSnippet: a change to a snippet file (outside the docs
// directory) rebuilds the site, so pages including it are current; an
// unrelated rebuild leaves it alone.
func TestSiteRebuildSnippet(t *testing.T) {
	ctx := context.Background()
	src := project(t, map[string]string{
		"mkdocs.yml":          "site_name: Inc\nmarkdown_extensions:\n  - pymdownx.snippets:\n      base_path: snippets\n",
		"docs/index.md":       "# Home\n\n--8<-- \"part.md\"\n",
		"docs/other.md":       "# Other\n",
		"snippets/part.md":    "first version\n",
		"snippets/unused.txt": "x\n",
	})
	out := filepath.Join(t.TempDir(), "site")
	s := NewSite(src, out, Options{})
	if _, err := s.Build(ctx); err != nil {
		t.Fatal(err)
	}
	if _, rebuilt, err := s.Rebuild(ctx); err != nil || rebuilt == nil || len(rebuilt) != 0 {
		t.Fatalf("nothing changed: rebuilt %v, %v", rebuilt, err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(src, "snippets", "part.md"), []byte("second version\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, rebuilt, err := s.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt != nil {
		t.Errorf("rebuilt only %v after a snippet changed, want the whole site", rebuilt)
	}
	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil || !strings.Contains(string(page), "second version") {
		t.Errorf("page not rebuilt with the new snippet: %v", err)
	}
}
