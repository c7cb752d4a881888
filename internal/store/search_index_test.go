package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// find returns the refs matching filter, in ref order.
func find(t *testing.T, s *store.Store, filter ...string) []string {
	t.Helper()
	p, err := s.QueryEntities(t.Context(), query.EntitiesQuery{Style: query.StyleList, Filter: mustFilter(t, filter...), Limit: query.NoLimit})
	if err != nil {
		t.Fatal(err)
	}
	return pageRefs(p)
}

// scalar runs a one-number query in a transaction.
func scalar(t *testing.T, s *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.WithTx(t.Context(), func(tx *store.Tx) error { return tx.QueryRowContext(t.Context(), q, args...).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

func exec(t *testing.T, s *store.Store, q string, args ...any) {
	t.Helper()
	if err := s.WithTx(t.Context(), func(tx *store.Tx) error { _, err := tx.ExecContext(t.Context(), q, args...); return err }); err != nil {
		t.Fatal(err)
	}
}

// checkIndexRows asserts that the index holds exactly the rows of the
// stored entities (none left behind, none missing, each as BuildSearch
// makes it), and that each row's kind column holds its entity's one kind.
func checkIndexRows(t *testing.T, s *store.Store) {
	t.Helper()
	all, err := s.ListEntities(t.Context(), store.EntityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Ref, Key, Value, Original, Kind string }
	text := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	var want []row
	for _, e := range all {
		rows, _ := query.BuildSearchJSON(e.Body, e.UID)
		rows = query.UniqueRows(rows)
		kind, kinds := "<null>", 0
		for _, r := range rows {
			if r.Key == "kind" && !r.Null {
				kind, kinds = r.Value, kinds+1
			}
		}
		if kinds != 1 {
			kind = "<null>"
		}
		for _, r := range rows {
			w := row{Ref: e.Ref, Key: r.Key, Value: r.Value, Original: r.Original, Kind: kind}
			if r.Null {
				w.Value, w.Original = "<null>", "<null>"
			} else if r.Original == r.Value {
				w.Original = "<null>"
			}
			want = append(want, w)
		}
	}
	var got []row
	err = s.WithTx(t.Context(), func(tx *store.Tx) error {
		rows, err := tx.QueryContext(t.Context(), `SELECT r.ref, s.key, s.value, s.original_value, s.kind
			FROM entity_search s JOIN entity_search_refs r ON r.id = s.entity_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			var value, original, kind *string
			if err := rows.Scan(&r.Ref, &r.Key, &value, &original, &kind); err != nil {
				return err
			}
			r.Value, r.Original, r.Kind = text(value), text(original), text(kind)
			got = append(got, r)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	less := func(a, b row) int {
		return strings.Compare(a.Ref+"\x00"+a.Key+"\x00"+a.Value, b.Ref+"\x00"+b.Key+"\x00"+b.Value)
	}
	slices.SortFunc(want, less)
	slices.SortFunc(got, less)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("entity_search rows of %d entities (-want +got):\n%s", len(all), diff)
	}
	if got := scalar(t, s, "SELECT COUNT(*) FROM entity_search_refs"); got != len(all) {
		t.Errorf("entity_search_refs has %d rows, want %d", got, len(all))
	}
}

func comp(name, typ string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Component","metadata":{"name":%q},"spec":{"type":%q}}`, name, typ)
}

func TestSearchIndexFollowsReplace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		replace := func(source string, bodies ...string) store.ReplaceResult {
			t.Helper()
			var recs []store.EntityRecord
			for _, b := range bodies {
				recs = append(recs, entity(t, b))
			}
			res, err := s.ReplaceSourceEntities(ctx, source, recs)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		replace("a", comp("one", "service"), comp("two", "service"), comp("three", "website"))
		if diff := cmp.Diff([]string{"component:default/one", "component:default/two"}, find(t, s, "spec.type=service")); diff != "" {
			t.Errorf("after insert (-want +got):\n%s", diff)
		}
		checkIndexRows(t, s)

		// Unchanged entities are not rewritten: a row altered behind the
		// store's back stays as it is.
		exec(t, s, "UPDATE entity_search SET value = 'tampered' WHERE key = 'metadata.name' AND value = 'one'")
		res := replace("a", comp("one", "service"), comp("two", "library"), comp("three", "website"))
		if res.Unchanged != 2 || res.Updated != 1 {
			t.Fatalf("replace: %+v", res)
		}
		if got := find(t, s, "metadata.name=tampered"); len(got) != 1 {
			t.Errorf("the unchanged entity was reindexed: %v", got)
		}
		if diff := cmp.Diff([]string{"component:default/one"}, find(t, s, "spec.type=service")); diff != "" {
			t.Errorf("after update, old value (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"component:default/two"}, find(t, s, "spec.type=library")); diff != "" {
			t.Errorf("after update, new value (-want +got):\n%s", diff)
		}
		// A changed entity is reindexed from its new body.
		replace("a", comp("one", "worker"), comp("two", "library"), comp("three", "website"))
		if got := find(t, s, "metadata.name=tampered"); len(got) != 0 {
			t.Errorf("changed entity kept stale rows: %v", got)
		}
		checkIndexRows(t, s)

		// Another source's version of a ref is not indexed.
		res = replace("b", comp("one", "hijack"), comp("four", "service"))
		if len(res.Conflicts) != 1 || len(find(t, s, "spec.type=hijack")) != 0 {
			t.Errorf("conflicting entity indexed: %+v", res)
		}
		// Deleted entities leave no rows.
		replace("a", comp("three", "website"))
		if got := find(t, s, "kind=component"); !slices.Equal(got, []string{"component:default/four", "component:default/three"}) {
			t.Errorf("after delete: %v", got)
		}
		checkIndexRows(t, s)
		replace("a")
		replace("b")
		checkIndexRows(t, s)
	})
}

func TestSearchIndexStragglers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		recs := []store.EntityRecord{entity(t, comp("one", "service")), entity(t, comp("two", "service"))}
		if _, err := s.ReplaceSourceEntities(ctx, "a", recs); err != nil {
			t.Fatal(err)
		}
		// Entities stored before the index existed have no search id; the
		// next replace of their source indexes them, unchanged or not.
		exec(t, s, "DELETE FROM entity_search")
		exec(t, s, "DELETE FROM entity_search_refs")
		if got := find(t, s, "kind=component"); len(got) != 0 {
			t.Fatalf("unindexed entities found: %v", got)
		}
		res, err := s.ReplaceSourceEntities(ctx, "a", recs)
		if err != nil || res.Unchanged != 2 {
			t.Fatalf("replace: %+v, %v", res, err)
		}
		if got := find(t, s, "kind=component"); len(got) != 2 {
			t.Errorf("not reindexed: %v", got)
		}
		checkIndexRows(t, s)

		// An entity deleted behind the store's back leaves its id and rows;
		// storing it again reuses them without duplicates.
		exec(t, s, "DELETE FROM entities WHERE ref = ?", "component:default/one")
		if _, err := s.ReplaceSourceEntities(ctx, "a", recs); err != nil {
			t.Fatal(err)
		}
		checkIndexRows(t, s)

		// An entity with a key in two casings (which Backstage refuses to
		// stitch) is still indexed, and listed once when ordered by name.
		dup := entity(t, `{"kind":"Component","metadata":{"name":"dup","Name":"Other"},"spec":{"type":"x","Type":"y"}}`)
		if _, err := s.ReplaceSourceEntities(ctx, "d", []store.EntityRecord{dup}); err != nil {
			t.Fatal(err)
		}
		if got := find(t, s, "spec.type=y"); len(got) != 1 {
			t.Errorf("both spellings are indexed: %v", got)
		}
		p, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Limit: 10, Order: []query.Order{{Field: "metadata.name"}},
			Filter: mustFilter(t, "spec.type=x")})
		if err != nil || !slices.Equal(pageRefs(p), []string{"component:default/dup"}) {
			t.Errorf("ordered by name: %v, %v", pageRefs(p), err)
		}

		// Text PostgreSQL cannot store is replaced, on both engines alike.
		nul := entity(t, `{"kind":"Component","metadata":{"name":"nul"},"spec":{"type":"a\u0000b"}}`)
		if _, err := s.ReplaceSourceEntities(ctx, "n", []store.EntityRecord{nul}); err != nil {
			t.Fatal(err)
		}
		if got := find(t, s, "spec.type=a\uFFFDb"); len(got) != 1 {
			t.Errorf("NUL value: %v", got)
		}
	})
}

func TestSearchIndexBulkLoad(t *testing.T) {
	store.SetBulkMinEntities(t, 10)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var recs []store.EntityRecord
		for i := range 40 {
			recs = append(recs, entity(t, comp(fmt.Sprintf("c%02d", i), []string{"service", "website"}[i%2])))
		}
		// Empty index: a bulk load. Then a small change: not one.
		for _, batch := range [][]store.EntityRecord{recs, append(recs[:39:39], entity(t, comp("c39", "library")))} {
			if _, err := s.ReplaceSourceEntities(ctx, "bulk", batch); err != nil {
				t.Fatal(err)
			}
			checkIndexRows(t, s)
		}
		if got := find(t, s, "spec.type=service"); len(got) != 20 {
			t.Errorf("service: %d entities", len(got))
		}
		if got := find(t, s, "spec.type=library"); !slices.Equal(got, []string{"component:default/c39"}) {
			t.Errorf("library: %v", got)
		}
		var indexes int
		if s.Driver() == store.DriverSQLite {
			indexes = scalar(t, s, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'entity_search_key_value'")
		} else {
			indexes = scalar(t, s, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'entity_search_key_value'")
		}
		if indexes != 1 {
			t.Errorf("the key/value index is missing after a bulk load")
		}
		p, err := s.EntityFacets(ctx, []string{"spec.type"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []query.FacetCount{fc("library", 1), fc("service", 20), fc("website", 19)}
		if diff := cmp.Diff(want, p["spec.type"], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("facets (-want +got):\n%s", diff)
		}
	})
}

// ApplySource indexes each entity as replaced and again as stitched; the
// second pass changes only the rows that differ (the relations), and
// entities whose relations or kind change keep exactly the rows of their
// final body.
func TestSearchIndexFollowsStitch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		apply := func(bodies []string, rels ...catalog.StoredRelation) {
			t.Helper()
			var recs []store.EntityRecord
			for _, b := range bodies {
				recs = append(recs, entity(t, b))
			}
			if _, err := s.ApplySource(ctx, "src", recs, rels); err != nil {
				t.Fatal(err)
			}
			checkIndexRows(t, s)
		}
		svc, team := comp("svc", "service"), `{"apiVersion":"v1","kind":"Group","metadata":{"name":"team"},"spec":{"type":"team"}}`
		owned := []catalog.StoredRelation{
			{SourceRef: "component:default/svc", Type: "ownedBy", TargetRef: "group:default/team"},
			{SourceRef: "group:default/team", Type: "ownerOf", TargetRef: "component:default/svc"},
		}
		apply([]string{svc, team}, owned...)
		if got := find(t, s, "relations.ownedby=group:default/team"); !slices.Equal(got, []string{"component:default/svc"}) {
			t.Errorf("by relation: %v", got)
		}
		// The relation goes: its rows go with it.
		apply([]string{svc, team})
		if got := find(t, s, "relations.ownedby"); len(got) != 0 {
			t.Errorf("stale relation rows: %v", got)
		}
		apply([]string{svc, strings.Replace(team, `"type":"team"`, `"type":"department"`, 1)}, owned[:1]...)

		// A changed kind (here to none that is one string, and back; a ref
		// names its kind, so only the store sees this) rewrites every row's
		// kind column.
		for _, kind := range []string{`["Component","API"]`, `"Component"`, `null`, `"Resource"`} {
			rec := entity(t, strings.Replace(svc, `"Component"`, kind, 1))
			rec.Ref = "component:default/svc"
			if _, err := s.ApplySource(ctx, "src", []store.EntityRecord{rec}, owned[:1]); err != nil {
				t.Fatal(err)
			}
			checkIndexRows(t, s)
		}
	})
}
