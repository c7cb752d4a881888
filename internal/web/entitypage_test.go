package web

import (
	"context"
	"html/template"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"greenroom/internal/store/storetest"
)

func TestHostileEntityIsEscapedAndBounded(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	res := f.get(t, "/catalog/default/component/hostile")
	if res.Code != 200 {
		t.Fatalf("status %d", res.Code)
	}
	for _, bad := range []string{"<script>alert", "<b>bold</b>", `href="javascript:`, "alert(1)</a>"} {
		if strings.Contains(res.body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt; &amp; more",
		"Evil link: link refused, only http, https and mailto links are shown.",
		`href="https://example.com/runbook"`, `href="mailto:oncall@example.com"`,
		`href="https://wiki.example.com/hostile"`,
		"Show all tags (280 more)", // 20 shown, the rest behind a disclosure
		"url:javascript:alert(1)",  // shown as text, not linked
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The only scripts are the portal's own (app.js and search.js).
	scripts := byTag(res.doc, atom.Script)
	for _, s := range scripts {
		if src, _ := attr(s, "src"); !strings.HasPrefix(src, "/static/") {
			t.Errorf("script element not the portal's own: %q", src)
		}
	}
	if len(scripts) != 2 {
		t.Errorf("%d script elements", len(scripts))
	}
	// Every link on the page is http(s), mailto or local.
	for _, a := range byTag(res.doc, atom.A) {
		href, _ := attr(a, "href")
		if !(strings.HasPrefix(href, "/") || strings.HasPrefix(href, "#") || strings.HasPrefix(href, "https://") ||
			strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "mailto:")) {
			t.Errorf("link %q", href)
		}
	}
	// The long title is whole in the h1 (CSS wraps it) and clipped in the
	// breadcrumb.
	h1 := byTag(res.doc, atom.H1)
	if len(h1) != 1 || !strings.HasSuffix(text(h1[0]), "Very long title end") {
		t.Errorf("h1 %q", text(h1[0]))
	}
	for _, p := range markupProblems(res.doc) {
		t.Error(p)
	}

	// In the list, the title is clipped with the full text in title=, and
	// at most six tags show.
	list := f.get(t, "/catalog?filters%5Btext%5D=hostile")
	link := find(list.doc, func(n *html.Node) bool {
		h, _ := attr(n, "href")
		return n.DataAtom == atom.A && h == "/catalog/default/component/hostile"
	})
	if len(link) != 1 {
		t.Fatalf("%d links to hostile in the list", len(link))
	}
	full, _ := attr(link[0], "title")
	if got := text(link[0]); len([]rune(got)) > maxRowTitle || !strings.HasSuffix(got, "…") || !strings.HasSuffix(full, "end") {
		t.Errorf("list title %q (title attribute %q)", got, full)
	}
	if !strings.Contains(list.body, "+294 more") {
		t.Error("the list does not cap the tags")
	}
	if strings.Contains(list.body, "<script>alert") {
		t.Error("the list does not escape the description")
	}
}

func TestEntityNotFoundSuggests(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	tests := []struct {
		path string
		want []string
		not  []string
	}{
		// A typo: entities sharing the name's first word.
		{"/catalog/default/component/payment-gatewy", []string{`href="/catalog/default/component/payment-gateway"`, "Did you mean"}, nil},
		// The right name, the wrong kind.
		{"/catalog/default/api/payment-gateway", []string{`href="/catalog/default/component/payment-gateway"`}, nil},
		// The right name in another namespace is found too.
		{"/catalog/other/component/card-vault", []string{`href="/catalog/default/component/card-vault"`}, nil},
		// Nothing alike.
		{"/catalog/default/component/zzqqxx", []string{"Nothing in the catalog has a similar name", "filters%5Btext%5D=zzqqxx"}, []string{"Did you mean"}},
		// Hostile text in the path is escaped.
		{"/catalog/default/component/%3Cscript%3Ex", []string{"&lt;script&gt;x"}, []string{"<script>x"}},
	}
	for _, tt := range tests {
		res := f.get(t, tt.path)
		if res.Code != 404 {
			t.Errorf("%s: status %d", tt.path, res.Code)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%s: page lacks %q", tt.path, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(res.body, w) {
				t.Errorf("%s: page has %q", tt.path, w)
			}
		}
		for _, p := range markupProblems(res.doc) {
			t.Errorf("%s: %s", tt.path, p)
		}
	}
	// /…/overview is the root page.
	if res := f.get(t, "/catalog/default/component/payment-gateway/overview"); res.Code != 301 || res.Header().Get("Location") != "/catalog/default/component/payment-gateway" {
		t.Errorf("overview path: %d %s", res.Code, res.Header().Get("Location"))
	}
}

// testSection is a section another package could register.
type testSection struct {
	id, title string
	kind      string
}

func (s testSection) ID() string             { return s.id }
func (s testSection) Title() string          { return s.title }
func (s testSection) Applies(e *Entity) bool { return e.IsKind(s.kind) }
func (s testSection) Render(_ context.Context, e *Entity) (template.HTML, error) {
	return template.HTML("<p>custom content for " + template.HTMLEscapeString(e.Metadata.Name) + "</p>"), nil
}

func TestSectionRegistry(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.h.Register(testSection{"ci-cd", "CI/CD", "component"})
	f.h.Register(testSection{"dependencies", "Dependency graph", "component"})

	res := f.get(t, "/catalog/default/component/payment-gateway")
	var tabs []string
	for _, nav := range byTag(res.doc, atom.Nav) {
		if l, _ := attr(nav, "aria-label"); l == "Entity sections" {
			for _, a := range byTag(nav, atom.A) {
				tabs = append(tabs, text(a))
			}
		}
	}
	// The replacement keeps the built-in's place; the new one comes last.
	want := "Overview,Dependency graph,APIs,Docs,Deployments,Errors,Cost,CI/CD"
	if got := strings.Join(tabs, ","); got != want {
		t.Errorf("tabs %s, want %s", got, want)
	}
	res = f.get(t, "/catalog/default/component/payment-gateway/ci-cd")
	if res.Code != 200 || !strings.Contains(res.body, "custom content for payment-gateway") || !strings.Contains(res.body, `<h2 id="section-h">CI/CD</h2>`) {
		t.Errorf("custom section: %d", res.Code)
	}
	if res := f.get(t, "/catalog/default/component/payment-gateway/dependencies"); !strings.Contains(res.body, "custom content") {
		t.Error("the replacement does not render")
	}
	// A section that does not apply is neither a tab nor a page.
	if res := f.get(t, "/catalog/default/api/payments-api/ci-cd"); res.Code != 404 {
		t.Errorf("ci-cd of an API: %d", res.Code)
	}
	for _, bad := range []string{"", "Has Caps", "star", "a/b", strings.Repeat("x", 41)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", bad)
				}
			}()
			f.h.Register(testSection{bad, "x", "component"})
		}()
	}
}
