package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// listFields is the projection list pages read: enough for a row.
var listFields = query.Fields{"kind", "metadata.name", "metadata.namespace", "metadata.title", "metadata.description",
	"metadata.tags", "spec.type", "spec.lifecycle", "spec.owner", "spec.system", "spec.domain", "spec.profile"}

// entityRow is one entity in a list or table.
type entityRow struct {
	Ref, Path, Kind, Namespace, Name string
	Display                          string // title or name, clipped
	FullName                         string // unclipped, for the title attribute
	Type, Lifecycle, Description     string
	Owner, System, Domain            string // lowercased refs
	Email                            string // a user's or group's mailto: URL, "" when unsafe
	EmailText                        string
	Tags                             []string
	Missing                          bool // a relation target not in the catalog
	Starred                          bool
}

// Bounds on what one row shows.
const (
	maxRowTitle       = 80
	maxRowDescription = 240
	maxRowTags        = 6
)

// newRow builds a row from an entity (whole or projected by listFields).
func newRow(e *Entity, v viewer) entityRow {
	r := entityRow{
		Ref: e.RefString(), Path: e.Path(), Kind: e.Kind, Namespace: e.Metadata.Namespace, Name: e.Metadata.Name,
		FullName: clip(e.DisplayName(), 1000), Display: clip(e.DisplayName(), maxRowTitle),
		Type: e.SpecString("type"), Lifecycle: e.SpecString("lifecycle"),
		Description: clip(strings.Join(strings.Fields(e.Metadata.Description), " "), maxRowDescription),
		Owner:       e.specRef("owner", "group"), System: e.specRef("system", "system"), Domain: e.specRef("domain", "domain"),
		Tags: e.Metadata.Tags,
	}
	if p, ok := e.Spec["profile"].(map[string]any); ok {
		if mail, _ := p["email"].(string); mail != "" {
			r.Email, r.EmailText = safeURL("mailto:"+mail), clip(mail, 100)
		}
	}
	r.Starred = v.IsStarred(r.Ref)
	return r
}

// columns says which columns a list of one kind shows.
type columns struct {
	Kind, System, Owner, Type, Lifecycle, Email, Tags bool
}

func columnsFor(kind string) columns {
	switch kind {
	case "":
		return columns{Kind: true, Owner: true, Type: true, Tags: true}
	case "component", "api":
		return columns{System: true, Owner: true, Type: true, Lifecycle: true, Tags: true}
	case "resource":
		return columns{System: true, Owner: true, Type: true, Tags: true}
	case "system", "domain":
		return columns{Owner: true, Tags: true}
	case "group":
		return columns{Type: true, Email: true}
	case "user":
		return columns{Email: true}
	}
	return columns{Owner: true, Type: true, Tags: true}
}

// facetOption is one choice of a filter, with its count.
type facetOption struct {
	Value, Label string
	Count        int
	Checked      bool
}

// facetGroup is one multi-choice filter of the form.
type facetGroup struct {
	Param, Label, ID string
	Options          []facetOption
	Total            int // distinct values before the cap
}

// Bounds on the filter form.
const (
	maxFacetOptions   = 50
	facetOptionsShown = 8
)

// listView is the catalog list page and the API explorer.
type listView struct {
	Action    string // the form's path
	FixedKind bool
	F         listFilters
	Kinds     []facetOption
	Groups    []facetGroup
	Sorts     []facetOption
	SignedIn  bool
	Rows      []entityRow
	Cols      columns
	Total     int
	Next      string
	Prev      string
	Clear     string
	KindLabel string // "Components", "APIs", "entities"
	Return    string // this page, for star buttons to come back to
}

// listSpec is what differs between the catalog list and the API explorer.
type listSpec struct {
	path, title, nav string
	fixedKind        string
	defaultKind      string
}

var (
	catalogSpec = listSpec{path: "/catalog", title: "Catalog", nav: "catalog", defaultKind: "component"}
	apiDocsSpec = listSpec{path: "/api-docs", title: "APIs", nav: "apis", fixedKind: "api", defaultKind: "api"}
)

func (h *Handler) catalogList(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, catalogSpec)
}

func (h *Handler) apiDocs(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, apiDocsSpec)
}

// list renders a filtered, sorted, paged entity list with facet counts.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, spec listSpec) error {
	vw := h.viewer(r)
	f, notes := parseListFilters(r.URL.Query(), spec.defaultKind, spec.fixedKind, vw.SignedIn())
	res, more, err := h.runList(r.Context(), &f, spec.fixedKind != "", vw)
	if err != nil {
		return err
	}
	v, err := newListView(spec, f, res, vw, r.URL.RequestURI())
	if err != nil {
		return err
	}
	title := spec.title
	if spec.fixedKind == "" && f.Kind != "" {
		title = "Catalog: " + v.KindLabel
	}
	return h.render(w, r, http.StatusOK, "list", &page{Title: title, Nav: spec.nav, Notices: append(notes, more...), Data: v, Live: listLive()})
}

// runList reads the page and its counts. A cursor the store refuses
// starts again from the first page; a text no name contains is searched
// in titles and display names too. Either adds a notice.
func (h *Handler) runList(ctx context.Context, f *listFilters, fixedKind bool, vw viewer) (listResult, []string, error) {
	var notes []string
	var owned []string
	if f.User == userOwned {
		var err error
		if owned, err = h.ownershipRefs(ctx, vw); err != nil {
			return listResult{}, nil, err
		}
	}
	res, err := h.loadList(ctx, *f, fixedKind, owned, vw.Starred)
	if greenroom.ErrorCode(err) == greenroom.CodeInvalid && f.Cursor != nil {
		notes = append(notes, "The page link was out of date; showing the first page.")
		f.Cursor = nil
		res, err = h.loadList(ctx, *f, fixedKind, owned, vw.Starred)
	}
	if err != nil {
		return res, nil, err
	}
	if f.Text != "" && f.Cursor == nil && res.page.TotalItems == 0 {
		wide, err := h.loadPage(ctx, *f, owned, vw.Starred, true)
		if err != nil {
			return res, nil, err
		}
		if wide.TotalItems > 0 {
			res.page = wide
			notes = append(notes, fmt.Sprintf("No name contains “%s”; showing entities whose title or display name does.", clip(f.Text, 60)))
		}
	}
	return res, notes, nil
}

// newListView turns the query results into the page's view model.
func newListView(spec listSpec, f listFilters, res listResult, vw viewer, self string) (listView, error) {
	v := listView{Action: spec.path, FixedKind: spec.fixedKind != "", F: f, SignedIn: vw.SignedIn(), Cols: columnsFor(f.Kind),
		Total: res.page.TotalItems, Clear: spec.path, Return: self, KindLabel: kindLabel(f.Kind, res.kinds)}
	v.Kinds = kindOptions(res.kinds, f.Kind)
	v.Groups = facetGroups(res.facets, f)
	for _, s := range sortable(f.Kind) {
		v.Sorts = append(v.Sorts, facetOption{Value: s, Label: strings.ToUpper(s[:1]) + s[1:], Checked: s == f.Sort})
	}
	for _, raw := range res.page.Items {
		e, err := parseEntity(raw)
		if err != nil {
			return v, err
		}
		v.Rows = append(v.Rows, newRow(e, vw))
	}
	base := f.encode(v.FixedKind)
	if res.page.NextCursor != nil {
		v.Next = pageURL(spec.path, base, res.page.NextCursor.Encode())
	}
	if res.page.PrevCursor != nil {
		v.Prev = pageURL(spec.path, base, res.page.PrevCursor.Encode())
	}
	return v, nil
}

type listResult struct {
	page   query.EntitiesPage[json.RawMessage]
	kinds  []query.FacetCount
	facets map[string][]query.FacetCount
}

// listFacets are the facets the filter form counts.
var listFacets = []string{"spec.type", "relations.ownedBy", "spec.lifecycle", "metadata.tags", "metadata.namespace"}

// loadList runs the page query and the facet counts concurrently: they
// are independent reads, and the page's latency is the slowest of them.
func (h *Handler) loadList(ctx context.Context, f listFilters, fixedKind bool, owned, starred []string) (listResult, error) {
	var res listResult
	var wg sync.WaitGroup
	var pageErr, kindErr, facetErr error
	wg.Go(func() {
		res.page, pageErr = h.loadPage(ctx, f, owned, starred, false)
	})
	if !fixedKind {
		wg.Go(func() {
			var fr query.FacetsResponse
			fr, kindErr = h.facets(ctx, query.FacetsQuery{Facets: []string{"kind"}}, "")
			res.kinds = fr.Facets["kind"]
		})
	}
	wg.Go(func() {
		var fr query.FacetsResponse
		fr, facetErr = h.facets(ctx, query.FacetsQuery{Facets: listFacets, Filter: f.kindFilter()}, f.Kind)
		res.facets = fr.Facets
	})
	wg.Wait()
	for _, err := range []error{pageErr, kindErr, facetErr} {
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func (h *Handler) loadPage(ctx context.Context, f listFilters, owned, starred []string, wide bool) (query.EntitiesPage[json.RawMessage], error) {
	return h.catalog.QueryEntities(ctx, f.entitiesQuery(owned, starred, wide), listFields)
}

func pageURL(path string, base url.Values, cursor string) string {
	v := url.Values{}
	for k, vs := range base {
		v[k] = vs
	}
	v.Set("cursor", cursor)
	return path + "?" + v.Encode()
}

// mergeFacet folds counts of values differing only in case (filters
// match case-insensitively), keeping the first spelling, then orders by
// count, then value.
func mergeFacet(counts []query.FacetCount) []facetOption {
	idx := map[string]int{}
	var out []facetOption
	for _, c := range counts {
		k := strings.ToLower(c.Value)
		if i, ok := idx[k]; ok {
			out[i].Count += c.Count
			continue
		}
		idx[k] = len(out)
		out = append(out, facetOption{Value: c.Value, Label: c.Value, Count: c.Count})
	}
	slices.SortFunc(out, func(a, b facetOption) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(strings.ToLower(a.Value), strings.ToLower(b.Value)))
	})
	return out
}

func kindOptions(counts []query.FacetCount, selected string) []facetOption {
	opts := mergeFacet(counts)
	found := false
	for i := range opts {
		opts[i].Value = strings.ToLower(opts[i].Value)
		if opts[i].Value == selected {
			opts[i].Checked, found = true, true
		}
	}
	slices.SortFunc(opts, func(a, b facetOption) int { return strings.Compare(a.Value, b.Value) })
	if selected != "" && !found {
		opts = append(opts, facetOption{Value: selected, Label: selected, Checked: true})
	}
	return opts
}

// kindLabel is the heading word for a list of kind: "Components".
func kindLabel(kind string, counts []query.FacetCount) string {
	if kind == "" {
		return "All entities"
	}
	label := kind
	for _, c := range counts {
		if strings.EqualFold(c.Value, kind) {
			label = c.Value
			break
		}
	}
	if strings.EqualFold(label, "api") {
		return "APIs"
	}
	label = strings.ToUpper(label[:1]) + label[1:]
	switch {
	case strings.HasSuffix(label, "s"):
		return label + "es"
	case strings.HasSuffix(label, "y") && !strings.HasSuffix(label, "ey"):
		return label[:len(label)-1] + "ies"
	}
	return label + "s"
}

func facetGroups(facets map[string][]query.FacetCount, f listFilters) []facetGroup {
	type def struct {
		facet, param, label string
		selected            []string
		display             func(string) string
	}
	defs := []def{
		{"spec.type", "type", "Type", f.Types, nil},
		{"relations.ownedBy", "owners", "Owner", f.Owners, func(s string) string { return humanRef(s, "group") }},
		{"spec.lifecycle", "lifecycles", "Lifecycle", f.Lifecycles, nil},
		{"metadata.tags", "tags", "Tags", f.Tags, nil},
		{"metadata.namespace", "namespace", "Namespace", f.Namespaces, nil},
	}
	var out []facetGroup
	for _, d := range defs {
		opts := mergeFacet(facets[d.facet])
		g := facetGroup{Param: "filters[" + d.param + "]", Label: d.label, ID: "f-" + d.param, Total: len(opts)}
		if len(opts) > maxFacetOptions {
			opts = opts[:maxFacetOptions]
		}
		for _, s := range d.selected {
			i := slices.IndexFunc(opts, func(o facetOption) bool { return strings.EqualFold(o.Value, s) })
			if i < 0 {
				opts = append(opts, facetOption{Value: s, Label: s})
				i = len(opts) - 1
			}
			opts[i].Checked = true
		}
		for i := range opts {
			if d.display != nil {
				opts[i].Label = d.display(opts[i].Value)
			}
		}
		// Chosen values first, so none hides in the collapsed rest.
		slices.SortStableFunc(opts, func(a, b facetOption) int {
			switch {
			case a.Checked == b.Checked:
				return 0
			case a.Checked:
				return -1
			}
			return 1
		})
		if len(opts) == 0 {
			continue
		}
		g.Options = opts
		out = append(out, g)
	}
	return out
}
