package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// stitchBatch bounds the entities stitched per statement and transaction.
const stitchBatch = 500

// ApplySource stores everything one refresh of a catalog source produced,
// in ONE transaction, so readers never see a half-processed source: recs
// become the source's entities (as ReplaceSourceEntities, except that the
// source's entities missing from recs become orphans instead of being
// deleted), rels the relations its entities emit (those whose OriginRef
// lost a conflict left out; those its orphans emitted kept), and every
// entity whose final form may have changed — the source's own, its new
// orphans, and both ends of old and new relations — is stitched (as
// StitchEntities). The result's Changes name every entity whose served form
// changed.
func (s *Store) ApplySource(ctx context.Context, source string, recs []EntityRecord, rels []catalog.StoredRelation) (ReplaceResult, error) {
	var res ReplaceResult
	seen, err := checkRecords(source, recs)
	if err != nil {
		return res, err
	}
	if err := s.d.prepareBulkWrite(ctx, s.write); err != nil {
		return res, err
	}
	defer s.d.finishBulkWrite(ctx, s.write)
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		pre := newPrestitcher(rels)
		out, err := s.replaceEntities(ctx, tx, source, recs, seen, missingOrphan, pre)
		if err != nil {
			return err
		}
		if len(out.res.Conflicts) > 0 {
			lost := make(map[string]bool, len(out.res.Conflicts))
			for _, ref := range out.res.Conflicts {
				lost[ref] = true
			}
			rels = slices.DeleteFunc(slices.Clone(rels), func(r catalog.StoredRelation) bool { return lost[strings.ToLower(r.OriginRef)] })
		}
		affected, err := s.replaceRelations(ctx, tx, source, rels)
		if err != nil {
			return err
		}
		refs := make([]string, 0, len(seen)+len(out.orphaned)+len(affected)+len(out.affected))
		for ref := range seen {
			refs = append(refs, ref)
		}
		for ref := range out.orphaned {
			refs = append(refs, ref)
		}
		refs = append(append(refs, affected...), out.affected...)
		changed, err := s.stitchAll(ctx, tx, refs, pre)
		if err != nil {
			return err
		}
		res = out.res
		res.Changes = out.classify(changed)
		return nil
	})
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("store: apply source %s: %w", source, err)
	}
	return res, nil
}

// classify names the kind of each stitched change, and adds the
// deletions.
func (out *replaced) classify(changed []catalog.Event) []catalog.Event {
	for i := range changed {
		switch ref := changed[i].Ref; {
		case out.inserted[ref]:
			changed[i].Type = catalog.EventCreated
		case out.orphaned[ref]:
			changed[i].Type = catalog.EventOrphaned
		}
	}
	return append(changed, out.deleted...)
}

// RetireSource makes every entity of source, a source that is no longer
// configured or registered, an orphan: it keeps its data and the relations
// it emitted. The source's refresh state is forgotten, so that the source
// is processed afresh if it comes back. One transaction; Changes name the
// new orphans and the entities restitched.
func (s *Store) RetireSource(ctx context.Context, source string) (ReplaceResult, error) {
	var res ReplaceResult
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		out, err := s.replaceEntities(ctx, tx, source, nil, nil, missingOrphan, nil)
		if err != nil {
			return err
		}
		affected, err := s.replaceRelations(ctx, tx, source, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM catalog_sources WHERE name = ?", source); err != nil {
			return err
		}
		refs := affected
		for ref := range out.orphaned {
			refs = append(refs, ref)
		}
		changed, err := s.stitchAll(ctx, tx, refs, nil)
		if err != nil {
			return err
		}
		res = out.res
		res.Changes = out.classify(changed)
		return nil
	})
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("store: retire source %s: %w", source, err)
	}
	return res, nil
}

// DeleteOrphans deletes every orphan, a batch per transaction: its row,
// its search rows and the relations it emitted; the entities those
// relations reached are restitched. Deleted counts the orphans deleted;
// Changes name them and the entities restitched.
func (s *Store) DeleteOrphans(ctx context.Context) (ReplaceResult, error) {
	var total ReplaceResult
	for {
		var batch ReplaceResult
		err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
			var err error
			batch, err = s.deleteOrphanBatch(ctx, tx)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: delete orphans: %w", err)
		}
		total.Deleted += batch.Deleted
		total.Changes = append(total.Changes, batch.Changes...)
		if batch.Deleted == 0 {
			return total, nil
		}
	}
}

func (s *Store) deleteOrphanBatch(ctx context.Context, tx *Tx) (ReplaceResult, error) {
	var res ReplaceResult
	rows, err := tx.QueryContext(ctx, "SELECT ref FROM entities WHERE orphaned_at IS NOT NULL ORDER BY ref LIMIT ?", stitchBatch)
	if err != nil {
		return res, err
	}
	var refs []any
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			rows.Close()
			return res, err
		}
		refs = append(refs, ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(refs) == 0 {
		return res, err
	}
	// Only rows still orphans now: a source may have claimed one since.
	rows, err = tx.QueryContext(ctx, "DELETE FROM entities WHERE orphaned_at IS NOT NULL AND ref IN ("+placeholders(len(refs))+") RETURNING ref, uid, source", refs...)
	if err != nil {
		return res, err
	}
	gone := map[string]bool{}
	var deleted []any
	for rows.Next() {
		var ev catalog.Event
		if err := rows.Scan(&ev.Ref, &ev.UID, &ev.Source); err != nil {
			rows.Close()
			return res, err
		}
		ev.Type = catalog.EventDeleted
		res.Changes = append(res.Changes, ev)
		gone[ev.Ref] = true
		deleted = append(deleted, ev.Ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(deleted) == 0 {
		return res, err
	}
	res.Deleted = len(deleted)
	affected, err := dropOriginRelations(ctx, tx, "", deleted)
	if err != nil {
		return res, err
	}
	ids, err := searchIDs(ctx, tx, deleted)
	if err != nil {
		return res, err
	}
	ix := newSearchIndexer(tx, s.d)
	for _, id := range ids {
		if err := ix.remove(ctx, id); err != nil {
			return res, err
		}
	}
	if err := ix.flush(ctx); err != nil {
		return res, err
	}
	affected = slices.DeleteFunc(affected, func(ref string) bool { return gone[ref] })
	changed, err := s.stitchAll(ctx, tx, affected, nil)
	if err != nil {
		return res, err
	}
	res.Changes = append(res.Changes, changed...)
	return res, nil
}

// ReplaceSourceRelations makes rels the complete set of relations emitted
// by source's entities, in one transaction, and returns the refs whose
// stitched relations may have changed: the source refs of the old rows and
// of the new ones, sorted. Relations emitted by the source's orphans stay.
func (s *Store) ReplaceSourceRelations(ctx context.Context, source string, rels []catalog.StoredRelation) ([]string, error) {
	var affected []string
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		var err error
		affected, err = s.replaceRelations(ctx, tx, source, rels)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: replace relations of %s: %w", source, err)
	}
	return affected, nil
}

func (s *Store) replaceRelations(ctx context.Context, tx *Tx, source string, rels []catalog.StoredRelation) ([]string, error) {
	affected := map[string]bool{}
	if err := s.d.lockFor(ctx, tx, "relations:"+source); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT source_ref FROM relations WHERE source_name = ?", source)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			rows.Close()
			return nil, err
		}
		affected[ref] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// An orphan is frozen as it was: the relations it emitted stay until it
	// is deleted or claimed.
	if _, err := tx.ExecContext(ctx, `DELETE FROM relations WHERE source_name = ? AND origin_ref NOT IN
		(SELECT ref FROM entities WHERE source = ? AND orphaned_at IS NOT NULL)`, source, source); err != nil {
		return nil, err
	}
	for _, r := range rels {
		affected[strings.ToLower(r.SourceRef)] = true
	}
	if err := s.insertRelations(ctx, tx, source, rels); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(affected))
	for ref := range affected {
		out = append(out, ref)
	}
	slices.Sort(out)
	return out, nil
}

// StitchEntities rewrites the final form of each existing entity among
// refs: metadata.uid and metadata.etag set, relations taken from the
// relations table (sorted, without duplicates), status.items from its
// processing errors and the backstage.io/orphan annotation from its orphan
// state. Entities whose final form is unchanged are not written. The
// search index follows in the same transaction. Unknown refs are ignored.
func (s *Store) StitchEntities(ctx context.Context, refs []string) error {
	for batch := range chunks(refs, stitchBatch) {
		if err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error { return s.stitch(ctx, tx, batch) }); err != nil {
			return fmt.Errorf("store: stitch entities: %w", err)
		}
	}
	return nil
}

// stitchAll stitches refs (in any order, duplicates allowed) in batches
// and returns an EventUpdated for every entity whose served form changed.
func (s *Store) stitchAll(ctx context.Context, tx *Tx, refs []string, pre *prestitcher) ([]catalog.Event, error) {
	slices.Sort(refs)
	var changed []catalog.Event
	for batch := range chunks(slices.Compact(refs), stitchBatch) {
		evs, err := s.stitchChanges(ctx, tx, batch, pre)
		if err != nil {
			return nil, err
		}
		changed = append(changed, evs...)
	}
	return changed, nil
}

type stitchRow struct {
	uid, source, errors string
	orphan              bool
	body                []byte
	rels                []stitchedRelation
}

type stitchedRelation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// stitch is stitchChanges for callers that need no events.
func (s *Store) stitch(ctx context.Context, tx *Tx, refs []string) error {
	_, err := s.stitchChanges(ctx, tx, refs, nil)
	return err
}

// stitchChanges stitches at most a batch of refs and returns an
// EventUpdated, in ref order, for each entity whose served form changed.
// Entities pre says were written stitched from the inputs they have are
// not rebuilt.
func (s *Store) stitchChanges(ctx context.Context, tx *Tx, refs []string, pre *prestitcher) ([]catalog.Event, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	lower := make([]any, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	in := placeholders(len(refs))
	ents := map[string]*stitchRow{}
	rows, err := tx.QueryContext(ctx, "SELECT ref, uid, source, errors, CASE WHEN orphaned_at IS NULL THEN 0 ELSE 1 END, body FROM entities WHERE ref IN ("+in+")", lower...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var ref string
		var orphan int
		r := &stitchRow{}
		if err := rows.Scan(&ref, &r.uid, &r.source, &r.errors, &orphan, &r.body); err != nil {
			rows.Close()
			return nil, err
		}
		r.orphan = orphan != 0
		ents[ref] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ents) == 0 {
		return nil, nil
	}
	rows, err = tx.QueryContext(ctx, "SELECT DISTINCT source_ref, type, target_ref FROM relations WHERE source_ref IN ("+in+") ORDER BY source_ref, type, target_ref", lower...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var src string
		var rel stitchedRelation
		if err := rows.Scan(&src, &rel.Type, &rel.TargetRef); err != nil {
			rows.Close()
			return nil, err
		}
		if e := ents[src]; e != nil {
			e.rels = append(e.rels, rel)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids, err := searchIDs(ctx, tx, lower)
	if err != nil {
		return nil, err
	}
	ix := newSearchIndexer(tx, s.d)
	var changed []catalog.Event
	var bodies []any // ref, body, … of the entities rewritten
	refs = slices.Sorted(maps.Keys(ents))
	finals := stitchFinals(refs, ents, pre) // prestitch.go
	for i, ref := range refs {
		e := ents[ref]
		final, etag, scoped, err := finals[i].body, finals[i].etag, finals[i].scoped, finals[i].err
		if finals[i].current {
			changed = append(changed, catalog.Event{Type: catalog.EventUpdated, Ref: ref, UID: e.uid, Source: e.source, ETag: etag})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("entity %s: %w", ref, err)
		}
		if bytes.Equal(final, e.body) {
			continue
		}
		bodies = append(bodies, ref, string(final))
		if id := ids[ref]; scoped && id != 0 {
			err = ix.indexScoped(ctx, id, stitchScopeRows(e)) // search_index_scoped.go
		} else {
			err = ix.index(ctx, ref, id, e.uid, final)
		}
		if err != nil {
			return nil, err
		}
		changed = append(changed, catalog.Event{Type: catalog.EventUpdated, Ref: ref, UID: e.uid, Source: e.source, ETag: etag})
	}
	// One statement for the batch's new bodies, not one per entity: a
	// round trip each on PostgreSQL.
	if n := len(bodies) / 2; n > 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE entities SET body = v.column2, updated_at = "+s.d.now+
			" FROM (VALUES "+valuesList(n, 2, "")+") AS v WHERE entities.ref = v.column1", bodies...); err != nil {
			return nil, err
		}
	}
	return changed, ix.flush(ctx)
}

// finalBody returns the stitched JSON of e and its etag: its body with uid,
// etag, relations, status.items and the orphan annotation set. The etag
// hashes everything else, so it changes exactly when the served entity
// does. Stitching a stitched body again gives the same bytes.
func finalBody(e *stitchRow) ([]byte, string, error) {
	final, etag, _, err := finalBodyScoped(e)
	return final, etag, err
}

// finalBodyScoped is finalBody that also reports whether the stitch
// changes the body's search rows only within the stitch's scope (see
// stitchScoped), so that reindexing it can leave the other rows alone.
func finalBodyScoped(e *stitchRow) (final []byte, etag string, scoped bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(e.body))
	dec.UseNumber()
	var ent map[string]any
	if err := dec.Decode(&ent); err != nil {
		return nil, "", false, greenroom.Errorf(greenroom.CodeInternal, "stored body is not a JSON object: %w", err)
	}
	scoped = stitchScoped(ent)
	meta, _ := ent["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		ent["metadata"] = meta
	}
	rels := e.rels
	if rels == nil {
		rels = []stitchedRelation{}
	}
	ent["relations"] = rels
	meta["uid"] = e.uid
	delete(meta, "etag")
	setOrphanAnnotation(meta, e.orphan)
	if err := setProcessingStatus(ent, e.errors); err != nil {
		return nil, "", false, err
	}
	unsealed, err := json.Marshal(ent)
	if err != nil {
		return nil, "", false, err
	}
	sum := sha256.Sum256(unsealed)
	etag = hex.EncodeToString(sum[:16])
	meta["etag"] = etag
	final, err = json.Marshal(ent)
	return final, etag, scoped, err
}

// setOrphanAnnotation sets backstage.io/orphan: "true" on an orphan and
// removes it from any other entity (dropping annotations it leaves empty).
func setOrphanAnnotation(meta map[string]any, orphan bool) {
	ann, _ := meta["annotations"].(map[string]any)
	if orphan {
		if ann == nil {
			ann = map[string]any{}
			meta["annotations"] = ann
		}
		ann[catalog.OrphanAnnotation] = "true"
		return
	}
	if _, ok := ann[catalog.OrphanAnnotation]; ok {
		delete(ann, catalog.OrphanAnnotation)
		if len(ann) == 0 {
			delete(meta, "annotations")
		}
	}
}

// processingStatusItem is one status.items entry, as Backstage's stitcher
// writes them for processing errors.
type processingStatusItem struct {
	Type    string              `json:"type"`
	Level   string              `json:"level"`
	Message string              `json:"message"`
	Error   catalog.EntityError `json:"error"`
}

// setProcessingStatus replaces the catalog-processing entries of
// status.items with the entity's errors (a JSON array, or empty), keeping any
// other entries, and drops a status it leaves empty.
func setProcessingStatus(ent map[string]any, errorsJSON string) error {
	status, _ := ent["status"].(map[string]any)
	if old, ok := status["items"].([]any); ok {
		kept := slices.DeleteFunc(slices.Clone(old), func(it any) bool {
			m, _ := it.(map[string]any)
			return m["type"] == catalog.ProcessingStatusType
		})
		if len(kept) < len(old) {
			if status["items"] = kept; len(kept) == 0 {
				delete(status, "items")
			}
			if len(status) == 0 {
				delete(ent, "status")
				status = nil
			}
		}
	}
	if errorsJSON == "" {
		return nil
	}
	var errs []catalog.EntityError
	if err := json.Unmarshal([]byte(errorsJSON), &errs); err != nil {
		return greenroom.Errorf(greenroom.CodeInternal, "stored errors are not a JSON array of errors: %w", err)
	}
	if len(errs) == 0 {
		return nil
	}
	if status == nil {
		status = map[string]any{}
		ent["status"] = status
	}
	items, _ := status["items"].([]any)
	for _, e := range errs {
		items = append(items, processingStatusItem{Type: catalog.ProcessingStatusType, Level: "error", Message: e.Name + ": " + e.Message, Error: e})
	}
	status["items"] = items
	return nil
}

// searchIDs returns the search index ids of refs that have one.
func searchIDs(ctx context.Context, tx *Tx, refs []any) (map[string]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT ref, id FROM entity_search_refs WHERE ref IN ("+placeholders(len(refs))+")", refs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]int64{}
	for rows.Next() {
		var ref string
		var id int64
		if err := rows.Scan(&ref, &id); err != nil {
			return nil, err
		}
		ids[ref] = id
	}
	return ids, rows.Err()
}
