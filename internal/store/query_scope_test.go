package store_test

import (
	"slices"
	"testing"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// Filters scoped to a kind read their other predicates' rows of that kind
// only (a driver, a streamed predicate): entities of other kinds with the
// same values must stay out, on every plan, in every style, on every page.
func TestQueryEntitiesKindScope(t *testing.T) {
	const (
		alpha, beta, gamma, epsilon = "component:default/alpha", "component:default/beta", "component:prod/gamma", "component:default/epsilon"
	)
	tests := []struct {
		name   string
		filter []string
		want   []string // in ref order
	}{
		// team-b owns beta and epsilon, and the API delta.
		{"owner", []string{"kind=component,spec.owner=team-b"}, []string{beta, epsilon}},
		{"owner, kind last", []string{"spec.owner=team-b,kind=component"}, []string{beta, epsilon}},
		// delta is an API with a title; java is alpha's and beta's.
		{"tag", []string{"kind=component,metadata.tags=java"}, []string{alpha, beta}},
		{"tag and more", []string{"kind=component,metadata.tags=java,spec.lifecycle=production"}, []string{alpha}},
		{"type of another kind", []string{"kind=api,spec.type=service"}, nil},
		{"kind only", []string{"kind=api"}, []string{"api:default/delta"}},
		{"group and a value users have not", []string{"kind=group,spec.type=team"}, []string{"group:default/team-a"}},
		{"kind in two filters", []string{"kind=component,spec.owner=team-a", "kind=component,spec.owner=team-b"}, []string{alpha, beta, epsilon, gamma}},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		loadFixture(t, s)
		eachPlan(t, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := mustFilter(t, tt.filter...)
					list, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleList, Filter: f, Limit: query.NoLimit, TotalItems: true})
					if err != nil {
						t.Fatal(err)
					}
					if got := pageRefs(list); !slices.Equal(got, tt.want) || list.TotalItems != len(tt.want) {
						t.Errorf("list: %v (total %d), want %v", got, list.TotalItems, tt.want)
					}
					// A by-query walk, a page of one entity at a time, with
					// and without an order field.
					for _, order := range [][]query.Order{nil, {{Field: "metadata.name"}}} {
						q := query.EntitiesQuery{Style: query.StyleQuery, Filter: f, Order: order, Limit: 1, TotalItems: true}
						var got []string
						total := -1
						for range len(tt.want) + 2 {
							p, err := s.QueryEntities(t.Context(), q)
							if err != nil {
								t.Fatal(err)
							}
							if total < 0 {
								total = p.TotalItems
							}
							got = append(got, pageRefs(p)...)
							if p.NextCursor == nil {
								break
							}
							q = query.EntitiesQuery{Style: query.StyleQuery, Limit: 1, Cursor: p.NextCursor}
						}
						slices.Sort(got)
						if !slices.Equal(got, tt.want) || total != len(tt.want) {
							t.Errorf("by-query ordered by %v: %v (total %d), want %v", order, got, total, tt.want)
						}
					}
				})
			}
		})
	})
}
