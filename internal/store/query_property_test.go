package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// The vocabulary of the generated catalogs and filters: small, so that
// filters match some entities and order values tie.
var (
	propKinds  = []string{"Component", "component", "API", "Group"}
	propTypes  = []string{"service", "website", "Library"}
	propOwners = []string{"team-a", "team-b", "Team-A"}
	propTags   = []string{"java", "go", "Go", "python"}
	propTitles = []string{"Pay", "pay api", "Search", "a_b"}
	propKeys   = []string{"kind", "spec.type", "spec.owner", "metadata.tags", "metadata.tags.java", "metadata.namespace", "metadata.title", "spec.none"}
	propValues = []string{"component", "API", "service", "website", "library", "team-a", "java", "GO", "default", "prod", "pay", "true"}
	propOrders = []string{"metadata.name", "metadata.title", "spec.type", "spec.owner", "metadata.tags", "kind"}
	propTerms  = []string{"a", "pay", "TE", "_", "o"}
	// propPrefixes include the empty prefix (any value) and ones that end
	// where the index's byte order is tricky.
	propPrefixes = []string{"", "comp", "Te", "x-", "j", "pay a", "\U0010FFFF", "a_"}
)

// genEntityBody returns entity i of a random catalog; an odd one has a
// kind that is not one string.
func genEntityBody(rt *rapid.T, i int, odd bool) string {
	meta := map[string]any{"name": fmt.Sprintf("%s-%d", rapid.SampledFrom([]string{"x", "y", "Z"}).Draw(rt, "name"), i)}
	if rapid.Bool().Draw(rt, "prod") {
		meta["namespace"] = "prod"
	}
	if rapid.Bool().Draw(rt, "hasTitle") {
		meta["title"] = rapid.SampledFrom(propTitles).Draw(rt, "title")
	}
	if tags := rapid.SliceOfNDistinct(rapid.SampledFrom(propTags), 0, 3, rapid.ID[string]).Draw(rt, "tags"); len(tags) > 0 {
		meta["tags"] = tags
	}
	spec := map[string]any{}
	if rapid.Bool().Draw(rt, "hasType") {
		spec["type"] = rapid.SampledFrom(propTypes).Draw(rt, "type")
	}
	if rapid.Bool().Draw(rt, "hasOwner") {
		spec["owner"] = rapid.SampledFrom(propOwners).Draw(rt, "owner")
	}
	var kind any = rapid.SampledFrom(propKinds).Draw(rt, "kind")
	if odd { // the store cannot scope queries by this kind
		kind = rapid.SampledFrom([]any{[]any{"Component", "API"}, nil, 7}).Draw(rt, "oddKind")
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec})
	return string(b)
}

// genTopFilter draws the filter of a query: none a quarter of the time,
// else a random one, often under a kind condition (which the store scopes
// by).
func genTopFilter(rt *rapid.T) *query.Filter {
	if rapid.IntRange(0, 3).Draw(rt, "filtered") == 0 {
		return nil
	}
	f := genFilter(2).Draw(rt, "filter")
	if rapid.Bool().Draw(rt, "underKind") {
		f = query.All(query.In("kind", rapid.SliceOfN(rapid.SampledFrom(propKinds), 1, 2).Draw(rt, "topKinds")...), f)
	}
	return &f
}

func genFilter(depth int) *rapid.Generator[query.Filter] {
	return rapid.Custom(func(rt *rapid.T) query.Filter {
		leaf := func() query.Filter {
			key := rapid.SampledFrom(propKeys).Draw(rt, "key")
			switch rapid.IntRange(0, 9).Draw(rt, "leaf") {
			case 0, 1:
				return query.Exists(key)
			case 2: // a predicate query's $hasPrefix
				return query.Prefix(key, rapid.SampledFrom(propPrefixes).Draw(rt, "prefix"))
			case 3, 4: // the kind conditions the store scopes by
				return query.In("kind", rapid.SliceOfN(rapid.SampledFrom(propKinds), 1, 2).Draw(rt, "kinds")...)
			}
			return query.In(key, rapid.SliceOfN(rapid.SampledFrom(propValues), 0, 3).Draw(rt, "values")...)
		}
		if depth == 0 {
			return leaf()
		}
		switch rapid.IntRange(0, 5).Draw(rt, "op") {
		case 0:
			return query.Not(genFilter(depth-1).Draw(rt, "not"))
		case 1:
			return query.All(rapid.SliceOfN(genFilter(depth-1), 0, 3).Draw(rt, "all")...)
		case 2:
			return query.Any(rapid.SliceOfN(genFilter(depth-1), 0, 3).Draw(rt, "any")...)
		}
		return leaf()
	})
}

// expectedWalk is what a by-query walk must return, computed from the
// reference semantics: query.Filter.Match over BuildSearch rows, the
// smallest value of the order field, ties in stored order (recs must be in
// the order they were first stored).
func expectedWalk(recs []store.EntityRecord, q query.EntitiesQuery) []string {
	r := q.Resolved()
	type hit struct {
		ref, value string
		stored     int // ties go in stored order
	}
	var hits []hit
	for stored, rec := range recs {
		rows, _ := query.BuildSearchJSON(rec.Body, rec.UID)
		rows = query.UniqueRows(rows)
		if r.Filter != nil && !r.Filter.Match(rows) {
			continue
		}
		minOf := func(key string) (string, bool) {
			var vs []string
			for _, row := range rows {
				if row.Key == key && !row.Null {
					vs = append(vs, row.Value)
				}
			}
			if len(vs) == 0 {
				return "", false
			}
			return slices.Min(vs), true
		}
		h := hit{ref: rec.Ref, stored: stored}
		if len(r.Order) > 0 {
			v, ok := minOf(r.Order[0].Key())
			if !ok {
				continue
			}
			h.value = v
		}
		if ft := r.FullText; ft.Term != "" {
			term := strings.ToLower(ft.Term)
			found := false
			if len(r.Order) > 0 && len(ft.Fields) == 1 && query.Lower(ft.Fields[0]) == r.Order[0].Key() {
				found = strings.Contains(h.value, term)
			} else {
				for _, row := range rows {
					if !row.Null && slices.Contains(lowerAll(ft.Fields), row.Key) && strings.Contains(row.Value, term) {
						found = true
					}
				}
			}
			if !found {
				continue
			}
		}
		hits = append(hits, h)
	}
	desc := len(r.Order) > 0 && r.Order[0].Desc
	slices.SortFunc(hits, func(a, b hit) int {
		c := strings.Compare(a.value, b.value)
		if c == 0 {
			c = a.stored - b.stored
		}
		if desc {
			c = -c
		}
		return c
	})
	var out []string
	for _, h := range hits {
		out = append(out, h.ref)
	}
	if r.Offset >= len(out) {
		return nil
	}
	return out[r.Offset:]
}

func refsOfRecs(recs []store.EntityRecord) []string {
	refs := make([]string, len(recs))
	for i, r := range recs {
		refs[i] = r.Ref
	}
	return refs
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = query.Lower(s)
	}
	return out
}

// Property: the by-query cursor walk returns each matching entity exactly
// once. For random catalogs, filters (all-of, any-of, not, existence,
// several values, letter case), order fields (ties, multi-valued fields,
// entities lacking the field), full-text filters, offsets and page sizes,
// following nextCursor (through its encoded form) from the first page to
// the last yields exactly the matches in order, totalItems counts them, and
// following prevCursor back from the last page yields them again, with
// each of the store's plans. rapid runs 100 cases per plan by default
// (-rapid.checks).
func TestPropertyCursorWalk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, plan := range store.QueryPlans {
			t.Run("plan="+plan, func(t *testing.T) {
				store.SetQueryPlan(t, plan)
				rapid.Check(t, func(rt *rapid.T) { checkCursorWalk(t, rt, s) })
			})
		}
	})
}

// loadPropCatalog replaces everything in s with a random catalog and
// returns its records as stored, in the order stored.
func loadPropCatalog(t *testing.T, rt *rapid.T, s *store.Store) []store.EntityRecord {
	ctx := t.Context()
	if err := s.WithTx(ctx, func(tx *store.Tx) error {
		for _, table := range []string{"entity_search", "entity_search_refs", "entities"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		rt.Fatal(err)
	}
	var recs []store.EntityRecord
	odd := -1 // a quarter of the catalogs have one entity with an odd kind
	if rapid.IntRange(0, 3).Draw(rt, "oddCatalog") == 0 {
		odd = 0
	}
	for i := range rapid.IntRange(0, 25).Draw(rt, "entities") {
		recs = append(recs, entity(t, genEntityBody(rt, i, i == odd)))
	}
	if _, err := s.ReplaceSourceEntities(ctx, "prop", recs); err != nil {
		rt.Fatal(err)
	}
	got, err := s.EntitiesByRefs(ctx, refsOfRecs(recs), nil)
	if err != nil {
		rt.Fatal(err)
	}
	stored := make([]store.EntityRecord, len(got))
	for i, r := range got {
		stored[i] = *r
	}
	return stored
}

func checkCursorWalk(t *testing.T, rt *rapid.T, s *store.Store) {
	ctx := t.Context()
	stored := loadPropCatalog(t, rt, s)
	q := query.EntitiesQuery{Style: query.StyleQuery, TotalItems: true, Limit: rapid.IntRange(1, 5).Draw(rt, "limit")}
	q.Filter = genTopFilter(rt)
	if rapid.Bool().Draw(rt, "ordered") {
		q.Order = []query.Order{{Field: rapid.SampledFrom(propOrders).Draw(rt, "order"), Desc: rapid.Bool().Draw(rt, "desc")}}
	}
	if rapid.IntRange(0, 3).Draw(rt, "text") == 0 {
		q.FullText.Term = rapid.SampledFrom(propTerms).Draw(rt, "term")
		if rapid.Bool().Draw(rt, "textFields") {
			q.FullText.Fields = rapid.SliceOfN(rapid.SampledFrom(propKeys), 1, 2).Draw(rt, "fields")
		}
	}
	if rapid.IntRange(0, 3).Draw(rt, "offset") == 0 {
		q.Offset = rapid.IntRange(1, 4).Draw(rt, "offsetBy")
	}
	want := expectedWalk(stored, q)
	all := len(expectedWalk(stored, query.EntitiesQuery{Style: q.Style, Filter: q.Filter, Order: q.Order, FullText: q.FullText}))

	var walked []string
	var pages []query.EntitiesPage[store.EntityRecord]
	cur := q
	for {
		p, err := s.QueryEntities(ctx, cur)
		if err != nil {
			rt.Fatal(err)
		}
		if p.TotalItems != all {
			rt.Fatalf("page %d: totalItems %d, want %d", len(pages), p.TotalItems, all)
		}
		if len(p.Items) > q.Limit || (p.NextCursor != nil && len(p.Items) != q.Limit) {
			rt.Fatalf("page %d has %d items for limit %d", len(pages), len(p.Items), q.Limit)
		}
		pages = append(pages, p)
		walked = append(walked, pageRefs(p)...)
		if p.NextCursor == nil {
			break
		}
		if len(pages) > 40 {
			rt.Fatalf("walk does not end: %v", walked)
		}
		c, err := query.DecodeCursor(p.NextCursor.Encode())
		if err != nil {
			rt.Fatal(err)
		}
		cur = query.EntitiesQuery{Style: query.StyleQuery, Limit: q.Limit, Cursor: c}
	}
	seen := map[string]bool{}
	for _, ref := range walked {
		if seen[ref] {
			rt.Fatalf("%s returned twice: %v", ref, walked)
		}
		seen[ref] = true
	}
	if diff := cmp.Diff(want, walked); diff != "" {
		rt.Fatalf("forward walk (-want +got):\n%s", diff)
	}
	// Back from the last page to the first.
	last := pages[len(pages)-1]
	back := pageRefs(last)
	for c := last.PrevCursor; c != nil; {
		p, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Limit: q.Limit, Cursor: c})
		if err != nil {
			rt.Fatal(err)
		}
		back = append(pageRefs(p), back...)
		if len(back) > 2*len(want)+q.Limit {
			rt.Fatalf("backward walk does not end: %v", back)
		}
		c = p.PrevCursor
	}
	// Going back stops at the walk's first entity, past the offset.
	if diff := cmp.Diff(want, back); len(want) > 0 && diff != "" {
		rt.Fatalf("backward walk (-want +got):\n%s", diff)
	}
}

// Property: facets count, per facet key, the rows of the matching entities
// by value as written, with each of the store's plans (kind-scoped or not,
// from a few candidates or from the match set).
func TestPropertyFacets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, plan := range store.QueryPlans {
			t.Run("plan="+plan, func(t *testing.T) {
				store.SetQueryPlan(t, plan)
				rapid.Check(t, func(rt *rapid.T) { checkFacets(t, rt, s) })
			})
		}
	})
}

func checkFacets(t *testing.T, rt *rapid.T, s *store.Store) {
	stored := loadPropCatalog(t, rt, s)
	filter := genTopFilter(rt)
	facets := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"kind", "Kind", "spec.type", "metadata.tags", "metadata.namespace", "spec.none"}), 1, 3, rapid.ID[string]).Draw(rt, "facets")
	want := map[string][]query.FacetCount{}
	for _, f := range facets {
		counts := map[string]int{}
		for _, rec := range stored {
			rows, _ := query.BuildSearchJSON(rec.Body, rec.UID)
			rows = query.UniqueRows(rows)
			if filter != nil && !filter.Match(rows) {
				continue
			}
			for _, r := range rows {
				if r.Key == query.Lower(f) && !r.Null {
					counts[r.Original]++
				}
			}
		}
		list := []query.FacetCount{}
		for v, n := range counts {
			list = append(list, query.FacetCount{Value: v, Count: n})
		}
		slices.SortFunc(list, func(a, b query.FacetCount) int { return strings.Compare(a.Value, b.Value) })
		want[f] = list
	}
	got, err := s.EntityFacets(t.Context(), facets, filter)
	if err != nil {
		rt.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		rt.Fatalf("facets %v (-want +got):\n%s", facets, diff)
	}
}
