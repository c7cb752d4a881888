package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// entity returns a record for the entity JSON body, its ref taken from the
// body as the catalog builds it.
func entity(t testing.TB, body string) store.EntityRecord {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("bad entity %s: %v", body, err)
	}
	meta, _ := m["metadata"].(map[string]any)
	kind, _ := m["kind"].(string)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if ns == "" {
		ns = "default"
	}
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return store.EntityRecord{
		Ref: strings.ToLower(kind + ":" + ns + "/" + name), Kind: kind, Namespace: ns, Name: name,
		Hash: hex.EncodeToString(sum[:8]), Body: b,
	}
}

// fixture is a small catalog whose every search row the tests below know.
var fixture = []string{
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"alpha","namespace":"default","title":"Alpha Pay","tags":["java","Go"]},
	  "spec":{"type":"service","owner":"team-a","lifecycle":"production"},"relations":[{"type":"ownedBy","targetRef":"group:default/team-a"}]}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"beta","title":"Beta","tags":["java"]},
	  "spec":{"type":"website","owner":"team-b","lifecycle":"experimental"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"gamma","namespace":"prod","annotations":{"backstage.io/orphan":"true"}},
	  "spec":{"type":"service","owner":"team-a","lifecycle":"production","x":null},"relations":[{"type":"ownedBy","targetRef":"group:default/team-a"}]}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"delta","title":"Delta Pay API"},"spec":{"type":"openapi","owner":"team-b"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"team-a"},"spec":{"type":"team"}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"Zed"},"spec":{"memberOf":["team-a","team-b"]}}`,
	`{"apiVersion":"backstage.io/v1alpha1","kind":"component","metadata":{"name":"Epsilon","tags":["go"]},"spec":{"type":"library","lifecycle":"deprecated","owner":"team-b"}}`,
}

func loadFixture(t *testing.T, s *store.Store) []store.EntityRecord {
	t.Helper()
	var recs []store.EntityRecord
	for _, b := range fixture {
		recs = append(recs, entity(t, b))
	}
	if _, err := s.ReplaceSourceEntities(t.Context(), "fixture", recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

func pageRefs(p query.EntitiesPage[store.EntityRecord]) []string {
	var refs []string
	for _, r := range p.Items {
		refs = append(refs, r.Ref)
	}
	return refs
}

func mustFilter(t *testing.T, filters ...string) *query.Filter {
	t.Helper()
	f, err := query.ParseFilter(url.Values{"filter": filters})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// eachPlan runs fn under every plan of the store: the test catalogs are
// too small for the planner to pick anything but a driver.
func eachPlan(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, plan := range store.QueryPlans {
		t.Run("plan="+plan, func(t *testing.T) {
			store.SetQueryPlan(t, plan)
			fn(t)
		})
	}
}

func TestQueryEntitiesFilter(t *testing.T) {
	const (
		alpha, beta, gamma, delta = "component:default/alpha", "component:default/beta", "component:prod/gamma", "api:default/delta"
		teamA, zed, epsilon       = "group:default/team-a", "user:default/zed", "component:default/epsilon"
	)
	not := func(f *query.Filter) *query.Filter { n := query.Not(*f); return &n }
	none := query.In("kind")
	tests := []struct {
		name   string
		filter *query.Filter
		want   []string
	}{
		{"no filter", nil, []string{delta, alpha, beta, epsilon, gamma, teamA, zed}},
		{"kind", mustFilter(t, "kind=component"), []string{alpha, beta, epsilon, gamma}},
		{"keys and values ignore case", mustFilter(t, "KIND=COMPONENT"), []string{alpha, beta, epsilon, gamma}},
		{"and within one filter", mustFilter(t, "kind=component,spec.type=service"), []string{alpha, gamma}},
		{"or across filters", mustFilter(t, "kind=api", "kind=group"), []string{delta, teamA}},
		{"a key twice is any of its values", mustFilter(t, "spec.type=service,spec.type=website"), []string{alpha, beta, gamma}},
		{"existence", mustFilter(t, "spec.lifecycle"), []string{alpha, beta, epsilon, gamma}},
		{"existence of a null value", mustFilter(t, "spec.x"), []string{gamma}},
		{"array item key", mustFilter(t, "metadata.tags.java"), []string{alpha, beta}},
		{"array item value", mustFilter(t, "metadata.tags=GO"), []string{alpha, epsilon}},
		{"array of refs", mustFilter(t, "spec.memberof.team-b=true"), []string{zed}},
		{"annotation key with dots", mustFilter(t, "metadata.annotations.backstage.io/orphan=true"), []string{gamma}},
		{"relation", mustFilter(t, "relations.ownedby=group:default/team-a"), []string{alpha, gamma}},
		{"missing namespace is default", mustFilter(t, "metadata.namespace=default,kind=component"), []string{alpha, beta, epsilon}},
		{"name", mustFilter(t, "metadata.name=zed"), []string{zed}},
		{"not", not(mustFilter(t, "kind=component")), []string{delta, teamA, zed}},
		{"not of an or", not(mustFilter(t, "spec.owner=team-a", "spec.owner=team-b")), []string{teamA, zed}},
		{"empty value list", &none, nil},
		{"empty value", mustFilter(t, "spec.type="), nil},
		{"unknown key", mustFilter(t, "spec.nothing"), nil},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		recs := loadFixture(t, s)
		eachPlan(t, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					q := query.EntitiesQuery{Style: query.StyleList, Filter: tt.filter, Limit: query.NoLimit, TotalItems: true}
					p, err := s.QueryEntities(t.Context(), q)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tt.want, pageRefs(p), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("refs (-want +got):\n%s", diff)
					}
					if p.TotalItems != len(tt.want) {
						t.Errorf("TotalItems = %d, want %d", p.TotalItems, len(tt.want))
					}
					// The SQL must agree with the reference semantics.
					if tt.filter != nil {
						var oracle []string
						for _, r := range recs {
							rows, _ := query.BuildSearchJSON(r.Body, "u")
							if tt.filter.Match(rows) {
								oracle = append(oracle, r.Ref)
							}
						}
						slices.Sort(oracle)
						if diff := cmp.Diff(tt.want, oracle, cmpopts.EquateEmpty()); diff != "" {
							t.Errorf("Filter.Match disagrees (-want +oracle):\n%s", diff)
						}
					}
				})
			}
		})
	})
}

func TestQueryEntitiesListOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		loadFixture(t, s)
		kinds := mustFilter(t, "kind=component")
		tests := []struct {
			name   string
			order  []string
			filter *query.Filter
			want   []string
		}{
			{"by name", []string{"asc:metadata.name"}, kinds,
				[]string{"component:default/alpha", "component:default/beta", "component:default/epsilon", "component:prod/gamma"}},
			{"by name descending", []string{"desc:metadata.name"}, kinds,
				[]string{"component:prod/gamma", "component:default/epsilon", "component:default/beta", "component:default/alpha"}},
			{"field case ignored", []string{"desc:Metadata.NAME"}, kinds,
				[]string{"component:prod/gamma", "component:default/epsilon", "component:default/beta", "component:default/alpha"}},
			{"missing values last, by ref", []string{"asc:spec.lifecycle"}, nil, []string{
				"component:default/epsilon", "component:default/beta", "component:default/alpha", "component:prod/gamma",
				"api:default/delta", "group:default/team-a", "user:default/zed"}},
			{"descending keeps missing last; ties follow the direction", []string{"desc:spec.lifecycle"}, nil, []string{
				"component:prod/gamma", "component:default/alpha", "component:default/beta", "component:default/epsilon",
				"api:default/delta", "group:default/team-a", "user:default/zed"}},
			{"several fields", []string{"asc:spec.owner", "desc:metadata.name"}, nil, []string{
				"component:prod/gamma", "component:default/alpha", "component:default/epsilon", "api:default/delta", "component:default/beta",
				"user:default/zed", "group:default/team-a"}},
			{"a multi-valued field sorts by its smallest value", []string{"desc:metadata.tags"}, kinds, []string{
				"component:default/beta", "component:default/epsilon", "component:default/alpha", "component:prod/gamma"}},
		}
		eachPlan(t, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					order, err := query.ParseOrder(url.Values{"order": tt.order})
					if err != nil {
						t.Fatal(err)
					}
					p, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleList, Filter: tt.filter, Order: order, Limit: query.NoLimit})
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tt.want, pageRefs(p)); diff != "" {
						t.Errorf("order (-want +got):\n%s", diff)
					}
					// Paging through with limit and after yields the same.
					var paged []string
					q := query.EntitiesQuery{Style: query.StyleList, Filter: tt.filter, Order: order, Limit: 2}
					for range 10 {
						p, err := s.QueryEntities(t.Context(), q)
						if err != nil {
							t.Fatal(err)
						}
						paged = append(paged, pageRefs(p)...)
						if p.NextAfter == "" {
							break
						}
						v := url.Values{"after": {p.NextAfter}, "order": tt.order}
						if q, err = query.ParseEntitiesParams(v); err != nil {
							t.Fatal(err)
						}
						q.Filter = tt.filter
					}
					if diff := cmp.Diff(tt.want, paged); diff != "" {
						t.Errorf("paged with after (-want +got):\n%s", diff)
					}
				})
			}
		})
		p, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleList, Offset: 5, Limit: 10})
		if err != nil || len(p.Items) != 2 || p.NextAfter != "" {
			t.Errorf("offset 5 of 7: %v, %v", pageRefs(p), err)
		}
		_, err = s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleQuery, Limit: -1})
		if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("negative by-query limit: %v", err)
		}
		forged := &query.Cursor{OrderFields: []query.Order{}, OrderFieldValues: []string{"component:default/alpha"}}
		_, err = s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleQuery, Limit: 2, Cursor: forged})
		if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("cursor with a position the store did not make: %v", err)
		}
	})
}

func TestQueryEntitiesByQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		recs := loadFixture(t, s)
		ctx := t.Context()
		walk := func(t *testing.T, q query.EntitiesQuery) (refs []string, pages []query.EntitiesPage[store.EntityRecord]) {
			t.Helper()
			for range 20 {
				p, err := s.QueryEntities(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, p)
				refs = append(refs, pageRefs(p)...)
				if p.NextCursor == nil {
					return refs, pages
				}
				// As a client would: through the opaque string.
				if q, err = query.ParseQueryParams(url.Values{"cursor": {p.NextCursor.Encode()}, "limit": {"2"}}); err != nil {
					t.Fatal(err)
				}
			}
			t.Fatal("walk does not end")
			return nil, nil
		}
		tests := []struct {
			name   string
			params url.Values
			want   []string
		}{
			{"unordered is in stored order", url.Values{"filter": {"kind=component"}},
				[]string{"component:default/alpha", "component:default/beta", "component:prod/gamma", "component:default/epsilon"}},
			{"by name descending, ties by ref", url.Values{"orderField": {"metadata.name,desc"}},
				[]string{"user:default/zed", "group:default/team-a", "component:prod/gamma", "component:default/epsilon", "api:default/delta",
					"component:default/beta", "component:default/alpha"}},
			{"entities lacking the order field are left out", url.Values{"orderField": {"spec.lifecycle,asc"}},
				[]string{"component:default/epsilon", "component:default/beta", "component:default/alpha", "component:prod/gamma"}},
			{"full text on the order field", url.Values{"orderField": {"metadata.title"}, "fullTextFilterTerm": {" PAY "}},
				[]string{"component:default/alpha", "api:default/delta"}},
			{"full text on named fields", url.Values{"fullTextFilterTerm": {"team-"}, "fullTextFilterFields": {"spec.owner"}, "filter": {"kind=component"}},
				[]string{"component:default/alpha", "component:default/beta", "component:prod/gamma", "component:default/epsilon"}},
			{"full text is literal", url.Values{"fullTextFilterTerm": {"%"}, "fullTextFilterFields": {"metadata.name"}}, nil},
			{"full text and filter", url.Values{"fullTextFilterTerm": {"a"}, "fullTextFilterFields": {"metadata.name"}, "filter": {"spec.owner=team-a"}},
				[]string{"component:default/alpha", "component:prod/gamma"}},
			{"offset", url.Values{"orderField": {"metadata.name"}, "offset": {"5"}}, []string{"group:default/team-a", "user:default/zed"}},
		}
		eachPlan(t, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.params.Set("limit", "2")
					q, err := query.ParseQueryParams(tt.params)
					if err != nil {
						t.Fatal(err)
					}
					got, pages := walk(t, q)
					if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("walk (-want +got):\n%s", diff)
					}
					wantTotal := len(tt.want)
					if tt.params.Has("offset") {
						wantTotal = 7
					}
					for i, p := range pages {
						if p.TotalItems != wantTotal {
							t.Errorf("page %d: TotalItems = %d, want %d", i, p.TotalItems, wantTotal)
						}
					}
					if pages[0].PrevCursor != nil {
						t.Error("the first page has a prevCursor")
					}
					// Walking back from the last page returns the earlier pages.
					last := pages[len(pages)-1]
					if len(pages) > 1 && !tt.params.Has("offset") {
						var back []string
						cur := last.PrevCursor
						for cur != nil {
							p, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Limit: 2, Cursor: cur})
							if err != nil {
								t.Fatal(err)
							}
							back = append(pageRefs(p), back...)
							cur = p.PrevCursor
						}
						back = append(back, pageRefs(last)...)
						if diff := cmp.Diff(tt.want, back); diff != "" {
							t.Errorf("backward walk (-want +got):\n%s", diff)
						}
					}
				})
			}
		})

		// The default full-text field without an order is metadata.uid.
		var uid string
		all, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Limit: query.NoLimit, Filter: mustFilter(t, "metadata.name=beta")})
		if err != nil || len(all.Items) != 1 {
			t.Fatalf("beta: %v %v", all.Items, err)
		}
		uid = all.Items[0].UID
		p, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Limit: 5, TotalItems: true, FullText: query.FullTextFilter{Term: strings.ToUpper(uid[:8])}})
		if err != nil || len(p.Items) != 1 || p.Items[0].Ref != recs[1].Ref {
			t.Errorf("full text on the default field: %v, %v", pageRefs(p), err)
		}
		// limit 0 counts without listing.
		p, err = s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Limit: 0, TotalItems: true, Filter: mustFilter(t, "kind=component")})
		if err != nil || len(p.Items) != 0 || p.TotalItems != 4 || p.NextCursor != nil {
			t.Errorf("limit 0: %+v, %v", p, err)
		}
	})
}
