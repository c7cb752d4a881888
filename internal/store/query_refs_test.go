package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestEntitiesByRefs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		loadFixture(t, s)
		refsOf := func(recs []*store.EntityRecord) []string {
			var out []string
			for _, r := range recs {
				if r == nil {
					out = append(out, "<nil>")
				} else {
					out = append(out, r.Ref)
				}
			}
			return out
		}
		tests := []struct {
			name   string
			refs   []string
			filter *query.Filter
			want   []string
		}{
			{"input order with nulls for misses", []string{"user:default/zed", "component:default/nope", "component:default/alpha"}, nil,
				[]string{"user:default/zed", "<nil>", "component:default/alpha"}},
			{"case-insensitive and repeated", []string{"Component:Default/Alpha", "component:default/alpha"}, nil,
				[]string{"component:default/alpha", "component:default/alpha"}},
			{"filter rejects", []string{"component:default/alpha", "api:default/delta", "component:default/beta"}, mustFilter(t, "spec.owner=team-b"),
				[]string{"<nil>", "api:default/delta", "component:default/beta"}},
			{"none", nil, nil, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.EntitiesByRefs(t.Context(), tt.refs, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.refs) {
					t.Fatalf("%d results for %d refs", len(got), len(tt.refs))
				}
				if diff := cmp.Diff(tt.want, refsOf(got)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
		got, err := s.EntitiesByRefs(t.Context(), []string{"component:default/alpha"}, nil)
		if err != nil || got[0].UID == "" || got[0].Source != "fixture" || len(got[0].Body) == 0 {
			t.Errorf("records are complete: %+v, %v", got, err)
		}
		// More refs than one statement takes.
		many := make([]string, 1200)
		for i := range many {
			many[i] = "component:default/nope"
		}
		many[1100] = "group:default/team-a"
		got, err = s.EntitiesByRefs(t.Context(), many, nil)
		if err != nil || got[1100] == nil || got[0] != nil {
			t.Errorf("1200 refs: %v", err)
		}
	})
}

func fc(value string, count int) query.FacetCount {
	return query.FacetCount{Value: value, Count: count}
}

func TestEntityFacets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		loadFixture(t, s)
		tests := []struct {
			name   string
			facets []string
			filter *query.Filter
			want   map[string][]query.FacetCount
		}{
			{"values as written, counted apart by case", []string{"kind"}, nil, map[string][]query.FacetCount{
				"kind": {fc("API", 1), fc("Component", 3), fc("Group", 1), fc("User", 1), fc("component", 1)},
			}},
			{"filtered, keyed as asked", []string{"Spec.Type", "spec.lifecycle"}, mustFilter(t, "kind=component"), map[string][]query.FacetCount{
				"Spec.Type":      {fc("library", 1), fc("service", 2), fc("website", 1)},
				"spec.lifecycle": {fc("deprecated", 1), fc("experimental", 1), fc("production", 2)},
			}},
			{"arrays count each value", []string{"metadata.tags"}, nil, map[string][]query.FacetCount{
				"metadata.tags": {fc("Go", 1), fc("go", 1), fc("java", 2)},
			}},
			{"nulls and missing keys are left out", []string{"spec.x", "nothing"}, nil, map[string][]query.FacetCount{
				"spec.x": {}, "nothing": {},
			}},
			{"filter without a driver", []string{"spec.owner"}, func() *query.Filter { f := query.Not(query.In("kind", "component")); return &f }(),
				map[string][]query.FacetCount{"spec.owner": {fc("team-b", 1)}}},
			{"namespace default for entities without one", []string{"metadata.namespace"}, mustFilter(t, "kind=component"),
				map[string][]query.FacetCount{"metadata.namespace": {fc("default", 3), fc("prod", 1)}}},
		}
		eachPlan(t, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := s.EntityFacets(t.Context(), tt.facets, tt.filter)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("(-want +got):\n%s", diff)
					}
				})
			}
		})
	})
}
