package store_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// kindCatalog returns entities of mixed-case kinds, Locations among them,
// with names that sort apart from their insertion order.
func kindCatalog(t *testing.T) []store.EntityRecord {
	t.Helper()
	kinds := []string{"Component", "API", "User", "group", "Location", "Template", "component"}
	var recs []store.EntityRecord
	for i := range 40 {
		kind := kinds[i%len(kinds)]
		body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":%q,"metadata":{"name":"e-%02d","namespace":"ns-%d"},"spec":{"type":"t%d"}}`,
			kind, (i*17)%40, i%3, i%4)
		recs = append(recs, entity(t, body))
	}
	return recs
}

// kindResults is what QueryEntities answers for a filter: every by-query
// page walked forward from the first, by limit 3 with totalItems, one page
// back from the last, and GET /entities pages by ref.
func kindResults(t *testing.T, s *store.Store, filters []string) string {
	t.Helper()
	var out strings.Builder
	q := query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, filters...), Limit: 3, TotalItems: true}
	for n := 0; ; n++ {
		p, err := s.QueryEntities(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "page %d total %d: %v\n", n, p.TotalItems, pageRefs(p))
		if p.NextCursor == nil {
			if p.PrevCursor != nil {
				back, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleQuery, Limit: 3, Cursor: p.PrevCursor})
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "back: %v\n", pageRefs(back))
			}
			break
		}
		q = query.EntitiesQuery{Style: query.StyleQuery, Limit: 3, Cursor: p.NextCursor}
	}
	for _, params := range []string{"limit=4&offset=2", "", "offset=39"} {
		v, _ := url.ParseQuery(params)
		v["filter"] = filters
		lq, err := query.ParseEntitiesParams(v)
		if err != nil {
			t.Fatal(err)
		}
		lq.TotalItems = true
		p, err := s.QueryEntities(t.Context(), lq)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "list %q total %d: %v\n", params, p.TotalItems, pageRefs(p))
	}
	return out.String()
}

// TestQueryKindsWithoutKeyIndexes checks that filters of nothing but kinds
// answer the same pages and counts while a first load has the key indexes
// dropped (read off entity_search_refs) as with them (the search rows).
func TestQueryKindsWithoutKeyIndexes(t *testing.T) {
	filters := [][]string{
		{"kind=component"},
		{"kind=Group", "kind=user"},
		{"kind=location"},
		{"kind=LOCATION", "kind=api", "kind=template", "kind=user", "kind=group", "kind=component"},
		{"kind=component,kind=COMPONENT"},
		{"kind=component,kind=api"},
		{"kind=system"},
		// Not only kinds: these use the search rows either way.
		{"kind=component,spec.type=t1"},
		{"kind=component", "spec.type=t2"},
		{"metadata.namespace=ns-1"},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		recs := kindCatalog(t)
		if _, err := s.ReplaceSourceEntities(t.Context(), "kinds", recs); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		for _, r := range recs {
			want[strings.ToLower(r.Kind)]++
		}
		with := make([]string, len(filters))
		for i, f := range filters {
			with[i] = kindResults(t, s, f)
			if got := store.RefKindPlan(t, s, query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, f...)}); got != nil {
				t.Errorf("%v with the key indexes: read off refs %v", f, got)
			}
		}
		for i, n := range map[int]int{0: want["component"], 1: want["group"] + want["user"], 2: want["location"], 3: len(recs), 6: 0} {
			if !strings.Contains(with[i], fmt.Sprintf("page 0 total %d:", n)) {
				t.Errorf("%v: want total %d, got\n%s", filters[i], n, with[i])
			}
		}

		store.DropSearchIndexes(t, s)
		if store.MissingSearchIndexes(t, s) == 0 {
			t.Fatal("the key indexes are still there")
		}
		for i, f := range filters {
			plan := store.RefKindPlan(t, s, query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, f...)})
			if onlyKinds := i < 7; (plan != nil) != onlyKinds {
				t.Errorf("%v without the key indexes: ref kinds %v, want them: %v", f, plan, onlyKinds)
			}
			if got := kindResults(t, s, f); got != with[i] {
				t.Errorf("%v without the key indexes:\n%s\nwith them:\n%s", f, got, with[i])
			}
		}
		// Ordered or with a full-text filter: the search rows.
		ordered := query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, "kind=user"), Order: []query.Order{{Field: "metadata.name"}}}
		if got := store.RefKindPlan(t, s, ordered); got != nil {
			t.Errorf("ordered: read off refs %v", got)
		}
		text := query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, "kind=user"), FullText: query.FullTextFilter{Term: "e-0"}}
		if got := store.RefKindPlan(t, s, text); got != nil {
			t.Errorf("full text: read off refs %v", got)
		}

		if err := s.EndBulkLoad(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBulkLoad(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := store.MissingSearchIndexes(t, s); n != 0 {
			t.Fatalf("%d search indexes missing after EndBulkLoad and FinishBulkLoad", n)
		}
		for i, f := range filters {
			if got := kindResults(t, s, f); got != with[i] {
				t.Errorf("%v after EndBulkLoad:\n%s\nbefore:\n%s", f, got, with[i])
			}
		}
	})
}
