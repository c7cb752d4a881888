package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"greenroom/internal/greenroom"
	"greenroom/internal/search"
)

func init() { registerNav(navItem{ID: "search", Label: "Search", Path: "/search", Order: 60}) }

// Searcher is what the search page needs from the search service.
type Searcher interface {
	Search(ctx context.Context, q search.Query) (search.Result, error)
}

// SearchPages serves /search.
type SearchPages struct {
	h   *Handler
	svc Searcher
}

// SearchPages returns the search page over svc.
func (h *Handler) SearchPages(svc Searcher) *SearchPages { return &SearchPages{h: h, svc: svc} }

// Routes registers the search page.
func (s *SearchPages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /search", s.h.handle(s.page))
}

// searchPageSize is how many results a page shows.
const searchPageSize = 20

// searchFilters are the page's filters, by query parameter, with their
// labels; category is docs / catalog / people / apis / templates.
var searchFilters = []struct{ Param, Field, Label string }{
	{"category", "category", "Category"},
	{"kind", "kind", "Kind"},
	{"type", "type", "Type"},
	{"owner", "owner", "Owner"},
	{"lifecycle", "lifecycle", "Lifecycle"},
}

var categoryLabels = map[string]string{
	search.CategoryCatalog: "Software catalog", search.CategoryAPIs: "APIs", search.CategoryPeople: "People and teams",
	search.CategoryDocs: "Docs", search.CategoryTemplates: "Templates",
}

type searchView struct {
	Q          string
	Total      int
	Hits       []searchHitView
	Filters    []searchFilterView
	Active     bool // a filter is set
	DidYouMean []searchLink
	Closest    []searchHitView
	Notice     string
	Prev, Next string
	From, To   int
}

type searchHitView struct {
	Rank     int
	Title    template.HTML
	Snippet  template.HTML
	Location string
	Type     string
	Meta     []string
}

type searchFilterView struct {
	Param, Label, Selected string
	Options                []facetChoice
}

type facetChoice struct {
	Value, Label string
	Count        int
	Selected     bool
}

type searchLink struct{ Label, URL string }

func (s *SearchPages) page(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q := search.Query{Term: v.Get("q"), Limit: searchPageSize, Filters: map[string][]string{}}
	var notes []string
	for _, f := range searchFilters {
		q.Facets = append(q.Facets, f.Field)
		if val := strings.TrimSpace(v.Get(f.Param)); val != "" {
			q.Filters[f.Field] = []string{val}
		}
	}
	if p, err := strconv.Atoi(v.Get("page")); err == nil && p > 1 && (p-1)*searchPageSize <= search.MaxOffset {
		q.Offset = (p - 1) * searchPageSize
	}
	view := searchView{Q: q.Term}
	if strings.TrimSpace(q.Term) == "" && len(q.Filters) == 0 {
		return s.h.render(w, r, http.StatusOK, "search_page", &page{Title: "Search", Nav: "search", Data: view})
	}
	res, err := s.svc.Search(r.Context(), q)
	if greenroom.ErrorCode(err) == greenroom.CodeInvalid {
		notes = append(notes, greenroom.ErrorMessage(err))
		return s.h.render(w, r, http.StatusBadRequest, "search_page", &page{Title: "Search", Nav: "search", Notices: notes, Data: view})
	}
	if err != nil {
		return err
	}
	view.Total, view.Notice = res.Total, res.Notice
	for _, h := range res.Hits {
		view.Hits = append(view.Hits, hitView(h))
	}
	for _, h := range res.Closest {
		view.Closest = append(view.Closest, hitView(h))
	}
	for _, d := range res.DidYouMean {
		u := *r.URL
		qv := u.Query()
		qv.Set("q", d)
		qv.Del("page")
		view.DidYouMean = append(view.DidYouMean, searchLink{Label: d, URL: "/search?" + qv.Encode()})
	}
	for _, f := range searchFilters {
		fv := searchFilterView{Param: f.Param, Label: f.Label, Selected: v.Get(f.Param)}
		view.Active = view.Active || fv.Selected != ""
		for _, fc := range res.Facets[f.Field] {
			label := fc.Value
			if f.Field == "category" && categoryLabels[fc.Value] != "" {
				label = categoryLabels[fc.Value]
			}
			if f.Field == "owner" {
				label = humanRef(fc.Value, "group")
			}
			fv.Options = append(fv.Options, facetChoice{Value: fc.Value, Label: label, Count: fc.Count, Selected: strings.EqualFold(fc.Value, fv.Selected)})
		}
		if fv.Selected != "" && !containsChoice(fv.Options, fv.Selected) {
			fv.Options = append(fv.Options, facetChoice{Value: fv.Selected, Label: fv.Selected, Selected: true})
		}
		view.Filters = append(view.Filters, fv)
	}
	view.From, view.To = q.Offset+1, q.Offset+len(res.Hits)
	pageURL := func(p int) string {
		qv := r.URL.Query()
		qv.Set("page", strconv.Itoa(p))
		return "/search?" + qv.Encode()
	}
	pg := q.Offset/searchPageSize + 1
	if pg > 1 {
		view.Prev = pageURL(pg - 1)
	}
	if q.Offset+searchPageSize < res.Total && q.Offset+searchPageSize <= search.MaxOffset {
		view.Next = pageURL(pg + 1)
	}
	title := "Search: " + q.Term
	return s.h.render(w, r, http.StatusOK, "search_page", &page{Title: title, Nav: "search", Notices: notes, Data: view})
}

func containsChoice(cs []facetChoice, v string) bool {
	for _, c := range cs {
		if strings.EqualFold(c.Value, v) {
			return true
		}
	}
	return false
}

func hitView(h search.Hit) searchHitView {
	d := h.Document
	title := h.Highlight["title"]
	if title == "" {
		title = d.Title
	}
	snippet := h.Highlight["text"]
	if snippet == "" {
		snippet = h.Highlight["description"]
	}
	if snippet == "" {
		snippet = d.Description
		if snippet == "" {
			snippet = search.Excerpt(d.Text, 200)
		}
	}
	hv := searchHitView{Rank: h.Rank, Title: marked(title), Snippet: marked(snippet), Location: safeLocation(d.Location), Type: resultLabel(d)}
	if d.Owner != "" {
		hv.Meta = append(hv.Meta, "Owner "+humanRef(d.Owner, "group"))
	}
	if d.Lifecycle != "" {
		hv.Meta = append(hv.Meta, d.Lifecycle)
	}
	if d.SpecType != "" {
		hv.Meta = append(hv.Meta, d.SpecType)
	}
	return hv
}

// marked escapes a highlighted fragment and turns the match tags into
// <mark> elements: the document text can never inject markup.
func marked(s string) template.HTML {
	esc := template.HTMLEscapeString(s)
	esc = strings.ReplaceAll(esc, search.PreTag, "<mark>")
	esc = strings.ReplaceAll(esc, search.PostTag, "</mark>")
	return template.HTML(esc) // escaped above; only <mark> is added
}

// safeLocation keeps result links inside the portal or on http(s).
func safeLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return "/search"
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		return loc
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return loc
	}
	return "/search"
}

func resultLabel(d search.Document) string {
	switch d.Category {
	case search.CategoryDocs:
		return "Doc page"
	case search.CategoryPeople:
		if d.Kind == "group" {
			return "Team"
		}
		return "Person"
	}
	if d.Kind == "api" {
		return "API"
	}
	if d.Kind != "" {
		return strings.ToUpper(d.Kind[:1]) + d.Kind[1:]
	}
	return d.Type
}
