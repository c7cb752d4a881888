package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// stitchBatch bounds the entities stitched per statement and transaction.
const stitchBatch = 500

// ApplySource stores everything one refresh of a catalog source produced,
// in ONE transaction, so readers never see a half-processed source: recs
// become the source's entities (as ReplaceSourceEntities), rels its
// relations (as ReplaceSourceRelations), and every entity whose final form
// may have changed — the source's own and both ends of old and new
// relations — is stitched (as StitchEntities).
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
		var err error
		if res, err = s.replaceEntities(ctx, tx, source, recs, seen); err != nil {
			return err
		}
		affected, err := s.replaceRelations(ctx, tx, source, rels)
		if err != nil {
			return err
		}
		refs := make([]string, 0, len(seen)+len(affected))
		for ref := range seen {
			refs = append(refs, ref)
		}
		refs = append(refs, affected...)
		slices.Sort(refs)
		for batch := range chunks(slices.Compact(refs), stitchBatch) {
			if err := s.stitch(ctx, tx, batch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("store: apply source %s: %w", source, err)
	}
	return res, nil
}

// ReplaceSourceRelations makes rels the complete set of relations emitted
// by source's entities, in one transaction, and returns the refs whose
// stitched relations may have changed: the source refs of the old rows and
// of the new ones, sorted.
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
	if _, err := tx.ExecContext(ctx, "DELETE FROM relations WHERE source_name = ?", source); err != nil {
		return nil, err
	}
	for batch := range chunks(rels, 200) {
		args := make([]any, 0, 4*len(batch))
		for _, r := range batch {
			args = append(args, source, strings.ToLower(r.SourceRef), r.Type, strings.ToLower(r.TargetRef))
			affected[strings.ToLower(r.SourceRef)] = true
		}
		q := "INSERT INTO relations (source_name, source_ref, type, target_ref) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", len(batch)), ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(affected))
	for ref := range affected {
		out = append(out, ref)
	}
	slices.Sort(out)
	return out, nil
}

// StitchEntities rewrites the final form of each existing entity among
// refs: metadata.uid and metadata.etag set, and relations taken from the
// relations table (sorted, without duplicates). Entities whose final form
// is unchanged are not written. The search index follows in the same
// transaction. Unknown refs are ignored.
func (s *Store) StitchEntities(ctx context.Context, refs []string) error {
	for batch := range chunks(refs, stitchBatch) {
		if err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error { return s.stitch(ctx, tx, batch) }); err != nil {
			return fmt.Errorf("store: stitch entities: %w", err)
		}
	}
	return nil
}

type stitchRow struct {
	uid  string
	body []byte
	rels []stitchedRelation
}

type stitchedRelation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

func (s *Store) stitch(ctx context.Context, tx *Tx, refs []string) error {
	lower := make([]any, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	in := placeholders(len(refs))
	ents := map[string]*stitchRow{}
	rows, err := tx.QueryContext(ctx, "SELECT ref, uid, body FROM entities WHERE ref IN ("+in+")", lower...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var ref string
		r := &stitchRow{}
		if err := rows.Scan(&ref, &r.uid, &r.body); err != nil {
			rows.Close()
			return err
		}
		ents[ref] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	rows, err = tx.QueryContext(ctx, "SELECT DISTINCT source_ref, type, target_ref FROM relations WHERE source_ref IN ("+in+") ORDER BY source_ref, type, target_ref", lower...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var src string
		var rel stitchedRelation
		if err := rows.Scan(&src, &rel.Type, &rel.TargetRef); err != nil {
			rows.Close()
			return err
		}
		if e := ents[src]; e != nil {
			e.rels = append(e.rels, rel)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	ids, err := searchIDs(ctx, tx, lower)
	if err != nil {
		return err
	}
	ix := newSearchIndexer(tx, s.d)
	for ref, e := range ents {
		final, err := finalBody(e)
		if err != nil {
			return fmt.Errorf("entity %s: %w", ref, err)
		}
		if bytes.Equal(final, e.body) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "UPDATE entities SET body = ?, updated_at = "+s.d.now+" WHERE ref = ?", string(final), ref); err != nil {
			return err
		}
		if err := ix.index(ctx, ref, ids[ref], e.uid, final); err != nil {
			return err
		}
	}
	return ix.flush(ctx)
}

// finalBody returns the stitched JSON of e: its body with uid, etag and
// relations set. The etag hashes everything else, so it changes exactly
// when the served entity does.
func finalBody(e *stitchRow) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(e.body))
	dec.UseNumber()
	var ent map[string]any
	if err := dec.Decode(&ent); err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInternal, "stored body is not a JSON object: %w", err)
	}
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
	unsealed, err := json.Marshal(ent)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(unsealed)
	meta["etag"] = hex.EncodeToString(sum[:16])
	return json.Marshal(ent)
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

// SourceState returns what was recorded of the source's last refresh, or
// an error with code not_found when it was never refreshed.
func (s *Store) SourceState(ctx context.Context, name string) (catalog.SourceState, error) {
	var st catalog.SourceState
	var problems []byte
	err := s.queryRowContext(ctx, "SELECT name, hash, entity_count, problems, refreshed_at FROM catalog_sources WHERE name = ?", name).
		Scan(&st.Name, &st.Hash, &st.EntityCount, &problems, timeCol{&st.RefreshedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return st, greenroom.Errorf(greenroom.CodeNotFound, "catalog source %s has never been refreshed", name)
	}
	if err != nil {
		return st, fmt.Errorf("store: source state %s: %w", name, err)
	}
	if err := json.Unmarshal(problems, &st.Problems); err != nil {
		return st, fmt.Errorf("store: source state %s: problems: %w", name, err)
	}
	return st, nil
}

// SaveSourceState records a source's refresh; RefreshedAt is the
// database's clock.
func (s *Store) SaveSourceState(ctx context.Context, st catalog.SourceState) error {
	problems, err := json.Marshal(append([]string{}, st.Problems...))
	if err != nil {
		return err
	}
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM catalog_sources WHERE name = ?", st.Name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO catalog_sources (name, hash, entity_count, problems, refreshed_at) VALUES (?, ?, ?, ?, "+s.d.now+")",
			st.Name, st.Hash, st.EntityCount, string(problems))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save source state %s: %w", st.Name, err)
	}
	return nil
}
