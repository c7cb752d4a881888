package techdocs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// project writes files (path → content) into a new directory.
func project(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t testing.TB, files map[string]string) (*Result, string) {
	t.Helper()
	dir := project(t, files)
	out := filepath.Join(t.TempDir(), "site")
	res, err := Build(context.Background(), dir, out, Options{Now: func() time.Time { return time.UnixMilli(1700000000000) }})
	if err != nil {
		t.Fatal(err)
	}
	return res, out
}

func content(t testing.TB, out, dest string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, dest))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, contentStart), strings.Index(s, contentEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no content markers", dest)
	}
	return s[i+len(contentStart) : j]
}

const allExts = `site_name: T
markdown_extensions:
  - admonition
  - pymdownx.details
  - pymdownx.superfences
  - def_list
  - footnotes
  - abbr
  - attr_list
  - pymdownx.tasklist
  - toc:
      permalink: true
`

func TestMarkdownFeatures(t *testing.T) {
	tests := []struct {
		name, md string
		want     []string // substrings of the page content
		not      []string
	}{
		{"admonition with title", "!!! note \"Read me\"\n    Body *text*.\n", []string{`<div class="admonition note">`, `<p class="admonition-title">Read me</p>`, `<p>Body <em>text</em>.</p>`}, nil},
		{"admonition default title", "!!! warning\n    Careful.\n", []string{`<div class="admonition warning">`, `<p class="admonition-title">Warning</p>`}, nil},
		{"admonition blank title", "!!! tip \"\"\n    No title.\n", []string{`<div class="admonition tip">`}, []string{"admonition-title"}},
		{"admonition ends at dedent", "!!! note\n    Inside.\n\nOutside.\n", []string{"<p>Inside.</p>\n</div>\n<p>Outside.</p>"}, nil},
		{"details collapsed", "??? question \"Why?\"\n    Because.\n", []string{`<details class="question">`, `<summary>Why?</summary>`}, []string{"open"}},
		{"details open", "???+ info\n    Shown.\n", []string{`<details class="info" open="open">`, `<summary>Info</summary>`}, nil},
		{"code in list", "1. Step:\n\n    ```go\n    func main() {}\n    ```\n\n2. Next\n", []string{"<li>", `<div class="highlight"><pre><span></span><code class="language-go"><span class="kd">func</span>`}, nil},
		{"table", "| a | b |\n| - | - |\n| 1 | 2 |\n", []string{"<table>", "<td>1</td>"}, nil},
		{"definition list", "Term\n:   Definition.\n", []string{"<dl>", "<dt>Term</dt>", "<dd>Definition.</dd>"}, nil},
		{"footnote", "Text[^1].\n\n[^1]: Note.\n", []string{`id="fnref:1"`, `id="fn:1"`}, nil},
		{"task list", "- [x] done\n- [ ] todo\n", []string{`checked=""`, `type="checkbox"`}, nil},
		{"abbreviation", "Use HTML here.\n\n*[HTML]: Hyper Text Markup Language\n", []string{`<abbr title="Hyper Text Markup Language">HTML</abbr>`}, []string{"*[HTML]"}},
		{"attribute list on an image", "![Logo](x.png){ width=600 .wide }\n", []string{`<img src="x.png" alt="Logo" width="600" class="wide">`}, []string{"{ width", "}"}},
		{"attribute list on a link", "[Go](x.md){: .btn #go-link } after\n", []string{`class="btn"`, `id="go-link"`, "</a> after"}, []string{"{:"}},
		{"attribute list id", "## Custom {#my-id}\n", []string{`<h2 id="my-id">Custom<a class="headerlink" href="#my-id"`}, nil},
		{"script removed", "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n", []string{"<img src=\"x\">"}, []string{"<script", "onerror", "javascript:"}},
		{"style and iframe removed", "<iframe src=\"https://evil\"></iframe><p style=\"x\" onclick=\"y\">p</p>\n", nil, []string{"<iframe", "style=", "onclick"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := build(t, map[string]string{"mkdocs.yml": allExts, "docs/index.md": tt.md})
			got := content(t, out, "index.html")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("content lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("content has %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestSlugify(t *testing.T) {
	tests := []struct {
		in    string
		ascii bool
		want  string
	}{
		{"Hello World", true, "hello-world"},
		{"What's new? (2024)", true, "whats-new-2024"},
		{"  C++ & Go  ", true, "c-go"},
		{"Ünïcödé Überschrift", true, "unicode-uberschrift"},
		{"安装", true, ""},
		{"安装 指南", false, "安装-指南"},
		{"Ünïcödé", false, "ünïcödé"},
		{"snake_case -- dashes", true, "snake_case-dashes"},
		{"tab\there", true, "tab-here"},
	}
	for _, tt := range tests {
		if got := slugify(tt.in, "-", tt.ascii); got != tt.want {
			t.Errorf("slugify(%q, ascii=%v) = %q, want %q", tt.in, tt.ascii, got, tt.want)
		}
	}
	used := map[string]bool{}
	var got []string
	for _, id := range []string{"a", "a", "a_1", "", "", "b_9", "b_9"} {
		got = append(got, unique(id, used))
	}
	want := "a a_1 a_2 _1 _2 b_9 b_10"
	if strings.Join(got, " ") != want {
		t.Errorf("unique = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestRelativeURL(t *testing.T) {
	tests := []struct{ url, other, want string }{
		{"./", "./", "./"},
		{"a/", "./", "a/"},
		{"./", "a/b/", "../../"},
		{"a/b/", "a/c/", "../b/"},
		{"a/b.html", "a/c.html", "b.html"},
		{"index.html", "x/y.html", "../index.html"},
		{"img/x.png", "a/", "../img/x.png"},
	}
	for _, tt := range tests {
		if got := relativeURL(tt.url, tt.other); got != tt.want {
			t.Errorf("relativeURL(%q, %q) = %q, want %q", tt.url, tt.other, got, tt.want)
		}
	}
}

func TestOutputFiles(t *testing.T) {
	res, out := build(t, map[string]string{
		"mkdocs.yml":    "site_name: Out\nsite_description: D\nplugins:\n  - techdocs-core\n  - mermaid2\n",
		"docs/index.md": "# Home\n\nHello.\n\n## Part one\n\nAlpha beta.\n",
		"docs/b.md":     "# B\n\nSee [home](index.md#part-one).\n",
		"docs/x.png":    "png",
	})
	var idx searchIndex
	data, err := os.ReadFile(filepath.Join(out, "search", "search_index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	locs := map[string]searchEntry{}
	for _, d := range idx.Docs {
		locs[d.Location] = d
	}
	if e := locs["#part-one"]; e.Title != "Part one" || e.Text != "Alpha beta." {
		t.Errorf("section entry = %+v", e)
	}
	if e := locs[""]; e.Title != "Home" || !strings.Contains(e.Text, "Hello.") {
		t.Errorf("page entry = %+v", e)
	}
	if _, ok := locs["b/"]; !ok {
		t.Errorf("no entry for b/: %v", locs)
	}
	var meta Metadata
	data, err = os.ReadFile(filepath.Join(out, MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.SiteName != "Out" || meta.SiteDescription != "D" || meta.BuildTimestamp != 1700000000000 {
		t.Errorf("metadata = %+v", meta)
	}
	for _, f := range []string{"index.html", "b/index.html", "x.png", "search/search_index.json", MetadataFile} {
		found := false
		for _, m := range meta.Files {
			found = found || m == f
		}
		if !found {
			t.Errorf("metadata files lack %s: %v", f, meta.Files)
		}
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, `plugin "mermaid2"`) || res.Warnings[0].Line != 5 {
		t.Errorf("warnings = %v, want one for the unknown plugin at mkdocs.yml:5", res.Warnings)
	}
	if got := content(t, out, "b/index.html"); !strings.Contains(got, `href="../#part-one"`) {
		t.Errorf("link not rewritten: %s", got)
	}
}

func TestBadInput(t *testing.T) {
	big := strings.Repeat("x", 5<<20)
	tests := []struct {
		name  string
		files map[string]string
		setup func(t *testing.T, dir string)
		err   string   // error substring, or "" for a build with warnings
		warns []string // regexps, each must match one warning
		check func(t *testing.T, res *Result)
	}{
		{name: "not YAML", files: map[string]string{"mkdocs.yml": "site_name: [unclosed\n", "docs/index.md": "x"}, err: "mkdocs.yml:1"},
		{name: "not a mapping", files: map[string]string{"mkdocs.yml": "- a\n", "docs/index.md": "x"}, err: "must be a mapping"},
		{name: "no site_name", files: map[string]string{"mkdocs.yml": "nav: []\n", "docs/index.md": "x"}, err: "site_name is required"},
		{name: "recursive INHERIT", files: map[string]string{"mkdocs.yml": "INHERIT: base.yml\nsite_name: a\n", "base.yml": "INHERIT: mkdocs.yml\n", "docs/index.md": "x"}, err: "recursive INHERIT"},
		{name: "INHERIT outside", files: map[string]string{"mkdocs.yml": "INHERIT: ../../etc/x.yml\nsite_name: a\n", "docs/index.md": "x"}, err: "leaves the project"},
		{name: "docs_dir outside", files: map[string]string{"mkdocs.yml": "site_name: a\ndocs_dir: ../\n"}, err: "docs_dir"},
		{name: "no docs dir", files: map[string]string{"mkdocs.yml": "site_name: a\n"}, err: "docs_dir"},
		{name: "nav to missing file", files: map[string]string{"mkdocs.yml": "site_name: a\nnav:\n  - index.md\n  - Gone: gone.md\n", "docs/index.md": "x"},
			warns: []string{`^mkdocs.yml:4: nav refers to gone.md, which is not found`}},
		{name: "image and link traversal", files: map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n\n![x](../../secret.png)\n\n[y](../mkdocs.yml.md)\n"},
			warns: []string{`^docs/index.md:3: link to "../../secret.png" leaves the docs directory`, `^docs/index.md:5: link to "../mkdocs.yml.md" leaves`}},
		{name: "missing anchor", files: map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n\n[y](b.md#nope)\n[z](#a)\n", "docs/b.md": "# B\n"},
			warns: []string{`^docs/index.md:3: link to "b.md#nope": no anchor #nope in docs/b.md`}},
		{name: "binary md", files: map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n", "docs/bin.md": "\x00\x01\x02"},
			warns: []string{`^docs/bin.md: file is binary`}},
		{name: "invalid UTF-8", files: map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n\nok\n\xff\xfe bad\n"},
			warns: []string{`^docs/index.md:4: invalid UTF-8`}},
		{name: "huge page", files: map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n", "docs/huge.md": big},
			warns: []string{`^docs/huge.md: page is 5242880 bytes, larger than the limit`}},
		{name: "symlink leaving docs", files: map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n", "secret.md": "# secret\n"},
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink(filepath.Join(dir, "secret.md"), filepath.Join(dir, "docs", "leak.md")); err != nil {
					t.Skip(err)
				}
				if err := os.Symlink("/etc", filepath.Join(dir, "docs", "etc")); err != nil {
					t.Skip(err)
				}
			},
			warns: []string{`^docs/leak.md: symlink leads outside`, `^docs/etc: symlink leads outside`}},
		{name: "unsupported extension", files: map[string]string{"mkdocs.yml": "site_name: a\nmarkdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:materialx.emoji.twemoji\n", "docs/index.md": "# A\n"},
			warns: []string{`^mkdocs.yml:3: markdown extension pymdownx.emoji is not supported`}},
		{name: "ENV tag without env", files: map[string]string{"mkdocs.yml": "site_name: !ENV [SITE_NAME, 'Fallback']\nsite_url: !ENV SITE_URL\n", "docs/index.md": "# A\n"},
			check: func(t *testing.T, res *Result) {
				if res.SiteName != "Fallback" {
					t.Errorf("site_name = %q, want the !ENV default", res.SiteName)
				}
			}},
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
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.warns {
				re := regexp.MustCompile(w)
				found := false
				for _, got := range res.Warnings {
					found = found || re.MatchString(got.String())
				}
				if !found {
					t.Errorf("no warning matches %s in %v", w, res.Warnings)
				}
			}
			if tt.check != nil {
				tt.check(t, res)
			}
			// Nothing outside the docs dir is copied.
			filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
				if err == nil && strings.Contains(p, "secret") || strings.Contains(p, "passwd") {
					t.Errorf("%s was written", p)
				}
				return nil
			})
		})
	}
}

func TestOutputDirSafety(t *testing.T) {
	dir := project(t, map[string]string{"mkdocs.yml": "site_name: a\n", "docs/index.md": "# A\n"})
	if _, err := Build(context.Background(), dir, filepath.Join(dir, "docs", "site"), Options{}); err == nil || !strings.Contains(err.Error(), "inside the docs directory") {
		t.Errorf("build into docs dir: err = %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "precious.txt"), []byte("keep"), 0o644)
	if _, err := Build(context.Background(), dir, other, Options{}); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("build over a non-site dir: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Errorf("precious.txt removed: %v", err)
	}
	site := t.TempDir()
	for range 2 { // a previous build is replaced
		if _, err := Build(context.Background(), dir, site, Options{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEnvTag(t *testing.T) {
	dir := project(t, map[string]string{"mkdocs.yml": "site_name: !ENV [NOPE, SITE_NAME, 'Fallback']  # comment\nsite_description: !ENV DESC\n", "docs/index.md": "# A\n"})
	env := map[string]string{"SITE_NAME": "From env", "DESC": "a \"quoted\" one"}
	res, err := Build(context.Background(), dir, t.TempDir(), Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if res.SiteName != "From env" || res.SiteDescription != `a "quoted" one` {
		t.Errorf("site_name, site_description = %q, %q", res.SiteName, res.SiteDescription)
	}
}
