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
func checkText(t *testing.T, s *store.Store, es []textEntity, terms ...string) {
	t.Helper()
	for _, term := range terms {
		p, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, "kind=component"), Limit: 1000, TotalItems: true,
			Order: []query.Order{{Field: "metadata.name"}}, FullText: query.FullTextFilter{Term: term, Fields: []string{"metadata.name", "metadata.title"}}})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		slices.SortFunc(es, func(a, b textEntity) int { return strings.Compare(a.name, b.name) })
		for _, e := range es {
			if lt := strings.ToLower(term); strings.Contains(e.name, lt) || strings.Contains(strings.ToLower(e.title), lt) {
				want = append(want, e.rec.Ref)
			}
		}
		if got := pageRefs(p); !slices.Equal(got, want) || p.TotalItems != len(want) {
			t.Errorf("term %q: %d matches (total %d), want %d", term, len(got), p.TotalItems, len(want))
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
