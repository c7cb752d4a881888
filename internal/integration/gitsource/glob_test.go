package gitsource

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

// TestPatternMatchesMinimatch replays testdata/minimatch.json: real
// minimatch's answers (the library behind Backstage's catalogPath search)
// for every pattern × path pair.
func TestPatternMatchesMinimatch(t *testing.T) {
	raw, err := os.ReadFile("testdata/minimatch.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Generator string
		Cases     []struct {
			Pattern string
			Path    string
			Match   bool
		}
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) < 500 {
		t.Fatalf("only %d cases in testdata/minimatch.json", len(golden.Cases))
	}
	patterns := map[string]*Pattern{}
	matched := 0
	for _, c := range golden.Cases {
		p, ok := patterns[c.Pattern]
		if !ok {
			if p, err = ParsePattern(c.Pattern); err != nil {
				t.Fatalf("ParsePattern(%q): %v", c.Pattern, err)
			}
			patterns[c.Pattern] = p
		}
		if got := p.Match(c.Path); got != c.Match {
			t.Errorf("%q matches %q = %v, %s says %v", c.Pattern, c.Path, got, golden.Generator, c.Match)
		}
		if c.Match {
			matched++
		}
	}
	if matched == 0 || matched == len(golden.Cases) {
		t.Fatalf("golden file is degenerate: %d of %d cases match", matched, len(golden.Cases))
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct {
		pattern string
		want    string
	}{
		{"", "empty pattern"},
		{"///", "empty pattern"},
		{"!catalog-info.yaml", "negated patterns"},
		{"#comment", "comment"},
		{"/services/", "must name files"},
		{"/a//b.yaml", "empty path segment"},
		{"/a/../b.yaml", `".." segments`},
		{"/+(a|b)/x.yaml", "extended glob"},
		{"/@(a)/x.yaml", "extended glob"},
		{"/[[:alpha:]]/x.yaml", "POSIX character classes"},
		{"/[abc/x.yaml", "unclosed ["},
		{`/a\`, "trailing backslash"},
		{"/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}/x", "more than 64 patterns"},
		{"/" + strings.Repeat("a", 1100), "longer than 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := ParsePattern(tt.pattern)
			if err == nil {
				t.Fatalf("ParsePattern(%q) = nil error, want one about %q", tt.pattern, tt.want)
			}
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePattern(%q) = %v (code %s), want invalid mentioning %q", tt.pattern, err, greenroom.ErrorCode(err), tt.want)
			}
			if !strings.Contains(err.Error(), "catalogPath") {
				t.Fatalf("error %q does not locate the problem in catalogPath", err)
			}
		})
	}
	// An escaped extglob opener is plain text.
	if _, err := ParsePattern(`/a\+(b)/x.yaml`); err != nil {
		t.Fatalf("escaped +( rejected: %v", err)
	}
}

// countingFS records which directories a walk reads.
type countingFS struct {
	fstest.MapFS
	read []string
}

func (c *countingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c.read = append(c.read, name)
	return c.MapFS.ReadDir(name)
}

func treeFS() fstest.MapFS {
	file := &fstest.MapFile{Data: []byte("x")}
	return fstest.MapFS{
		"catalog-info.yaml":                   file,
		"README.md":                           file,
		".github/catalog-info.yaml":           file,
		"services/a/catalog-info.yaml":        file,
		"services/b/catalog-info.yaml":        file,
		"services/b/deep/catalog-info.yaml":   file,
		"services/c/notes.txt":                file,
		"services/link":                       &fstest.MapFile{Data: []byte("a"), Mode: fs.ModeSymlink},
		"libs/x/y/z/catalog-info.yaml":        file,
		"node_modules/pkg/catalog-info.yaml":  file,
		"docs/catalog-info.yaml/readme.txt":   file, // a directory with the name: not a match
		"other/deeply/nested/tree/a/b/c/d.md": file,
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
		read    []string // directories the walk may read, in order
	}{
		{"/catalog-info.yaml", []string{"catalog-info.yaml"}, []string{"."}},
		{"catalog-info.yaml", []string{"catalog-info.yaml"}, []string{"."}},
		{"/services/*/catalog-info.yaml", []string{"services/a/catalog-info.yaml", "services/b/catalog-info.yaml"},
			[]string{".", "services", "services/a", "services/b", "services/c"}},
		{"/**/catalog-info.yaml", []string{
			"catalog-info.yaml", "libs/x/y/z/catalog-info.yaml", "node_modules/pkg/catalog-info.yaml",
			"services/a/catalog-info.yaml", "services/b/catalog-info.yaml", "services/b/deep/catalog-info.yaml",
		}, nil},
		{"/.github/catalog-info.yaml", []string{".github/catalog-info.yaml"}, []string{".", ".github"}},
		{"/services/*/missing.yaml", nil, nil},
		{"/nowhere/**/catalog-info.yaml", nil, []string{"."}},
		{"/libs/*/*/*/catalog-info.yaml", []string{"libs/x/y/z/catalog-info.yaml"}, []string{".", "libs", "libs/x", "libs/x/y", "libs/x/y/z"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			fsys := &countingFS{MapFS: treeFS()}
			got, err := Glob(fsys, tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Glob(%q) (-want +got):\n%s", tt.pattern, diff)
			}
			if tt.read != nil {
				if diff := cmp.Diff(tt.read, fsys.read); diff != "" {
					t.Errorf("directories read (-want +got):\n%s", diff)
				}
			}
			for _, d := range fsys.read {
				if strings.HasPrefix(d, ".github") && !strings.Contains(tt.pattern, ".github") {
					t.Errorf("walk entered %s, which ** must not", d)
				}
			}
		})
	}
}

func TestGlobLimits(t *testing.T) {
	p, err := ParsePattern("/**/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		opts GlobOptions
		want string
	}{
		{"matches", GlobOptions{MaxMatches: 2}, "more than 2 matching files"},
		{"entries", GlobOptions{MaxEntries: 5}, "more than 5 files and directories"},
		{"depth", GlobOptions{MaxDepth: 2}, "more than 2 directories deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Glob(ctx, treeFS(), tt.opts)
			if greenroom.ErrorCode(err) != greenroom.CodeTooLarge || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Glob = %v, want too_large error mentioning %q", err, tt.want)
			}
		})
	}
	got, err := p.Glob(ctx, treeFS(), GlobOptions{SkipDir: []string{"node_modules"}, MaxDepth: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if strings.HasPrefix(f, "node_modules/") {
			t.Errorf("SkipDir ignored: %s", f)
		}
	}
	if len(got) != 5 {
		t.Errorf("Glob with SkipDir = %v, want 5 files", got)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	big := fstest.MapFS{}
	for i := range 3000 {
		big[strings.Repeat("d/", i%5)+"f"+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = &fstest.MapFile{}
	}
	if _, err := p.Glob(cancelled, big, GlobOptions{}); err == nil {
		t.Fatal("Glob with a cancelled context succeeded")
	}
}
