package techdocs

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

// htmlGoldenProjects are the projects whose rendered page content is
// compared with MkDocs' (testdata/golden/NAME.html.json, made by
// testdata/mkdocs_html_golden.py): pymdownx.tabbed in both styles,
// pymdownx.snippets and superfences' mermaid fence.
var htmlGoldenProjects = []string{"extensions", "tabbed-legacy"}

// htmlShape is the token stream of an HTML fragment with serialisation
// details removed: attributes sorted and unescaped, text unescaped with
// whitespace runs collapsed, whitespace-only text dropped, "<x/>" and
// "<x />" alike. One known difference is removed too: the builder marks
// highlighted code with class="language-X" on <code>, which
// pymdownx.highlight does not.
func htmlShape(s string) []string {
	z := html.NewTokenizer(strings.NewReader(s))
	var out []string
	space := regexp.MustCompile(`\s+`)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out
		case html.TextToken:
			t := strings.TrimSpace(space.ReplaceAllString(string(z.Text()), " "))
			if t != "" {
				out = append(out, "text:"+t)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if tt == html.EndTagToken {
				out = append(out, "</"+tok.Data+">")
				continue
			}
			var attrs []string
			for _, a := range tok.Attr {
				if tok.Data == "code" && a.Key == "class" && strings.HasPrefix(a.Val, "language-") {
					continue
				}
				attrs = append(attrs, a.Key+"="+a.Val)
			}
			slices.Sort(attrs)
			out = append(out, "<"+tok.Data+" "+strings.Join(attrs, " ")+">")
		}
	}
}

// TestMatchesMkDocsHTML builds the extension projects and compares each
// page's content with MkDocs' rendering of it.
func TestMatchesMkDocsHTML(t *testing.T) {
	for _, name := range htmlGoldenProjects {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".html.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]string
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			res, err := Build(context.Background(), filepath.Join("testdata", "projects", name), out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Pages) != len(want) {
				t.Errorf("%d pages, MkDocs built %d", len(res.Pages), len(want))
			}
			for _, p := range res.Pages {
				page, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p.Dest)))
				if err != nil {
					t.Fatal(err)
				}
				content, _ := PageContent(page)
				if diff := cmp.Diff(htmlShape(want[p.Src]), htmlShape(string(content))); diff != "" {
					t.Errorf("%s differs from MkDocs (-mkdocs +greenroom):\n%s", p.Src, diff)
				}
			}
		})
	}
}

// TestHTMLGoldenFilesAreMkDocs re-runs MkDocs on the extension projects
// (as TestGoldenFilesAreMkDocs does for the others).
func TestHTMLGoldenFilesAreMkDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running MkDocs")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import mkdocs, material, pymdownx").Run(); err != nil {
		if os.Getenv("GREENROOM_TEST_MKDOCS") == "1" {
			t.Fatalf("MkDocs is required (GREENROOM_TEST_MKDOCS=1): %v", err)
		}
		t.Skip("SKIP: Debian's mkdocs, mkdocs-material and python3-pymdownx are not installed; HTML golden files not re-checked")
	}
	for _, name := range htmlGoldenProjects {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("/usr/bin/python3", "mkdocs_html_golden.py", filepath.Join("projects", name))
			cmd.Dir = "testdata"
			fresh, err := cmd.Output()
			if err != nil {
				t.Fatalf("mkdocs_html_golden.py: %v", err)
			}
			committed, err := os.ReadFile(filepath.Join("testdata", "golden", name+".html.json"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(committed), string(fresh)); diff != "" {
				t.Errorf("testdata/golden/%s.html.json differs from MkDocs' output now (-committed +mkdocs):\n%s", name, diff)
			}
		})
	}
}

// TestSnippetsStayInside checks pymdownx.snippets' bounds: a snippet is
// never read from outside its base path or the project (by "..", an
// absolute path or a symlink), a base_path outside the project is
// refused, cycles end, and each refusal or miss is a located warning;
// check_paths turns a miss into a failed build.
func TestSnippetsStayInside(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.md"), []byte("TOP SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := func(opts string) string {
		return "site_name: s\nmarkdown_extensions:\n  - pymdownx.snippets:\n" + opts
	}
	tests := []struct {
		name    string
		files   map[string]string
		setup   func(t *testing.T, dir string)
		err     string
		warns   []string
		absent  []string // text that must not be in the page
		present []string
	}{
		{name: "dot-dot out of the base", files: map[string]string{
			"mkdocs.yml": cfg("      base_path: docs\n"), "docs/index.md": "# A\n\n--8<-- \"../mkdocs.yml\"\n"},
			warns: []string{`^docs/index.md:3: snippet "../mkdocs.yml": is outside base_path`}, absent: []string{"site_name"}},
		{name: "absolute path", files: map[string]string{
			"mkdocs.yml": cfg("      base_path: .\n"), "docs/index.md": "# A\n\n--8<-- \"" + filepath.Join(outside, "secret.md") + "\"\n"},
			warns: []string{`^docs/index.md:3: snippet .*is outside base_path`}, absent: []string{"TOP SECRET"}},
		{name: "symlink out of the project", files: map[string]string{
			"mkdocs.yml": cfg(""), "docs/index.md": "# A\n\n--8<-- \"leak.md\"\n"},
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(dir, "leak.md")); err != nil {
					t.Skip(err)
				}
			},
			warns: []string{`^docs/index.md:3: snippet "leak.md": .*leaves`}, absent: []string{"TOP SECRET"}},
		{name: "base_path outside the project", files: map[string]string{
			"mkdocs.yml": cfg("      base_path: [" + outside + ", ../x]\n"), "docs/index.md": "# A\n\n--8<-- \"secret.md\"\n"},
			warns:  []string{`^mkdocs.yml:4: pymdownx.snippets: base_path ".*" is outside the project`, `^mkdocs.yml:4: pymdownx.snippets: base_path "../x" is outside`, `^docs/index.md:3: snippet "secret.md": not found`},
			absent: []string{"TOP SECRET"}},
		{name: "missing file is a located warning", files: map[string]string{
			"mkdocs.yml": cfg(""), "docs/index.md": "# A\n\ntext\n\n--8<-- \"nope.md\"\n"},
			warns: []string{`^docs/index.md:5: snippet "nope.md": not found in base_path`}},
		{name: "check_paths fails the build", files: map[string]string{
			"mkdocs.yml": cfg("      check_paths: true\n"), "docs/index.md": "# A\n\n--8<-- \"nope.md\"\n"},
			err: `snippet "nope.md" could not be found`},
		{name: "cycle ends", files: map[string]string{
			"mkdocs.yml": cfg(""), "docs/index.md": "# A\n\n--8<-- \"a.md\"\n", "a.md": "in a\n\n--8<-- \"b.md\"\n", "b.md": "in b\n\n--8<-- \"a.md\"\n"},
			present: []string{"in a", "in b"}},
		{name: "base that is a file, auto_append", files: map[string]string{
			"mkdocs.yml": cfg("      base_path: [abbr.md]\n      auto_append: [abbr.md]\n"), "docs/index.md": "# A\n", "abbr.md": "Appended line.\n"},
			present: []string{"<p>Appended line.</p>"}},
		{name: "url snippets are not downloaded", files: map[string]string{
			"mkdocs.yml": cfg("      url_download: true\n"), "docs/index.md": "# A\n\n--8<-- \"https://example.com/x.md\"\n"},
			warns: []string{`^mkdocs.yml:4: pymdownx.snippets: url_download is not supported`, `^docs/index.md:3: snippet "https://example.com/x.md": URL snippets are not downloaded`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t, tt.files)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			out := filepath.Join(t.TempDir(), "site")
			res, err := Build(context.Background(), dir, out, Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range res.Warnings {
				got = append(got, w.String())
			}
			for _, re := range tt.warns {
				if !slices.ContainsFunc(got, regexp.MustCompile(re).MatchString) {
					t.Errorf("no warning matching %s in %q", re, got)
				}
			}
			page, err := os.ReadFile(filepath.Join(out, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.absent {
				if strings.Contains(string(page), s) {
					t.Errorf("page contains %q", s)
				}
			}
			for _, s := range tt.present {
				if !strings.Contains(string(page), s) {
					t.Errorf("page lacks %q", s)
				}
			}
		})
	}
}
