package gitsource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

// writeTree creates files (slash paths → content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		full := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDirSource(t *testing.T) {
	root := writeTree(t, map[string]string{
		"catalog-info.yaml":                         "root",
		"services/a/catalog-info.yaml":              "a",
		"services/b/catalog-info.yaml":              "b",
		"services/b/nested/catalog-info.yaml":       "nested",
		"node_modules/dep/catalog-info.yaml":        "dep",
		"services/a/node_modules/catalog-info.yaml": "dep",
		".git/catalog-info.yaml":                    "git",
		".backstage/catalog-info.yaml":              "hidden",
		"docs/readme.md":                            "docs",
	})
	outside := writeTree(t, map[string]string{"catalog-info.yaml": "outside", "d/catalog-info.yaml": "outside"})
	if err := os.Symlink(filepath.Join(outside, "catalog-info.yaml"), filepath.Join(root, "services", "linked.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "d"), filepath.Join(root, "services", "linkdir")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		pattern string
		want    []string
	}{
		{"/catalog-info.yaml", []string{"catalog-info.yaml"}},
		{"/**/catalog-info.yaml", []string{"catalog-info.yaml", "services/a/catalog-info.yaml", "services/b/catalog-info.yaml", "services/b/nested/catalog-info.yaml"}},
		{"/services/*/catalog-info.yaml", []string{"services/a/catalog-info.yaml", "services/b/catalog-info.yaml"}},
		{"/.backstage/catalog-info.yaml", []string{".backstage/catalog-info.yaml"}},
		{"/node_modules/*/catalog-info.yaml", nil}, // never entered, even when named
		{"/services/*.yaml", nil},                  // a symlink, not followed
		{"/nothing/here.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			d, err := NewDirSource(root, tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Files(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Files (-want +got):\n%s", diff)
			}
			for _, f := range got {
				if _, err := d.ReadFile(f); err != nil {
					t.Errorf("ReadFile(%s): %v", f, err)
				}
			}
		})
	}

	d, err := NewDirSource(root, "/**/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.ReadFile("services/b/nested/catalog-info.yaml"); err != nil || string(got) != "nested" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	for _, bad := range []string{"../" + filepath.Base(outside) + "/catalog-info.yaml", "/etc/passwd", "services/linked.yaml", "services/linkdir/catalog-info.yaml", "services"} {
		if _, err := d.ReadFile(bad); err == nil {
			t.Errorf("ReadFile(%q) succeeded; reads must stay inside the root and off links", bad)
		}
	}
}

func TestDirSourceLimits(t *testing.T) {
	files := map[string]string{"big/catalog-info.yaml": strings.Repeat("x", 2048)}
	for i := range 5 {
		files[filepath.ToSlash(filepath.Join("many", string(rune('a'+i)), "catalog-info.yaml"))] = "x"
	}
	files[strings.Repeat("deep/", 40)+"catalog-info.yaml"] = "x"
	root := writeTree(t, files)

	d, err := NewDirSource(root, "/**/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Files(context.Background())
	wantCode(t, err, greenroom.CodeTooLarge, "more than 32 directories deep", root)

	d.MaxDepth = 64
	d.MaxFiles = 3
	_, err = d.Files(context.Background())
	wantCode(t, err, greenroom.CodeTooLarge, "more than 3 matching files")

	d.MaxFiles = 100
	d.MaxFileBytes = 1024
	_, err = d.ReadFile("big/catalog-info.yaml")
	wantCode(t, err, greenroom.CodeTooLarge, "big/catalog-info.yaml", "2048 bytes, over the limit of 1024 bytes")
	got, err := d.Files(context.Background())
	if err != nil || len(got) != 7 {
		t.Fatalf("Files = %v, %v; want 7 files", got, err)
	}
}

func TestNewDirSourceErrors(t *testing.T) {
	file := filepath.Join(writeTree(t, map[string]string{"f": "x"}), "f")
	tests := []struct {
		root, pattern, want string
	}{
		{filepath.Join(t.TempDir(), "missing"), "/catalog-info.yaml", "cannot be read"},
		{file, "/catalog-info.yaml", "is not a directory"},
		{t.TempDir(), "!x", "negated"},
	}
	for _, tt := range tests {
		_, err := NewDirSource(tt.root, tt.pattern)
		wantCode(t, err, greenroom.CodeInvalid, tt.want)
	}
}
