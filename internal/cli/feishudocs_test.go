package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTechDocsValidator(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"mkdocs.yml":        "site_name: Svc\ndocs_dir: pages\n",
		"pages/index.md":    "# Home\n\nSee [the guide](guide.md#setup) and [gone](missing.md).\n",
		"pages/guide.md":    "# Guide\n\n## Setup\n\n![diagram](boxcnAbCdEf)\n",
		"pages/feishu/a.md": "# A\n\n[back](../index.md)\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages, warnings, err := techdocsValidator{}.Build(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range pages {
		paths = append(paths, p.Path)
		if p.Path == "guide.md" && !slices.Contains(p.Anchors, "setup") {
			t.Errorf("guide.md anchors %v lack setup", p.Anchors)
		}
	}
	slices.Sort(paths)
	if want := []string{"feishu/a.md", "guide.md", "index.md"}; !slices.Equal(paths, want) {
		t.Errorf("pages %v, want %v", paths, want)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"index.md:3: ", "missing.md", "guide.md:5: ", "boxcnAbCdEf"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "pages/") {
		t.Errorf("warnings not relative to docs_dir:\n%s", joined)
	}
}
