package techdocs

import (
	"bytes"
	"html/template"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// pageTmpl is theme/page.html, the reference writePage follows.
var pageTmpl = template.Must(template.ParseFS(themeFS, "theme/page.html"))

// markActive is the reference of writePage's marking of the current page.
func markActive(nav, href string) string {
	return strings.Replace(nav, `<a class="md-nav__link" href="`+href+`">`,
		`<a class="md-nav__link md-nav__link--active" href="`+href+`" aria-current="page">`, 1)
}

// tricky are strings that each escaper treats differently.
var tricky = []string{"", "Plain title", `a<b>&"'+c`, "nul\x00byte", "javascript:alert(1)", "JavaScript:x", "mailto:a@b.c",
	"HTTP://x.y/z", "https://h/p?q=1&r=2#f", "/a:b", "a/b:c", "data:text/html,x", "%41%zz%", "%4", "50%", "ünïcødé",
	"\xff\xfe bad utf-8", "#frag", "a b\tc\nd", "[x](y)!$*,;=@~", "../up/", "./", "é%C3%A9", "<script>", "x'y\"z"}

func pick(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return tricky[r.IntN(len(tricky))] + tricky[r.IntN(len(tricky))]
	}
	return tricky[r.IntN(len(tricky))]
}

func randNav(r *rand.Rand, depth int) []navView {
	var out []navView
	for range r.IntN(4) {
		v := navView{Title: pick(r), Href: pick(r), Kind: []string{"page", "link", "section"}[r.IntN(3)]}
		if v.Kind == "section" && depth < 3 {
			v.Children = randNav(r, depth+1)
		}
		out = append(out, v)
	}
	return out
}

func randTOC(r *rand.Rand, depth int) []*TOCItem {
	var out []*TOCItem
	for range r.IntN(4) {
		it := &TOCItem{ID: pick(r), Title: pick(r), Level: depth + 1}
		if depth < 3 {
			it.Children = randTOC(r, depth+1)
		}
		out = append(out, it)
	}
	return out
}

func navHrefs(items []navView, out []string) []string {
	for _, it := range items {
		out = append(out, it.Href)
		out = navHrefs(it.Children, out)
	}
	return out
}

// TestPageHTMLAsTemplate: writePage and writeNav write what page.html
// executed by html/template writes, escaping included, for random pages
// made of strings each escaper treats in its own way.
func TestPageHTMLAsTemplate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		items := randNav(r, 0)
		var want, got bytes.Buffer
		if err := pageTmpl.ExecuteTemplate(&want, "nav", items); err != nil {
			t.Fatal(err)
		}
		writeNav(&got, items)
		if got.String() != want.String() {
			t.Fatalf("nav %d:\n got %q\nwant %q", i, got.String(), want.String())
		}
		nav := got.String()
		self := pick(r)
		if hrefs := navHrefs(items, nil); len(hrefs) > 0 && r.IntN(2) == 0 {
			self = hrefs[r.IntN(len(hrefs))]
		}
		v := pageView{SiteName: pick(r), SiteDescription: pick(r), Title: pick(r), Base: pick(r), EditURL: pick(r),
			IsHome: r.IntN(2) == 0, TOC: randTOC(r, 0), Content: template.HTML(pick(r)),
			Mark: template.HTML(contentStart), EndMark: template.HTML(contentEnd)}
		if r.IntN(3) > 0 {
			v.Prev = &navView{Title: pick(r), Href: pick(r)}
		}
		if r.IntN(3) > 0 {
			v.Next = &navView{Title: pick(r), Href: pick(r)}
		}
		ref := v
		ref.Nav = template.HTML(markActive(nav, self))
		want.Reset()
		if err := pageTmpl.Execute(&want, ref); err != nil {
			t.Fatal(err)
		}
		v.Nav = template.HTML(nav)
		got.Reset()
		writePage(&got, &v, self)
		if got.String() != want.String() {
			g, w := got.String(), want.String()
			k := 0
			for k < len(g) && k < len(w) && g[k] == w[k] {
				k++
			}
			t.Fatalf("page %d differs at byte %d:\n got …%q\nwant …%q", i, k, g[max(0, k-80):min(len(g), k+80)], w[max(0, k-80):min(len(w), k+80)])
		}
	}
}

// TestIDAttrs: idAttrs finds what `\sid="([^"]*)"` finds.
func TestIDAttrs(t *testing.T) {
	re := regexp.MustCompile(`\sid="([^"]*)"`)
	parts := []string{` id="a"`, `id="b"`, "\tid=\"c d\"", "\nid=\"\"", ` id="`, `"`, `x`, ` `, `<h2 id="x">`, "\fid=\"f\"", "\vid=\"v\"", `iid="n"`, ` id='q'`}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		html := []byte(b.String())
		var want, got []string
		for _, m := range re.FindAllSubmatch(html, -1) {
			want = append(want, string(m[1]))
		}
		for id := range idAttrs(html) {
			got = append(got, id)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("idAttrs(%q) = %q, the regular expression finds %q", html, got, want)
		}
	}
}
