package store

import (
	"context"
	"fmt"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
)

// A stitch changes an entity's body in its relations, status, etag, uid
// and orphan annotation only, and of these only the relations and the
// orphan annotation have search rows (BuildSearch walks neither relations
// nor status, and takes the uid apart). Reindexing a stitched entity then
// needs only the rows of its scope, the keys relations.* and
// metadata.annotations.backstage.io/orphan: read those, compare them with
// the stitch's, write the difference. Decoding and flattening the whole
// body and reading all its rows was most of the cost of restitching the
// entities a bulk load reached from later files (36k of 100k).

// orphanSearchKey is the search key of the orphan annotation.
var orphanSearchKey = "metadata.annotations." + catalog.OrphanAnnotation

// relationsKeyPrefix begins the search key of every relation.
const relationsKeyPrefix = "relations."

// stitchScoped reports whether a stitch of the stored body ent (decoded)
// leaves every search row outside the scope as it is. It is not so when a
// walked key would fall in the scope once lowercased (a top-level
// "Relations" or "relations.x", a metadata key spelled "Annotations", an
// annotation "Backstage.io/Orphan"), nor when the stitch would rewrite
// more than the annotation (annotations that are not an object, an orphan
// annotation that is not a string): the whole body is reindexed then.
func stitchScoped(ent map[string]any) bool {
	for k := range ent {
		lk := query.Lower(k)
		if k != "relations" && (lk == "relations" || strings.HasPrefix(lk, relationsKeyPrefix)) {
			return false
		}
		if k != "metadata" && strings.HasPrefix(orphanSearchKey, lk) {
			return false
		}
	}
	meta, ok := ent["metadata"].(map[string]any)
	if !ok {
		return ent["metadata"] == nil
	}
	const inMeta = "annotations." + catalog.OrphanAnnotation
	for k := range meta {
		if k != "annotations" && strings.HasPrefix(inMeta, query.Lower(k)) {
			return false
		}
	}
	ann, ok := meta["annotations"].(map[string]any)
	if !ok {
		return meta["annotations"] == nil
	}
	for k, v := range ann {
		if query.Lower(k) != catalog.OrphanAnnotation {
			continue
		}
		if _, isString := v.(string); k != catalog.OrphanAnnotation || !isString {
			return false
		}
	}
	return true
}

// stitchScopeRows are the scope's rows of e's stitched body: one per
// relation, and the orphan annotation's when e is an orphan.
func stitchScopeRows(e *stitchRow) []query.SearchRow {
	pairs := make([][2]string, 0, len(e.rels)+1)
	for _, r := range e.rels {
		pairs = append(pairs, [2]string{relationsKeyPrefix + r.Type, r.TargetRef})
	}
	if e.orphan {
		pairs = append(pairs, [2]string{orphanSearchKey, "true"})
	}
	return query.UniqueRows(query.StringRows(pairs))
}

// scopedEntity is an entity queued for reindexing within the scope.
type scopedEntity struct {
	id   int64
	want []query.SearchRow
}

// indexScoped replaces, at the next flush, the scope's rows of the
// indexed entity id with want (stitchScopeRows).
func (ix *searchIndexer) indexScoped(ctx context.Context, id int64, want []query.SearchRow) error {
	ix.scoped = append(ix.scoped, scopedEntity{id: id, want: want})
	if len(ix.scoped) >= searchEntityBatch {
		return ix.flush(ctx)
	}
	return nil
}

// diffScoped reads the scope's rows of the entities queued by
// indexScoped, and their kind, and returns the rows to delete and to
// insert. An entity also queued whole is left to that.
func (ix *searchIndexer) diffScoped(ctx context.Context) (removed, added []searchRow, err error) {
	if len(ix.scoped) == 0 {
		return nil, nil, nil
	}
	whole := map[int64]bool{}
	for _, e := range ix.queued {
		whole[e.id] = true
	}
	var ids []int64
	for _, e := range ix.scoped {
		if !whole[e.id] {
			ids = append(ids, e.id)
		}
	}
	current := make(map[int64][]searchRow, len(ids))
	kinds := make(map[int64][]searchRow, len(ids))
	for chunk := range chunks(ids, searchEntityBatch) {
		err := ix.d.readSearchRows(ctx, ix.tx, chunk, true, func(r searchRow) {
			if r.key == "kind" {
				kinds[r.id] = append(kinds[r.id], r)
			} else {
				current[r.id] = append(current[r.id], r)
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("store: search index: read rows: %w", err)
		}
	}
	for _, e := range ix.scoped {
		if whole[e.id] {
			continue
		}
		whole[e.id] = true // queued twice: the first counts, as both are the same stitch
		kind := entityKind(kinds[e.id])
		have := make(map[rowIdentity]bool, len(current[e.id]))
		for _, r := range current[e.id] {
			have[identity(r)] = true
		}
		keep := make(map[rowIdentity]bool, len(e.want))
		for _, w := range e.want {
			r := searchRow{id: e.id, key: noNUL(w.Key), kind: kind}
			if !w.Null {
				r.value = noNUL(w.Value)
				if w.Original != w.Value {
					r.original = noNUL(w.Original)
				}
			}
			k := identity(r)
			keep[k] = true
			if !have[k] {
				added = append(added, r)
			}
		}
		for _, r := range current[e.id] {
			if !keep[identity(r)] {
				removed = append(removed, r)
			}
		}
	}
	ix.scoped = ix.scoped[:0]
	if err := ix.numberAdded(ctx, added); err != nil {
		return nil, nil, err
	}
	return removed, added, nil
}

// numberAdded gives rows added to entities' stored rows, on SQLite, the
// seqs after each entity's highest (the scope's rows read are only some of
// its rows).
func (ix *searchIndexer) numberAdded(ctx context.Context, added []searchRow) error {
	if ix.d.name != DriverSQLite || len(added) == 0 {
		return nil
	}
	var ids []int64
	next := map[int64]int64{}
	for _, r := range added {
		if _, ok := next[r.id]; !ok {
			next[r.id] = 0
			ids = append(ids, r.id)
		}
	}
	for chunk := range chunks(ids, searchEntityBatch) {
		if err := ix.d.nextSeqs(ctx, ix.tx, chunk, next); err != nil {
			return fmt.Errorf("store: search index: %w", err)
		}
	}
	for i := range added {
		added[i].seq = next[added[i].id]
		next[added[i].id]++
	}
	return nil
}
