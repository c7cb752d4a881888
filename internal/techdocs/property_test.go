package techdocs

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// Property 11: documentation automation — for any docs project (pages in
// nested directories with arbitrary names, headings and links between
// them), the build hosts every page at its URL, every heading has an anchor
// unique in its page, and every link to a page and heading that exist is
// rewritten to a URL that resolves, in the built site, to that page, whose
// HTML has that anchor; no valid link is reported as broken.
func TestPropertyDocumentationAutomation(t *testing.T) {
	names := []string{"index", "README", "guide", "My Page", "über uns", "安装", "a-b_c", "v1.2 notes", "faq"}
	dirs := []string{"", "", "sub", "deep/er", "with space", "ünï"}
	heads := []string{"Intro", "Setup", "Setup", "What's new?", "Ünïcödé", "C++ & Go", "安装", "Step 1", "Step_1"}
	rapid.Check(t, func(rt *rapid.T) {
		directoryURLs := rapid.Bool().Draw(rt, "use_directory_urls")
		n := rapid.IntRange(1, 8).Draw(rt, "pages")
		type pg struct {
			src   string
			heads []string
		}
		seen := map[string]bool{}
		var pages []pg
		for i := range n {
			d := rapid.SampledFrom(dirs).Draw(rt, fmt.Sprintf("dir%d", i))
			name := rapid.SampledFrom(names).Draw(rt, fmt.Sprintf("name%d", i))
			src := path.Join(d, name+".md")
			stem := path.Join(d, "index")
			if seen[src] || name == "README" && seen[stem+".md"] || name == "index" && seen[path.Join(d, "README.md")] {
				continue
			}
			seen[src] = true
			hs := rapid.SliceOfN(rapid.SampledFrom(heads), 1, 5).Draw(rt, fmt.Sprintf("heads%d", i))
			pages = append(pages, pg{src: src, heads: hs})
		}
		files := map[string]string{"mkdocs.yml": fmt.Sprintf("site_name: P\nuse_directory_urls: %v\n", directoryURLs)}
		type link struct {
			from, to string
			head     int
		}
		var links []link
		for i, p := range pages {
			var body strings.Builder
			body.WriteString("# Title\n\n")
			for _, h := range p.heads {
				fmt.Fprintf(&body, "## %s\n\ntext\n\n", h)
			}
			k := rapid.IntRange(0, 3).Draw(rt, fmt.Sprintf("links%d", i))
			for j := range k {
				to := pages[rapid.IntRange(0, len(pages)-1).Draw(rt, fmt.Sprintf("to%d.%d", i, j))]
				h := rapid.IntRange(0, len(to.heads)-1).Draw(rt, fmt.Sprintf("h%d.%d", i, j))
				// The anchor the target's heading gets, as Python-Markdown
				// assigns them in order: the page title's first.
				used := map[string]bool{}
				unique(slugify("Title", "-", true), used)
				var id string
				for k, hh := range to.heads {
					if s := unique(slugify(hh, "-", true), used); k == h {
						id = s
					}
				}
				rel, _ := filepath.Rel(filepath.Dir("/"+p.src), "/"+to.src)
				fmt.Fprintf(&body, "[x](<%s#%s>)\n\n", filepath.ToSlash(rel), id)
				links = append(links, link{p.src, to.src, h})
			}
			files["docs/"+p.src] = body.String()
		}
		dir := project(t, files)
		out := filepath.Join(t.TempDir(), "site")
		res, err := Build(context.Background(), dir, out, Options{})
		if err != nil {
			rt.Fatalf("build: %v", err)
		}
		if len(res.Pages) != len(pages) {
			rt.Fatalf("%d pages built, %d written", len(res.Pages), len(pages))
		}
		bySrc := map[string]PageInfo{}
		byDest := map[string]PageInfo{}
		for _, p := range res.Pages {
			bySrc[p.Src] = p
			byDest[p.Dest] = p
			if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(p.Dest))); err != nil {
				rt.Fatalf("page %s not hosted: %v", p.Src, err)
			}
			var ids []string
			flattenTOC(p.TOC, &ids)
			uniq := map[string]bool{}
			for _, id := range ids {
				if uniq[id] {
					rt.Fatalf("%s: duplicate anchor %q in %v", p.Src, id, ids)
				}
				uniq[id] = true
			}
		}
		for _, w := range res.Warnings {
			if strings.Contains(w.Message, "link") {
				rt.Fatalf("valid link reported: %s", w)
			}
		}
		for _, p := range res.Pages {
			for _, href := range p.Links {
				u, err := url.Parse(href)
				if err != nil {
					rt.Fatalf("%s: bad href %q", p.Src, href)
				}
				// Resolve against the page's URL as a browser would.
				base, _ := url.Parse("http://site/" + p.URL)
				target := base.ResolveReference(u)
				dest := strings.TrimPrefix(target.Path, "/")
				if dest == "" || strings.HasSuffix(dest, "/") {
					dest += "index.html"
				}
				tp, ok := byDest[dest]
				if !ok {
					rt.Fatalf("%s: link %q resolves to %s, which is no page", p.Src, href, dest)
				}
				html, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(dest)))
				if !strings.Contains(string(html), `id="`+target.Fragment+`"`) {
					rt.Fatalf("%s: link %q: %s has no anchor %q", p.Src, href, tp.Src, target.Fragment)
				}
			}
		}
		for _, l := range links {
			if len(bySrc[l.from].Links) == 0 {
				rt.Fatalf("links of %s were not rewritten", l.from)
			}
		}
	})
}
