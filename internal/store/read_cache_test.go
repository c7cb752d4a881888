package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// EntityFacets answers from its cache only while nothing was written since
// the answer was counted: each step below changes what the same request
// must return, through each kind of write.
func TestEntityFacetsCacheFollowsWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tags := func(t *testing.T, want ...query.FacetCount) {
			t.Helper()
			for range 2 { // counted, then (same snapshot version) cached
				got, err := s.EntityFacets(ctx, []string{"metadata.tags"}, mustFilter(t, "kind=component"))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(map[string][]query.FacetCount{"metadata.tags": want}, got); diff != "" {
					t.Fatalf("(-want +got):\n%s", diff)
				}
				// The caller owns what it gets: changing it changes no
				// later answer.
				for i := range got["metadata.tags"] {
					got["metadata.tags"][i].Count = -1
				}
			}
		}
		recs := loadFixture(t, s)
		tags(t, fc("Go", 1), fc("go", 1), fc("java", 2))

		// An entity updated through a replacement.
		recs[1] = entity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"beta","tags":["rust"]},"spec":{"type":"website"}}`)
		if _, err := s.ReplaceSourceEntities(ctx, "fixture", recs); err != nil {
			t.Fatal(err)
		}
		tags(t, fc("Go", 1), fc("go", 1), fc("java", 1), fc("rust", 1))

		// An entity of another source, through ApplySource.
		extra := entity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"zeta","tags":["rust"]},"spec":{"type":"service"}}`)
		if _, err := s.ApplySource(ctx, "other", []store.EntityRecord{extra}, nil); err != nil {
			t.Fatal(err)
		}
		tags(t, fc("Go", 1), fc("go", 1), fc("java", 1), fc("rust", 2))

		// Any write transaction, even one outside the aggregate methods.
		err := s.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(context.Background(), "DELETE FROM entity_search WHERE key = 'metadata.tags' AND value = 'rust'")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tags(t, fc("Go", 1), fc("go", 1), fc("java", 1))
	})
}

// The totalItems of a query is cached the same way: every write that
// changes the count changes the answer of the next identical query, and
// queries differing in any part the count depends on are counted apart.
func TestQueryCountCacheFollowsWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		total := func(t *testing.T, q query.EntitiesQuery, want int) {
			t.Helper()
			for range 2 {
				p, err := s.QueryEntities(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if p.TotalItems != want {
					t.Fatalf("totalItems = %d, want %d", p.TotalItems, want)
				}
			}
		}
		components := query.EntitiesQuery{Style: query.StyleQuery, Limit: 1, TotalItems: true, Filter: mustFilter(t, "kind=component")}
		services := query.EntitiesQuery{Style: query.StyleQuery, Limit: 1, TotalItems: true, Filter: mustFilter(t, "kind=component,spec.type=service")}
		pay := query.EntitiesQuery{Style: query.StyleQuery, Limit: 1, TotalItems: true, Filter: mustFilter(t, "kind=component"),
			FullText: query.FullTextFilter{Term: "pay", Fields: []string{"metadata.title"}}}
		recs := loadFixture(t, s)
		total(t, components, 4)
		total(t, services, 2)
		total(t, pay, 1)

		recs = append(recs, entity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"zeta","title":"Zeta Pay"},"spec":{"type":"service"}}`))
		if _, err := s.ReplaceSourceEntities(ctx, "fixture", recs); err != nil {
			t.Fatal(err)
		}
		total(t, components, 5)
		total(t, services, 3)
		total(t, pay, 2)

		if _, err := s.ReplaceSourceEntities(ctx, "fixture", recs[:1]); err != nil {
			t.Fatal(err)
		}
		total(t, components, 1)
		total(t, pay, 1)
	})
}
