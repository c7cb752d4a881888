package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// listedRefs returns the entity paths of the result table's rows.
func listedRefs(t *testing.T, res response) []string {
	t.Helper()
	var out []string
	for _, td := range find(res.doc, func(n *html.Node) bool { c, _ := attr(n, "class"); return n.DataAtom == atom.Td && c == "name" }) {
		for _, a := range byTag(td, atom.A) {
			h, _ := attr(a, "href")
			out = append(out, strings.TrimPrefix(h, "/catalog/"))
		}
	}
	return out
}

// nextLink returns the href of the pager's rel=next (or prev) link.
func pagerLink(res response, rel string) string {
	for _, a := range byTag(res.doc, atom.A) {
		if r, _ := attr(a, "rel"); r == rel {
			h, _ := attr(a, "href")
			return h
		}
	}
	return ""
}

func TestCatalogFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		tests := []struct {
			name  string
			query string
			want  []string // exactly these rows, in order (when set)
			has   []string // at least these rows
			not   []string // none of these rows
			notes []string
			count string
		}{
			{name: "owner and type", query: "filters[kind]=component&filters[type]=service&filters[owners]=team-payments&filters[lifecycles]=production",
				want: []string{"default/component/card-vault", "default/component/flaky", "default/component/ledger-service", "default/component/payment-gateway", "default/component/payout-service"}, count: "5 entities match"},
			{name: "owner as a full ref", query: "filters[kind]=component&filters[owners]=group:default/team-payments&filters[lifecycles]=production&filters[type]=service",
				want: []string{"default/component/card-vault", "default/component/flaky", "default/component/ledger-service", "default/component/payment-gateway", "default/component/payout-service"}},
			{name: "aliases", query: "kind=component&type=service&owner=team-payments&lifecycle=production",
				want: []string{"default/component/card-vault", "default/component/flaky", "default/component/ledger-service", "default/component/payment-gateway", "default/component/payout-service"}},
			{name: "every tag must match", query: "filters[kind]=component&filters[tags]=java&filters[tags]=pci",
				want: []string{"default/component/payment-gateway"}},
			{name: "text over name and title", query: "filters[kind]=&filters[text]=gateway",
				has: []string{"default/component/payment-gateway"}, not: []string{"default/component/card-vault"}},
			{name: "text finds people by display name", query: "filters[kind]=user&filters[text]=okafor",
				want: []string{"default/user/maya.okafor"}},
			{name: "titles when no name matches", query: "filters[kind]=&filters[text]=Card Vault",
				want: []string{"default/component/card-vault"}, notes: []string{"No name contains “Card Vault”; showing entities whose title or display name does."}},
			{name: "display names when no name matches", query: "filters[kind]=user&filters[text]=Maya Okafor",
				want: []string{"default/user/maya.okafor"}, notes: []string{"No name contains"}},
			{name: "namespace", query: "filters[kind]=&filters[namespace]=nowhere", want: nil, count: "No entity matches"},
			{name: "sort by lifecycle descending", query: "filters[kind]=component&filters[owners]=team-payments&sort=lifecycle&dir=desc&filters[type]=service",
				has: []string{"default/component/hostile"}},
			{name: "malformed owner is explained, the rest applies", query: "filters[kind]=component&filters[owners]=:bad&filters[tags]=pci&filters[tags]=java",
				want: []string{"default/component/payment-gateway"}, notes: []string{"The owner “:bad” is not an entity reference"}},
			{name: "unknown user choice", query: "filters[kind]=component&filters[user]=everyone&filters[tags]=pci&filters[tags]=java",
				want: []string{"default/component/payment-gateway"}, notes: []string{"“everyone” is not a choice"}},
			{name: "owned by me without sign-in", query: "filters[kind]=component&filters[user]=owned&filters[tags]=pci&filters[tags]=java",
				want: []string{"default/component/payment-gateway"}, notes: []string{"Sign-in is not set up on this server"}},
			{name: "bad sort, direction, limit and cursor", query: "filters[kind]=component&filters[tags]=pci&filters[tags]=java&sort=owner&dir=up&limit=1000&cursor=!!!",
				want:  []string{"default/component/payment-gateway"},
				notes: []string{"“up” is not a sort direction", "The page size must be a number from 1 to 100", "The page link was malformed"}},
			{name: "sort field not every entity has", query: "filters[kind]=user&sort=type&filters[text]=okafor",
				want: []string{"default/user/maya.okafor"}, notes: []string{"Sorting by type needs every listed entity"}},
			{name: "control characters", query: "filters[kind]=component&filters[type]=ser%01vice&filters[tags]=pci&filters[tags]=java",
				want: []string{"default/component/payment-gateway"}, notes: []string{"contains control characters"}},
			{name: "too many kinds", query: "filters[kind]=user&filters[kind]=group&filters[text]=okafor",
				want: []string{"default/user/maya.okafor"}, notes: []string{"Only one kind can be listed at a time"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q, err := url.ParseQuery(tt.query)
				if err != nil {
					t.Fatal(err)
				}
				res := f.get(t, "/catalog?"+q.Encode())
				if res.Code != 200 {
					t.Fatalf("status %d", res.Code)
				}
				got := listedRefs(t, res)
				if tt.want != nil || (tt.has == nil && tt.not == nil) {
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("rows (-want +got):\n%s", diff)
					}
				}
				for _, h := range tt.has {
					if !slices.Contains(got, h) {
						t.Errorf("rows lack %s: %v", h, got)
					}
				}
				for _, n := range tt.not {
					if slices.Contains(got, n) {
						t.Errorf("rows have %s", n)
					}
				}
				for _, n := range tt.notes {
					if !strings.Contains(res.body, n) {
						t.Errorf("no notice %q", n)
					}
				}
				if len(tt.notes) == 0 && strings.Contains(res.body, `class="notice"`) {
					t.Error("unexpected notice")
				}
				if tt.count != "" && !strings.Contains(res.body, tt.count) {
					t.Errorf("no count %q", tt.count)
				}
				for _, p := range markupProblems(res.doc) {
					t.Error(p)
				}
			})
		}
	})
}

func TestCatalogFacetsAndForm(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	res := f.get(t, "/catalog?filters%5Bkind%5D=component&filters%5Btags%5D=pci")
	for _, want := range []string{
		// Counts within the kind, each choice a labelled checkbox.
		`name="filters[type]" value="service"`, `name="filters[owners]" value="group:default/team-payments"`,
		`<span>team-payments</span>`, `name="filters[tags]" value="pci" checked`,
		`<option value="api">API (13)</option>`, `<option value="component" selected>Component (34)</option>`,
		`Show all tags (`, // many tags: the rest behind a disclosure
		`name="filters[user]" value="starred"`,
		`<option value="lifecycle">Lifecycle</option>`, // components all have one
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	// A chosen value that would sit behind the disclosure is listed first.
	res = f.get(t, "/catalog?filters%5Bkind%5D=component&filters%5Btags%5D=tag-299")
	first := find(res.doc, func(n *html.Node) bool { id, _ := attr(n, "id"); return id == "f-tags-0" })
	if len(first) != 1 {
		t.Fatal("no first tag checkbox")
	}
	if v, _ := attr(first[0], "value"); v != "tag-299" {
		t.Errorf("first tag choice %q", v)
	}
	if _, checked := attr(first[0], "checked"); !checked {
		t.Error("chosen tag not checked")
	}
	// Users have no lifecycle to sort by.
	if res := f.get(t, "/catalog?filters%5Bkind%5D=user"); strings.Contains(res.body, `<option value="lifecycle">`) {
		t.Error("users offer sorting by lifecycle")
	}
}

func TestCatalogPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		path := "/catalog?filters%5Bkind%5D=component&limit=7&sort=name&dir=desc"
		var all []string
		var pages int
		var prev string
		for path != "" {
			res := f.get(t, path)
			if res.Code != 200 {
				t.Fatalf("%s: %d", path, res.Code)
			}
			rows := listedRefs(t, res)
			if len(rows) == 0 || len(rows) > 7 {
				t.Fatalf("page %d has %d rows", pages, len(rows))
			}
			if pages > 0 && pagerLink(res, "prev") == "" {
				t.Errorf("page %d has no previous link", pages)
			}
			if pages == 0 && pagerLink(res, "prev") != "" {
				t.Error("the first page has a previous link")
			}
			if !strings.Contains(res.body, "34 entities match") {
				t.Errorf("page %d lacks the total", pages)
			}
			all = append(all, rows...)
			pages++
			prev, path = path, pagerLink(res, "next")
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		// Every component once, in descending name order.
		if len(all) != 34 || pages != 5 {
			t.Errorf("%d rows on %d pages", len(all), pages)
		}
		sorted := slices.Clone(all)
		slices.Sort(sorted)
		slices.Reverse(sorted)
		if diff := cmp.Diff(sorted, all); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
		if len(slices.Compact(sorted)) != len(all) {
			t.Error("a component is listed twice")
		}
		// Going back from the last page gives the page before it.
		last := f.get(t, prev)
		back := f.get(t, pagerLink(last, "prev"))
		if got := listedRefs(t, back); len(got) != 7 || got[0] != all[(pages-2)*7] {
			t.Errorf("previous page starts with %v, want %s", got, all[(pages-2)*7])
		}
		// The filters stay in the page links.
		if u, err := url.Parse(pagerLink(f.get(t, "/catalog?filters%5Bkind%5D=component&limit=7"), "next")); err != nil ||
			u.Query().Get("filters[kind]") != "component" || u.Query().Get("limit") != "7" || u.Query().Get("cursor") == "" {
			t.Errorf("next link %v", u)
		}
	})
}

func TestStarred(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	jar, tok := f.csrf(t)
	form := url.Values{"csrf": {tok}, "star": {"1"}, "return": {"/catalog?filters%5Bkind%5D=component"}}

	// Without the token, or from another site, the post is refused.
	if res := f.post(t, "/catalog/default/component/card-vault/star", url.Values{"star": {"1"}}, jar); res.Code != http.StatusForbidden {
		t.Errorf("no token: %d", res.Code)
	}
	req := postRequest("/catalog/default/component/card-vault/star", form, jar)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := f.do(t, req); res.Code != http.StatusForbidden {
		t.Errorf("cross-site: %d", res.Code)
	}
	// A redirect outside the site is not followed.
	evil := url.Values{"csrf": {tok}, "star": {"1"}, "return": {"//evil.example/"}}
	res := f.post(t, "/catalog/default/component/card-vault/star", evil, jar)
	if res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/catalog/default/component/card-vault" {
		t.Errorf("evil return: %d %s", res.Code, res.Header().Get("Location"))
	}
	stars := cookie(t, res, starredCookie)

	// A star from a list goes back to the list.
	res = f.post(t, "/catalog/default/component/payment-gateway/star", form, jar, stars)
	if res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/catalog?filters%5Bkind%5D=component" {
		t.Fatalf("star: %d %s", res.Code, res.Header().Get("Location"))
	}
	stars = cookie(t, res, starredCookie)
	starredList := f.get(t, "/catalog?filters%5Bkind%5D=&filters%5Buser%5D=starred", stars)
	if diff := cmp.Diff([]string{"default/component/card-vault", "default/component/payment-gateway"}, listedRefs(t, starredList)); diff != "" {
		t.Errorf("starred (-want +got):\n%s", diff)
	}
	if !strings.Contains(starredList.body, `aria-pressed="true"`) {
		t.Error("starred rows do not show as pressed")
	}
	if home := f.get(t, "/", stars); !strings.Contains(home.body, `<a href="/catalog/default/component/payment-gateway">Payment Gateway</a>`) {
		t.Error("home does not list the starred entity")
	}

	// The script's fetch gets JSON; unstarring removes it.
	req = postRequest("/catalog/default/component/card-vault/star", url.Values{"csrf": {tok}, "star": {"0"}}, jar, stars)
	req.Header.Set("Accept", "application/json")
	res = f.do(t, req)
	if res.Code != 200 || strings.TrimSpace(res.body) != `{"starred":false}` {
		t.Fatalf("unstar: %d %s", res.Code, res.body)
	}
	stars = cookie(t, res, starredCookie)
	if got := listedRefs(t, f.get(t, "/catalog?filters%5Bkind%5D=&filters%5Buser%5D=starred", stars)); !slices.Equal(got, []string{"default/component/payment-gateway"}) {
		t.Errorf("after unstar: %v", got)
	}
	// Nothing starred lists nothing, and says so.
	if res := f.get(t, "/catalog?filters%5Buser%5D=starred"); len(listedRefs(t, res)) != 0 || !strings.Contains(res.body, "No entity matches") {
		t.Error("starred without stars lists entities")
	}
	// Unknown entities cannot be starred.
	if res := f.post(t, "/catalog/default/component/nope/star", form, jar); res.Code != 404 {
		t.Errorf("star unknown: %d", res.Code)
	}
	// A forged cookie is read only as far as it holds refs.
	forged := &http.Cookie{Name: starredCookie, Value: "component:default/payment-gateway|<script>|" + strings.Repeat("x", 5000)}
	if got := starredRefs(reqWith(forged)); !slices.Equal(got, nil) {
		t.Errorf("over-long cookie read as %v", got)
	}
	forged.Value = "component:default/payment-gateway|<script>|:x|component:default/payment-gateway"
	if got := starredRefs(reqWith(forged)); !slices.Equal(got, []string{"component:default/payment-gateway"}) {
		t.Errorf("forged cookie read as %v", got)
	}
}

func postRequest(path string, form url.Values, cookies ...*http.Cookie) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, "http://example.com"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

func reqWith(c *http.Cookie) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c)
	return req
}

func TestOwnedByMe(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.h.SetIdentify(func(*http.Request) (string, bool) { return "tomas.novak", true })
	res := f.get(t, "/catalog?filters%5Bkind%5D=component&filters%5Buser%5D=owned&filters%5Btype%5D=service")
	got := listedRefs(t, res)
	// tomas.novak is in team-payments, which owns these services.
	for _, want := range []string{"default/component/card-vault", "default/component/payment-gateway", "default/component/flaky"} {
		if !slices.Contains(got, want) {
			t.Errorf("owned lacks %s: %v", want, got)
		}
	}
	if slices.Contains(got, "default/component/invoice-service") || strings.Contains(res.body, `class="notice"`) {
		t.Errorf("owned lists too much or notes: %v", got)
	}
	home := f.get(t, "/")
	for _, want := range []string{"Signed in as tomas.novak", `<a href="/catalog/default/component/card-vault">Card Vault</a>`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if strings.Contains(home.body, "Sign-in is not set up") {
		t.Error("home says sign-in is missing")
	}
}
