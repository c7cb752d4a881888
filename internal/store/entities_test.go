package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// rec returns a record for ref ("kind:namespace/name") whose body depends
// on the hash, as a real content hash would.
func rec(ref, hash string) store.EntityRecord {
	kind, rest, _ := strings.Cut(ref, ":")
	ns, name, _ := strings.Cut(rest, "/")
	body, _ := json.Marshal(map[string]string{"kind": kind, "name": name, "hash": hash})
	return store.EntityRecord{Ref: ref, Kind: kind, Namespace: ns, Name: name, Hash: hash, Body: body}
}

func TestReplaceSourceEntities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const (
			r1 = "component:default/one"
			r2 = "component:default/two"
			r3 = "api:default/three"
			r4 = "group:default/four"
		)
		steps := []struct {
			name   string
			source string
			recs   []store.EntityRecord
			want   store.ReplaceResult
		}{
			{"insert", "a", []store.EntityRecord{rec(r1, "h1"), rec(r2, "h1")}, store.ReplaceResult{Inserted: 2}},
			{"unchanged, update, insert", "a", []store.EntityRecord{rec(r1, "h1"), rec(r2, "h2"), rec(r3, "h1")},
				store.ReplaceResult{Inserted: 1, Updated: 1, Unchanged: 1}},
			{"other source conflicts", "b", []store.EntityRecord{rec(r1, "hb"), rec(r4, "hb")},
				store.ReplaceResult{Inserted: 1, Conflicts: []string{r1}}},
			{"delete missing", "a", []store.EntityRecord{rec(r3, "h1")}, store.ReplaceResult{Unchanged: 1, Deleted: 2}},
			{"empty set deletes own only", "b", nil, store.ReplaceResult{Deleted: 1}},
		}
		var uidTwo string
		for _, st := range steps {
			got, err := s.ReplaceSourceEntities(ctx, st.source, st.recs)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if diff := cmp.Diff(st.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: result (-want +got):\n%s", st.name, diff)
			}
			switch st.name {
			case "insert":
				e, err := s.EntityByRef(ctx, r2)
				if err != nil {
					t.Fatal(err)
				}
				uidTwo = e.UID
			case "unchanged, update, insert":
				e, err := s.EntityByRef(ctx, r2)
				if err != nil {
					t.Fatal(err)
				}
				if e.UID != uidTwo || e.Hash != "h2" || !strings.Contains(string(e.Body), `"h2"`) {
					t.Errorf("after update: uid %q (want %q kept), hash %q, body %s", e.UID, uidTwo, e.Hash, e.Body)
				}
			case "other source conflicts":
				e, err := s.EntityByRef(ctx, r1)
				if err != nil {
					t.Fatal(err)
				}
				if e.Source != "a" || e.Hash != "h1" {
					t.Errorf("conflicting ref was taken over: source %q hash %q", e.Source, e.Hash)
				}
			}
		}
		all, err := s.ListEntities(ctx, store.EntityQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].Ref != r3 || all[0].Source != "a" {
			t.Errorf("left with %+v, want only %s from a", all, r3)
		}
	})
}

func TestReplaceSourceEntitiesFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		before := time.Now().Add(-time.Second)
		in := rec("Component:Default/Mixed", "h")
		in.UID = "uid-1"
		if _, err := s.ReplaceSourceEntities(ctx, "src", []store.EntityRecord{in}); err != nil {
			t.Fatal(err)
		}
		got, err := s.EntityByRef(ctx, "COMPONENT:default/mixed")
		if err != nil {
			t.Fatal(err)
		}
		want := in
		want.Ref, want.Source = "component:default/mixed", "src"
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.EntityRecord{}, "CreatedAt", "UpdatedAt")); diff != "" {
			t.Errorf("stored record (-want +got):\n%s", diff)
		}
		for name, ts := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
			if ts.Location() != time.UTC || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
				t.Errorf("%s = %v, want about now, in UTC", name, ts)
			}
		}

		dup := rec("component:default/other", "h")
		dup.UID = "uid-1"
		_, err = s.ReplaceSourceEntities(ctx, "src2", []store.EntityRecord{dup})
		if code := greenroom.ErrorCode(err); code != greenroom.CodeConflict {
			t.Errorf("reused uid: code %q, want conflict (err: %v)", code, err)
		}
		_, err = s.ReplaceSourceEntities(ctx, "src", []store.EntityRecord{rec("a:b/c", "1"), rec("A:b/C", "2")})
		if code := greenroom.ErrorCode(err); code != greenroom.CodeInvalid {
			t.Errorf("duplicate refs: code %q, want invalid (err: %v)", code, err)
		}
		_, err = s.ReplaceSourceEntities(ctx, "", nil)
		if code := greenroom.ErrorCode(err); code != greenroom.CodeInvalid {
			t.Errorf("empty source: code %q, want invalid (err: %v)", code, err)
		}
		if n, err := s.CountEntities(ctx); err != nil || n != 1 {
			t.Errorf("failed replaces changed the table: CountEntities = %d, %v", n, err)
		}
	})
}

func TestEntityByRefNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e, err := s.EntityByRef(t.Context(), "component:default/nope")
		if !greenroom.IsNotFound(err) {
			t.Fatalf("EntityByRef = %+v, %v; want a not_found error", e, err)
		}
		if want := "entity component:default/nope not found"; greenroom.ErrorMessage(err) != want {
			t.Errorf("message = %q, want %q", greenroom.ErrorMessage(err), want)
		}
	})
}

func TestListEntities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		refs := []string{"component:default/zeta", "API:default/alpha", "component:default/a-b", "component:default/a_b", "group:team/x", "Component:default/Beta"}
		var recs []store.EntityRecord
		for _, r := range refs {
			recs = append(recs, rec(r, "h"))
		}
		if _, err := s.ReplaceSourceEntities(ctx, "src", recs); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			q    store.EntityQuery
			want []string
		}{
			{store.EntityQuery{}, []string{"api:default/alpha", "component:default/a-b", "component:default/a_b", "component:default/beta", "component:default/zeta", "group:team/x"}},
			{store.EntityQuery{Kind: "COMPONENT"}, []string{"component:default/a-b", "component:default/a_b", "component:default/beta", "component:default/zeta"}},
			{store.EntityQuery{Kind: "component", Limit: 2, Offset: 1}, []string{"component:default/a_b", "component:default/beta"}},
			{store.EntityQuery{Offset: 4}, []string{"component:default/zeta", "group:team/x"}},
			{store.EntityQuery{Limit: 1}, []string{"api:default/alpha"}},
			{store.EntityQuery{Offset: 10}, nil},
			{store.EntityQuery{Kind: "template"}, nil},
		}
		for _, tt := range tests {
			got, err := s.ListEntities(ctx, tt.q)
			if err != nil {
				t.Fatalf("%+v: %v", tt.q, err)
			}
			if diff := cmp.Diff(tt.want, entityRefs(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ListEntities(%+v) (-want +got):\n%s", tt.q, diff)
			}
		}
		if _, err := s.ListEntities(ctx, store.EntityQuery{Limit: -1}); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("negative limit: err = %v, want invalid", err)
		}
	})
}

func entityRefs(recs []store.EntityRecord) []string {
	var refs []string
	for _, r := range recs {
		refs = append(refs, r.Ref)
	}
	return refs
}

// Property 1: service catalog completeness — every stored entity is listed.
// For any sequence of per-source replacements (with overlapping refs across
// sources, changed and unchanged hashes), ListEntities returns exactly the
// entities a model of the rules says are stored, each once, in ref order,
// and paging through them yields the same list. rapid runs 100 cases by
// default (-rapid.checks).
func TestPropertyCatalogCompleteness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		rapid.Check(t, func(rt *rapid.T) {
			err := s.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, "DELETE FROM entities")
				return err
			})
			if err != nil {
				rt.Fatal(err)
			}
			type owned struct{ source, hash string }
			model := map[string]owned{}
			sourceGen := rapid.SampledFrom([]string{"github", "url:a.yaml", "url:b.yaml"})
			refGen := rapid.Custom(func(rt *rapid.T) string {
				kind := rapid.SampledFrom([]string{"component", "api", "group"}).Draw(rt, "kind")
				name := rapid.StringMatching(`[a-z0-9][a-z0-9._-]{0,6}`).Draw(rt, "name")
				return kind + ":default/" + name
			})
			for round := range rapid.IntRange(1, 6).Draw(rt, "rounds") {
				source := sourceGen.Draw(rt, fmt.Sprintf("source%d", round))
				refs := rapid.SliceOfDistinct(refGen, rapid.ID).Draw(rt, fmt.Sprintf("refs%d", round))
				var recs []store.EntityRecord
				var want store.ReplaceResult
				for _, ref := range refs {
					hash := rapid.SampledFrom([]string{"h1", "h2"}).Draw(rt, "hash")
					recs = append(recs, rec(ref, hash))
					switch cur, ok := model[ref]; {
					case ok && cur.source != source:
						want.Conflicts = append(want.Conflicts, ref)
					case ok && cur.hash == hash:
						want.Unchanged++
					case ok:
						want.Updated++
						model[ref] = owned{source, hash}
					default:
						want.Inserted++
						model[ref] = owned{source, hash}
					}
				}
				for ref, cur := range model {
					if cur.source == source && !slices.Contains(refs, ref) {
						want.Deleted++
						delete(model, ref)
					}
				}
				got, err := s.ReplaceSourceEntities(ctx, source, recs)
				if err != nil {
					rt.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					rt.Fatalf("round %d result (-want +got):\n%s", round, diff)
				}
			}

			var want []string
			for ref := range model {
				want = append(want, ref)
			}
			slices.Sort(want)
			all, err := s.ListEntities(ctx, store.EntityQuery{})
			if err != nil {
				rt.Fatal(err)
			}
			if diff := cmp.Diff(want, entityRefs(all), cmpopts.EquateEmpty()); diff != "" {
				rt.Fatalf("listed refs (-want +got):\n%s", diff)
			}
			for _, e := range all {
				if m := model[e.Ref]; e.Source != m.source || e.Hash != m.hash {
					rt.Fatalf("%s: source %q hash %q, want %q %q", e.Ref, e.Source, e.Hash, m.source, m.hash)
				}
			}
			if n, err := s.CountEntities(ctx); err != nil || n != len(want) {
				rt.Fatalf("CountEntities = %d, %v; want %d", n, err, len(want))
			}
			page := rapid.IntRange(1, 5).Draw(rt, "page")
			var paged []store.EntityRecord
			for off := 0; ; off += page {
				p, err := s.ListEntities(ctx, store.EntityQuery{Limit: page, Offset: off})
				if err != nil {
					rt.Fatal(err)
				}
				paged = append(paged, p...)
				if len(p) < page {
					break
				}
			}
			if diff := cmp.Diff(want, entityRefs(paged), cmpopts.EquateEmpty()); diff != "" {
				rt.Fatalf("paged refs, page size %d (-want +got):\n%s", page, diff)
			}
		})
	})
}
