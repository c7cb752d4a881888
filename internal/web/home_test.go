package web

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"greenroom/internal/store/storetest"
)

func TestHome(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	res := f.get(t, "/")
	if res.Code != 200 {
		t.Fatalf("status %d", res.Code)
	}
	section := func(id string) string {
		for _, s := range byTag(res.doc, atom.Section) {
			if l, _ := attr(s, "aria-labelledby"); l == id {
				var b strings.Builder
				html.Render(&b, s)
				return b.String()
			}
		}
		t.Fatalf("no section %s", id)
		return ""
	}
	// The search goes to the catalog over every kind.
	form := find(res.doc, func(n *html.Node) bool {
		r, _ := attr(n, "role")
		a, _ := attr(n, "action")
		return n.DataAtom == atom.Form && r == "search" && a == "/catalog"
	})
	if len(form) != 1 || !strings.Contains(res.body, `<input type="hidden" name="filters[kind]" value="">`) ||
		!strings.Contains(res.body, `name="filters[text]"`) {
		t.Error("no catalog search form")
	}
	// flaky changed in the second refresh, so it is the most recent change.
	changes := section("changes-h")
	if i := strings.Index(changes, `<a href="/catalog/default/component/flaky">flaky</a>`); i < 0 || !strings.Contains(changes[i:], "updated") {
		t.Errorf("recent changes do not start with flaky's update:\n%s", changes)
	}
	if n := strings.Count(changes, "<li>"); n != homeChanges {
		t.Errorf("%d recent changes listed, want %d", n, homeChanges)
	}
	// Health: the flaky problem, located and linked.
	health := section("health-h")
	for _, want := range []string{"found 1 problem", "<strong>hostile.yaml, line 26</strong>",
		`<a href="/catalog/default/component/flaky">component:default/flaky</a>`, "<code>spec.owner</code>"} {
		if !strings.Contains(health, want) {
			t.Errorf("health lacks %q:\n%s", want, health)
		}
	}
	kinds := section("kinds-h")
	for _, want := range []string{`href="/catalog?filters%5Bkind%5D=component"`, `User <span class="count">`} {
		if !strings.Contains(kinds, want) {
			t.Errorf("kinds lack %q", want)
		}
	}
}
