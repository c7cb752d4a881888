package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"greenroom/internal/search"
	"greenroom/internal/store/storetest"
)

func searchFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	svc, err := search.NewService(search.Options{Dir: t.TempDir()}, search.NewCatalogSource(st, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); svc.Close() })
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	f.h.SearchPages(svc).Routes(f.mux)
	return f
}

func TestSearchPage(t *testing.T) {
	f := searchFixture(t)
	res := f.get(t, "/search?q=paymnt-gateway")
	if res.Code != http.StatusOK {
		t.Fatalf("status %d", res.Code)
	}
	links := find(res.doc, func(n *html.Node) bool {
		c, _ := attr(n, "class")
		return n.DataAtom == atom.A && c == "search-hit-title"
	})
	if len(links) == 0 {
		t.Fatalf("no results:\n%s", res.body)
	}
	if href, _ := attr(links[0], "href"); href != "/catalog/default/component/payment-gateway" {
		t.Errorf("first result %s", href)
	}
	if r, _ := attr(links[0], "data-rank"); r != "1" {
		t.Errorf("rank %q", r)
	}
	for _, want := range []string{"<mark>", `<select id="sf-kind" name="kind">`, `<select id="sf-category" name="category">`, `aria-current="page">Search</a>`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, path := range []string{"/search", "/search?q=paymnt-gateway", "/search?q=zqxwv+ledgre", "/search?q=service&category=catalog&page=2"} {
		for _, p := range markupProblems(f.get(t, path).doc) {
			t.Errorf("%s: %s", path, p)
		}
	}
	// The header's combobox is on every page.
	home := f.get(t, "/")
	for _, want := range []string{`role="combobox"`, `aria-controls="site-search-list"`, `role="listbox"`, `action="/search"`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("layout lacks %q", want)
		}
	}
}

func TestSearchPageEscapesAndFilters(t *testing.T) {
	f := searchFixture(t)
	res := f.get(t, "/search?q=pwned")
	if strings.Contains(res.body, "<script>alert") || !strings.Contains(res.body, "&lt;script&gt;") {
		t.Fatalf("hostile description not escaped:\n%s", res.body)
	}
	res = f.get(t, "/search?q=service&kind=api")
	for _, h := range find(res.doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return c == "badge" }) {
		if h.FirstChild == nil || h.FirstChild.Data != "API" {
			t.Errorf("kind filter shows a %v", h.FirstChild)
		}
	}
	res = f.get(t, "/search?q=zqxwv+ledgre")
	if !strings.Contains(res.body, "Nothing matches") {
		t.Fatalf("no empty state:\n%s", res.body)
	}
	if !strings.Contains(res.body, "Did you mean") || !strings.Contains(res.body, "Closest matches") {
		t.Errorf("no did-you-mean or closest on an empty result")
	}
	res = f.get(t, "/search?q="+strings.Repeat("x", 1001))
	if res.Code != http.StatusBadRequest || !strings.Contains(res.body, "at most 1000") {
		t.Errorf("long term: %d", res.Code)
	}
}
