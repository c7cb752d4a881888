package techdocs

import (
	"bytes"
	"cmp"
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// readTree reads every entry under dir: regular files with their content,
// directories as "dir", anything else as "other".
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[filepath.ToSlash(rel)] = "dir"
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = string(data)
		default:
			out[filepath.ToSlash(rel)] = "other"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRebuildInPlace checks that a build into the directory of a previous
// build leaves it exactly as a build into an empty directory does, while
// the files whose content did not change are not written again.
func TestRebuildInPlace(t *testing.T) {
	base := map[string]string{
		"mkdocs.yml":       "site_name: T\n",
		"docs/index.md":    "# Home\n\n[A](a.md)\n",
		"docs/a.md":        "# A\n\nText.\n",
		"docs/old/b.md":    "# B\n",
		"docs/img/x.png":   "PNG1",
		"docs/img/y.png":   "same",
		"docs/gone/g.txt":  "g",
		"docs/keep/k.txt":  "k",
		"docs/empty/e.txt": "e",
	}
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		edit   map[string]string // new content, "" removes the file
		before func(t *testing.T, out string)
		// unchanged are outputs that must not be rewritten
		unchanged []string
	}{
		{name: "nothing changed", unchanged: []string{"a/index.html", "img/y.png", "img/x.png", "keep/k.txt"}},
		{name: "page and asset changed", edit: map[string]string{"docs/a.md": "# A\n\nOther text.\n", "docs/img/x.png": "PNG2"},
			unchanged: []string{"img/y.png", "old/b/index.html", "keep/k.txt"}},
		{name: "asset of the same size changed", edit: map[string]string{"docs/img/x.png": "PNG9"}, unchanged: []string{"img/y.png"}},
		{name: "files and directories removed", edit: map[string]string{"docs/old/b.md": "", "docs/gone/g.txt": ""}, unchanged: []string{"img/y.png"}},
		{name: "file became a directory", edit: map[string]string{"docs/keep/k.txt": "", "docs/keep/k.txt/z.md": "# Z\n"}},
		{name: "stray files, links and directories in the output", before: func(t *testing.T, out string) {
			for _, p := range []string{"stray.html", "deep/er/x.txt"} {
				os.MkdirAll(filepath.Join(out, filepath.Dir(p)), 0o755)
				os.WriteFile(filepath.Join(out, p), []byte("stray"), 0o644)
			}
			// A link where the build writes must be replaced, not written through.
			os.Remove(filepath.Join(out, "a", "index.html"))
			if err := os.Symlink(outside, filepath.Join(out, "a", "index.html")); err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(filepath.Join(out, "img"))
			os.WriteFile(filepath.Join(out, "img"), []byte("file where a directory goes"), 0o644)
		}, unchanged: []string{"keep/k.txt"}},
	}
	now := func() time.Time { return time.UnixMilli(1700000000000) }
	tests = append(tests, struct {
		name      string
		edit      map[string]string
		before    func(t *testing.T, out string)
		unchanged []string
	}{name: "output directory is a link", edit: map[string]string{"docs/old/b.md": ""}, unchanged: []string{"img/y.png"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := project(t, base)
			out := filepath.Join(t.TempDir(), "site")
			if _, err := Build(context.Background(), src, out, Options{Now: now}); err != nil {
				t.Fatal(err)
			}
			if tt.name == "output directory is a link" {
				link := filepath.Join(t.TempDir(), "link")
				if err := os.Symlink(out, link); err != nil {
					t.Fatal(err)
				}
				out = link
			}
			// Removals first: an edit may remove a file and write beneath
			// its name (a file that became a directory), and a map's order
			// is random.
			paths := slices.Sorted(maps.Keys(tt.edit))
			slices.SortStableFunc(paths, func(a, b string) int {
				return cmp.Compare(min(len(tt.edit[a]), 1), min(len(tt.edit[b]), 1))
			})
			for _, p := range paths {
				c := tt.edit[p]
				full := filepath.Join(src, filepath.FromSlash(p))
				if c == "" {
					os.Remove(full)
					continue
				}
				os.MkdirAll(filepath.Dir(full), 0o755)
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.before != nil {
				tt.before(t, out)
			}
			stat := map[string]os.FileInfo{}
			for _, p := range tt.unchanged {
				st, err := os.Stat(filepath.Join(out, filepath.FromSlash(p)))
				if err != nil {
					t.Fatal(err)
				}
				stat[p] = st
			}
			res, err := Build(context.Background(), src, out, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			fresh := filepath.Join(t.TempDir(), "fresh")
			resFresh, err := Build(context.Background(), src, fresh, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got, want := readTree(t, out), readTree(t, fresh)
			if !maps.Equal(got, want) {
				keys := slices.Sorted(maps.Keys(got))
				wkeys := slices.Sorted(maps.Keys(want))
				t.Errorf("rebuilt tree differs from a fresh build:\n got %q\nwant %q", keys, wkeys)
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s differs", k)
					}
				}
			}
			if !slices.Equal(res.Files, resFresh.Files) {
				t.Errorf("files %q, fresh build %q", res.Files, resFresh.Files)
			}
			if data, _ := os.ReadFile(outside); !bytes.Equal(data, []byte("not ours")) {
				t.Errorf("the build wrote through a link: %q", data)
			}
			for p, was := range stat {
				st, err := os.Stat(filepath.Join(out, filepath.FromSlash(p)))
				if err != nil {
					t.Fatal(err)
				}
				if !os.SameFile(st, was) || !st.ModTime().Equal(was.ModTime()) {
					t.Errorf("%s was written again though its content did not change", p)
				}
			}
		})
	}
}
