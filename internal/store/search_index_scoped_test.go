package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// Property 1: service catalog completeness — a stitched entity is found by
// exactly the rows its stitched body has: reindexing it within the
// stitch's scope (relations and the orphan annotation) leaves the same
// search rows, kind column included, as reindexing the whole body. The
// bodies mix in the spellings that would put walked keys in the scope,
// for which the whole body must be reindexed.
func TestScopedStitchIndexesAsWhole(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, Options{SQLitePath: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var scoped, whole int
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		ref := fmt.Sprintf("component:default/e%d", n)
		uid := fmt.Sprintf("uid-%d", n)
		stored := genStoredBody(rt, n)
		e := &stitchRow{uid: uid, body: stored, orphan: rapid.Bool().Draw(rt, "orphan"), rels: genRelations(rt)}
		final, _, isScoped, err := finalBodyScoped(e)
		if err != nil {
			rt.Fatal(err)
		}
		if isScoped {
			scoped++
		} else {
			whole++
		}
		got := indexStitch(ctx, rt, s, ref, uid, stored, func(ix *searchIndexer, id int64) error {
			if isScoped {
				return ix.indexScoped(ctx, id, stitchScopeRows(e))
			}
			return ix.index(ctx, ref, id, uid, final)
		})
		want := rowSet(entityRows(queuedEntity{uid: uid, body: final}))
		if !slices.Equal(got, want) {
			rt.Fatalf("scoped %v: rows after the stitch\n got %q\nwant %q\nstored %s\nfinal %s", isScoped, got, want, stored, final)
		}
	})
	if scoped == 0 || whole == 0 {
		t.Fatalf("the generator made %d scoped and %d whole stitches: both must be tested", scoped, whole)
	}
}

// indexStitch indexes stored as the body of ref, then reindexes it with
// stitch in a second indexer, as stitchChanges does, and returns its rows.
func indexStitch(ctx context.Context, rt *rapid.T, s *Store, ref, uid string, stored []byte, stitch func(*searchIndexer, int64) error) []string {
	var got []string
	err := s.WithTx(ctx, func(tx *Tx) error {
		ix := newSearchIndexer(tx, s.d)
		if err := ix.index(ctx, ref, 0, uid, stored); err != nil {
			return err
		}
		if err := ix.flush(ctx); err != nil {
			return err
		}
		ids, err := searchIDs(ctx, tx, []any{ref})
		if err != nil {
			return err
		}
		ix = newSearchIndexer(tx, s.d)
		if err := stitch(ix, ids[ref]); err != nil {
			return err
		}
		if err := ix.flush(ctx); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT key, value, original_value, kind FROM entity_search WHERE entity_id = ?", ids[ref])
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			var value, original, kind *string
			if err := rows.Scan(&key, &value, &original, &kind); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%s=%s/%s/%s", key, deref(value), deref(original), deref(kind)))
		}
		return rows.Err()
	})
	if err != nil {
		rt.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func rowSet(rows []searchRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		str := func(v any) string {
			if s, ok := v.(string); ok {
				return s
			}
			return "<nil>"
		}
		out[i] = fmt.Sprintf("%s=%s/%s/%s", r.key, str(r.value), str(r.original), str(r.kind))
	}
	slices.Sort(out)
	return out
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// genStoredBody draws a stored body: an entity with relations (as a
// previous stitch left them) and status, and sometimes keys whose
// lowercased paths fall in the stitch's scope.
func genStoredBody(rt *rapid.T, n int) []byte {
	meta := map[string]any{"name": fmt.Sprintf("e%d", n), "namespace": "default", "etag": "old"}
	ent := map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       rapid.SampledFrom([]any{"Component", "API", []any{"A", "B"}, 7.0}).Draw(rt, "kind"),
		"metadata":   meta,
		"spec":       map[string]any{"owner": "group:default/team-a", "type": "service"},
		"status":     map[string]any{"items": []any{}},
	}
	if rapid.Bool().Draw(rt, "has relations") {
		ent["relations"] = toAny(genRelations(rt))
	}
	annotations := map[string]any{"backstage.io/managed-by-location": "file:/x.yaml"}
	switch rapid.IntRange(0, 6).Draw(rt, "orphan annotation") {
	case 1:
		annotations["backstage.io/orphan"] = "true"
	case 2:
		annotations["backstage.io/orphan"] = "false"
	case 3:
		annotations["backstage.io/orphan"] = []any{"a", "true"}
	case 4:
		annotations["Backstage.io/Orphan"] = "true"
	case 5:
		annotations["backstage.io/orphan"] = true
	}
	switch rapid.IntRange(0, 8).Draw(rt, "annotations") {
	case 0:
		meta["annotations"] = annotations
	case 1:
		meta["annotations"] = "not an object"
	case 2:
		// none
	case 3:
		meta["annotations"] = map[string]any{}
	default:
		meta["annotations"] = annotations
	}
	switch rapid.IntRange(0, 12).Draw(rt, "scope spelling") {
	case 0:
		ent["Relations"] = map[string]any{"ownedBy": "group:default/x"}
	case 1:
		ent["relations.ownedBy"] = "group:default/y"
	case 2:
		meta["Annotations"] = map[string]any{"backstage.io/orphan": "true"}
	case 3:
		meta["annotations.backstage.io/orphan"] = "true"
	case 4:
		ent["Metadata"] = map[string]any{"annotations": map[string]any{"backstage.io/orphan": "true"}}
	case 5:
		ent["metadata.annotations"] = map[string]any{"backstage.io/orphan": "true"}
	}
	b, err := json.Marshal(ent)
	if err != nil {
		rt.Fatal(err)
	}
	return b
}

func genRelations(rt *rapid.T) []stitchedRelation {
	types := []string{"ownedBy", "ownedby", "partOf", "dependsOn", "hasMember"}
	targets := []string{"group:default/team-a", "Group:default/Team-A", "system:default/s", "resource:default/db"}
	k := rapid.IntRange(0, 5).Draw(rt, "relations")
	out := make([]stitchedRelation, k)
	for i := range out {
		out[i] = stitchedRelation{Type: rapid.SampledFrom(types).Draw(rt, "type"), TargetRef: rapid.SampledFrom(targets).Draw(rt, "target")}
	}
	return out
}

func toAny(rels []stitchedRelation) []any {
	out := make([]any, len(rels))
	for i, r := range rels {
		out[i] = map[string]any{"type": r.Type, "targetRef": r.TargetRef}
	}
	return out
}
