package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// textEntity is a component of textCatalog, with its name and title.
type textEntity struct {
	rec         store.EntityRecord
	name, title string
}

// textCatalog returns n components named and titled from a few words.
func textCatalog(t *testing.T, n int) []textEntity {
	t.Helper()
	words := []string{"payment", "Checkout", "ledger", "kyc"}
	var out []textEntity
	for i := range n {
		name, title := fmt.Sprintf("%s-%d", strings.ToLower(words[i%len(words)]), i), "The "+words[(i+1)%len(words)]
		body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":%q,"title":%q},"spec":{"type":"service"}}`, name, title)
		out = append(out, textEntity{entity(t, body), name, title})
	}
	return out
}

func records(es []textEntity) []store.EntityRecord {
	var out []store.EntityRecord
	for _, e := range es {
		out = append(out, e.rec)
	}
	return out
}

// checkText compares by-query's full-text matches (name and title, ordered
// by name, with their count) with the catalog's.
// With the filter kind=component and without (the catalog holds nothing
// else).
func checkText(t *testing.T, s *store.Store, es []textEntity, terms ...string) {
	t.Helper()
	for _, term := range terms {
		var want []string
		slices.SortFunc(es, func(a, b textEntity) int { return strings.Compare(a.name, b.name) })
		for _, e := range es {
			if lt := strings.ToLower(term); strings.Contains(e.name, lt) || strings.Contains(strings.ToLower(e.title), lt) {
				want = append(want, e.rec.Ref)
			}
		}
		for _, f := range []*query.Filter{mustFilter(t, "kind=component"), nil} {
			p, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleQuery, Filter: f, Limit: 1000, TotalItems: true,
				Order: []query.Order{{Field: "metadata.name"}}, FullText: query.FullTextFilter{Term: term, Fields: []string{"metadata.name", "metadata.title"}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := pageRefs(p); !slices.Equal(got, want) || p.TotalItems != len(want) {
				t.Errorf("term %q, filter %v: %d matches (total %d), want %d", term, f != nil, len(got), p.TotalItems, len(want))
			}
		}
	}
}

// TestTrigramIndex checks PostgreSQL's trigram index: migrated, dropped and
// rebuilt by a first bulk load, and full-text results alike with it,
// without it during a load, and without pg_trgm at all.
func TestTrigramIndex(t *testing.T) {
	s := storetest.Postgres(t)
	if !store.IndexExists(t, s, store.TrigramIndex) {
		t.Fatal("migration 0018 made no trigram index")
	}
	store.SetBulkMinEntities(t, 50)
	es := textCatalog(t, 400)
	if _, err := s.ReplaceSourceEntities(t.Context(), "text", records(es)); err != nil {
		t.Fatal(err)
	}
	if !store.IndexExists(t, s, store.TrigramIndex) || store.MissingSearchIndexes(t, s) != 0 {
		t.Fatal("a first bulk load left the trigram index dropped")
	}
	terms := []string{"kyc", "CHECK", "ledger-1", "e-3", "y", "zzz", "t%", "the k"}
	checkText(t, s, es, terms...)

	store.DropSearchIndexes(t, s)
	if store.IndexExists(t, s, store.TrigramIndex) || store.MissingSearchIndexes(t, s) != 3 {
		t.Fatal("dropping the search indexes kept the trigram index")
	}
	checkText(t, s, es, terms...)
	if err := s.EndBulkLoad(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !store.IndexExists(t, s, store.TrigramIndex) {
		t.Fatal("EndBulkLoad did not build the trigram index")
	}

	// Without pg_trgm (no contrib): no index, none missing, loads and
	// queries as before.
	store.ExecWrite(t, s, "DROP EXTENSION pg_trgm CASCADE")
	if store.IndexExists(t, s, store.TrigramIndex) || store.MissingSearchIndexes(t, s) != 0 {
		t.Fatal("without pg_trgm the trigram index counts as missing")
	}
	checkText(t, s, es, terms...)
	more := textCatalog(t, 500)
	if _, err := s.ReplaceSourceEntities(t.Context(), "text", records(more)); err != nil {
		t.Fatal(err)
	}
	checkText(t, s, more, terms...)
	store.DropSearchIndexes(t, s)
	if err := s.EndBulkLoad(t.Context()); err != nil {
		t.Fatal(err)
	}
	if store.MissingSearchIndexes(t, s) != 0 {
		t.Fatal("EndBulkLoad without pg_trgm left key indexes missing")
	}
	checkText(t, s, more, terms...)
}

// TestTrigramTable checks SQLite's trigram table (migration 0021): kept in
// step with every write of the search rows (a bulk first load, updates,
// removals), and full-text results through it the same as a substring
// test of the lowercased values, for terms it answers and those it leaves
// to the search rows (shorter than three characters, other keys).
func TestTrigramTable(t *testing.T) {
	s := storetest.SQLite(t)
	store.SetBulkMinEntities(t, 50)
	inStep := func(when string) {
		t.Helper()
		text, search := store.TextRows(t, s)
		if len(search) == 0 || !slices.Equal(text, search) {
			t.Fatalf("%s: the trigram table holds %d rows, the search rows %d (or they differ)", when, len(text), len(search))
		}
	}
	es := textCatalog(t, 400)
	// Titles with what LIKE and FTS5 read specially: quotes, wildcards,
	// an FTS5 operator, and letters beyond ASCII.
	odd := []string{"Odd One", `Say "hi" now`, "50% off_sale", "NEAR(a b)", "Zahlungsdienst Überweisung", "日本語のサービス"}
	for i, title := range odd {
		name := fmt.Sprintf("odd-%d", i)
		body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":%q,"title":%q},"spec":{"type":"service"}}`, name, title)
		es = append(es, textEntity{entity(t, body), name, title})
	}
	// A kind without a code of its own in the table's rowids.
	widget := entity(t, `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"gizmo-1","title":"Gizmo Thing"},"spec":{}}`)
	if _, err := s.ReplaceSourceEntities(t.Context(), "text", append(records(es), widget)); err != nil {
		t.Fatal(err)
	}
	inStep("after a first load")
	for _, plan := range store.QueryPlans {
		store.SetQueryPlan(t, plan)
		for filter, want := range map[string][]string{"kind=widget": {widget.Ref}, "kind=component": nil, "kind=widget,metadata.name=gizmo-1": {widget.Ref}, "": {widget.Ref}} {
			q := query.EntitiesQuery{Style: query.StyleQuery, Limit: 10, TotalItems: true, FullText: query.FullTextFilter{Term: "GIZMO", Fields: []string{"metadata.title"}}}
			if filter != "" {
				q.Filter = mustFilter(t, filter)
			}
			p, err := s.QueryEntities(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if got := pageRefs(p); !slices.Equal(got, want) || p.TotalItems != len(want) {
				t.Errorf("plan %q, filter %q: %v (total %d), want %v", plan, filter, got, p.TotalItems, want)
			}
		}
	}
	store.SetQueryPlan(t, "")
	terms := []string{"kyc", "CHECK", "ledger-1", "e-3", "y", "zzz", "t%", "the k", `"hi"`, `hi" n`, "% of", "f_s", "near(", "ÜBER", "überweisung", "サービス", "本語", "ng\xffd", "odd-0", "odd"}
	// Each plan: a catalog this small has a small driver for every
	// filter, which probes the rows; the others walk with the table's set.
	plans := func(es []textEntity, terms ...string) {
		t.Helper()
		for _, plan := range store.QueryPlans {
			store.SetQueryPlan(t, plan)
			checkText(t, s, es, terms...)
		}
		store.SetQueryPlan(t, "")
	}
	plans(es, terms...)

	// Updates: other titles for some, some gone, some new.
	var next []textEntity
	for i, e := range es[:300] {
		if i%3 == 0 {
			title := fmt.Sprintf("Renamed kyc %d", i)
			body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":%q,"title":%q},"spec":{"type":"service"}}`, e.name, title)
			e = textEntity{entity(t, body), e.name, title}
		}
		next = append(next, e)
	}
	next = append(next, textCatalog(t, 420)[400:]...)
	if _, err := s.ReplaceSourceEntities(t.Context(), "text", records(next)); err != nil {
		t.Fatal(err)
	}
	inStep("after updates")
	plans(next, append(terms, "renamed", "kyc 3")...)

	// A bulk load's batches drop the triggers with the key indexes: the
	// table is emptied, queries test the search rows meanwhile, EndBulkLoad
	// builds the key indexes only, and FinishBulkLoad fills the table again.
	store.DropSearchIndexes(t, s)
	if n := store.MissingSearchIndexes(t, s); n != 3 {
		t.Fatalf("%d search indexes missing after dropping them, want 3 (two key indexes, the trigram table)", n)
	}
	if text, _ := store.TextRows(t, s); len(text) != 0 {
		t.Fatalf("dropping the indexes left %d rows in the trigram table", len(text))
	}
	plans(next, terms...)
	if err := s.EndBulkLoad(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := store.MissingSearchIndexes(t, s); n != 1 {
		t.Fatalf("%d search indexes missing after EndBulkLoad, want 1 (the trigram table)", n)
	}
	plans(next, terms...)
	if err := s.FinishBulkLoad(t.Context()); err != nil {
		t.Fatal(err)
	}
	inStep("after FinishBulkLoad")
	plans(next, terms...)
}
