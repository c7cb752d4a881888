package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"greenroom/internal/catalog"
)

// A source too large to hold whole (its YAML trees, records and relations)
// for one transaction is written in batches: ApplySourceBatch per batch,
// then FinishSource once every batch is stored. Readers see the source
// grow batch by batch; what a batch does not mention is left as it is, so a
// source that fails half-way loses nothing, and only FinishSource, run
// after the whole source succeeded, makes orphans of what the source no
// longer supplies (mark and sweep: the catalog keeps the set of refs seen).

// sqliteBatchCacheKiB is the write connection's page cache during a
// batch: a batch is small, but its rows land all over the key indexes,
// whose pages it reads.
var sqliteBatchCacheKiB = 64 << 10

// restitchPerTx bounds the entities FinishSource restitches per
// transaction.
const restitchPerTx = 2000

// ApplySourceBatch stores one batch of source: recs (compared by hash
// with what is stored, unchanged ones not written), the relations the
// batch's entities emit (rels, replaced per emitting entity when they
// differ), and the stitch of the batch's changed entities and of those of
// its entities that the changed relations reach. Entities outside the
// batch that the changes reach are returned in Restitch, for
// FinishSource: a group reached from many batches is then stitched once.
func (s *Store) ApplySourceBatch(ctx context.Context, source string, recs []EntityRecord, rels []catalog.StoredRelation) (catalog.BatchResult, error) {
	var res catalog.BatchResult
	seen, err := checkRecords(source, recs)
	if err != nil {
		return res, err
	}
	if err := s.d.prepareWrite(ctx, s.write, sqliteBatchCacheKiB); err != nil {
		return res, err
	}
	defer s.d.finishBulkWrite(ctx, s.write)
	err = s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		pre := newPrestitcher(rels)
		out, err := s.replaceEntities(ctx, tx, source, recs, seen, missingKeep, pre)
		if err != nil {
			return err
		}
		lost := make(map[string]bool, len(out.res.Conflicts))
		for _, ref := range out.res.Conflicts {
			lost[ref] = true
		}
		kept := slices.DeleteFunc(slices.Clone(rels), func(r catalog.StoredRelation) bool { return lost[strings.ToLower(r.OriginRef)] })
		affected, err := s.replaceBatchRelations(ctx, tx, source, seen, kept)
		if err != nil {
			return err
		}
		var now, later []string
		for ref := range seen {
			if !out.unchanged[ref] {
				now = append(now, ref)
			}
		}
		for _, ref := range append(affected, out.affected...) {
			if seen[ref] {
				now = append(now, ref)
			} else {
				later = append(later, ref)
			}
		}
		changed, err := s.stitchAll(ctx, tx, now, pre)
		if err != nil {
			return err
		}
		res.ReplaceResult = out.res
		res.Changes = out.classify(changed)
		slices.Sort(later)
		res.Restitch = slices.Compact(later)
		return nil
	})
	if err != nil {
		return catalog.BatchResult{}, fmt.Errorf("store: apply source %s: batch: %w", source, err)
	}
	if err := s.analyzeAsGrown(ctx, res.Inserted); err != nil {
		return res, err
	}
	return res, nil
}

// analyzeAsGrown notes inserted new entities and, on PostgreSQL, refreshes
// the catalog tables' statistics each time they have doubled since the
// last refresh (from analyzeMinGrowth on): see analyzeCatalog. The plans a
// connection keeps for its prepared statements are made again then too;
// one made when the tables were empty, and kept all through a 1M load
// with autovacuum off, looked up each batch's 2000 refs in seconds.
func (s *Store) analyzeAsGrown(ctx context.Context, inserted int) error {
	if s.d.name != DriverPostgres || inserted == 0 {
		return nil
	}
	g := &s.growth
	g.mu.Lock()
	g.since += inserted
	due := g.since >= max(analyzeMinGrowth, g.analyzedAt)
	if due {
		g.analyzedAt += g.since
		g.since = 0
	}
	g.mu.Unlock()
	if !due {
		return nil
	}
	return s.d.analyzeCatalog(ctx, s.write)
}

// analyzeMinGrowth is how many new entities a batched load writes before
// the first statistics refresh. A variable for tests.
var analyzeMinGrowth = 5000

// replaceBatchRelations makes rels the relations that the entities
// origins (lowercased refs) emit under source, rewriting only those of an
// entity whose relations differ, and returns the source refs of the rows
// deleted and inserted.
func (s *Store) replaceBatchRelations(ctx context.Context, tx *Tx, source string, origins map[string]bool, rels []catalog.StoredRelation) ([]string, error) {
	if err := s.d.lockFor(ctx, tx, "relations:"+source); err != nil {
		return nil, err
	}
	want := map[string][]catalog.StoredRelation{}
	for _, r := range rels {
		r = catalog.StoredRelation{SourceRef: strings.ToLower(r.SourceRef), Type: r.Type, TargetRef: strings.ToLower(r.TargetRef), OriginRef: strings.ToLower(r.OriginRef)}
		want[r.OriginRef] = append(want[r.OriginRef], r)
	}
	all := make([]string, 0, len(origins)+len(want))
	for ref := range origins {
		all = append(all, ref)
	}
	for ref := range want {
		if !origins[ref] {
			all = append(all, ref)
		}
	}
	have := map[string][]catalog.StoredRelation{}
	for chunk := range chunks(all, entityBatch) {
		// By origin alone (its index), the source tested here: see
		// batchEntities.
		q, args := inList(tx.d, "SELECT source_name, source_ref, type, target_ref, origin_ref FROM relations WHERE origin_ref", chunk)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("store: relations of %s: %w", source, err)
		}
		for rows.Next() {
			var name string
			var r catalog.StoredRelation
			if err := rows.Scan(&name, &r.SourceRef, &r.Type, &r.TargetRef, &r.OriginRef); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: relations of %s: %w", source, err)
			}
			if name == source {
				have[r.OriginRef] = append(have[r.OriginRef], r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: relations of %s: %w", source, err)
		}
	}
	affected := map[string]bool{}
	var drop []string
	var add []catalog.StoredRelation
	for _, origin := range all {
		old, next := sortedRelations(have[origin]), sortedRelations(want[origin])
		if slices.Equal(old, next) {
			continue
		}
		if len(old) > 0 {
			drop = append(drop, origin)
		}
		for _, r := range old {
			affected[r.SourceRef] = true
		}
		for _, r := range next {
			affected[r.SourceRef] = true
		}
		add = append(add, next...)
	}
	for chunk := range chunks(drop, entityBatch) {
		q, args := inList(tx.d, "DELETE FROM relations WHERE source_name = ? AND origin_ref", chunk)
		if _, err := tx.ExecContext(ctx, q, append([]any{source}, args...)...); err != nil {
			return nil, fmt.Errorf("store: delete relations of %s: %w", source, err)
		}
	}
	if err := s.insertRelations(ctx, tx, source, add); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(affected))
	for ref := range affected {
		out = append(out, ref)
	}
	slices.Sort(out)
	return out, nil
}

// sortedRelations sorts rels (in place) in one order, to compare sets.
func sortedRelations(rels []catalog.StoredRelation) []catalog.StoredRelation {
	slices.SortFunc(rels, func(a, b catalog.StoredRelation) int {
		return cmp.Or(cmp.Compare(a.SourceRef, b.SourceRef), cmp.Compare(a.Type, b.Type), cmp.Compare(a.TargetRef, b.TargetRef))
	})
	return rels
}

// insertRelations inserts rels (refs lowercased) as emitted under source.
func (s *Store) insertRelations(ctx context.Context, tx *Tx, source string, rels []catalog.StoredRelation) error {
	if len(rels) == 0 {
		return nil
	}
	if s.d.name == DriverPostgres {
		rows := make([][]any, len(rels))
		for i, r := range rels {
			rows[i] = []any{source, strings.ToLower(r.SourceRef), r.Type, strings.ToLower(r.TargetRef), strings.ToLower(r.OriginRef)}
		}
		if err := tx.copyFrom(ctx, "relations", []string{"source_name", "source_ref", "type", "target_ref", "origin_ref"}, rows); err != nil {
			return fmt.Errorf("store: insert relations of %s: %w", source, err)
		}
		return nil
	}
	// OR FAIL: a NOT NULL column of the STRICT table could fail any row of
	// a multi-row INSERT, so SQLite (ABORT by default) journals every page
	// the statement touches to be able to undo it alone — a third of the
	// cost of inserting a first load's relations. FAIL keeps the rows
	// before a failing one instead, which no one sees: an error here rolls
	// the whole transaction back.
	stmts := newStmtCache(tx)
	for batch := range chunks(rels, 200) {
		args := make([]any, 0, 5*len(batch))
		for _, r := range batch {
			args = append(args, source, strings.ToLower(r.SourceRef), r.Type, strings.ToLower(r.TargetRef), strings.ToLower(r.OriginRef))
		}
		st, err := stmts.stmt(ctx, stmtKey{"relations insert", len(batch)}, func() string {
			return "INSERT OR FAIL INTO relations (source_name, source_ref, type, target_ref, origin_ref) VALUES " + valuesList(len(batch), 5, "")
		})
		if err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
		if err != nil {
			return fmt.Errorf("store: insert relations of %s: %w", source, err)
		}
	}
	return nil
}

// EndBulkLoad builds the search key indexes that the batches of a first
// load write without (see beginBatch); a no-op when they
// exist. The catalog calls it before a streamed source's last batch, so
// that the source is complete only once they are built.
//
// SQLite's trigram table is left to FinishBulkLoad: queries are right
// without it (they test the search rows), and filling it took 3 of a 100k
// first load's 47 s.
func (s *Store) EndBulkLoad(ctx context.Context) error {
	if err := s.d.prepareIndexBuild(ctx, s.write); err != nil {
		return err
	}
	defer s.d.finishIndexBuild(ctx, s.write)
	if err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error { return s.d.ensureKeyIndexes(ctx, tx) }); err != nil {
		return fmt.Errorf("store: end bulk load: %w", err)
	}
	return nil
}

// FinishBulkLoad fills SQLite's trigram table and puts back its triggers
// when a bulk load dropped them (see catalog.Store); a no-op otherwise.
func (s *Store) FinishBulkLoad(ctx context.Context) error {
	start := time.Now()
	var built bool
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		var err error
		built, err = s.d.createTextIndex(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish bulk load: %w", err)
	}
	if built {
		s.log.Info("trigram table built", "duration", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// FinishSource ends a source written by ApplySourceBatch (see
// catalog.Store): one transaction makes the orphans and drops the
// relations no entity of the source emits, then restitch is stitched a
// few thousand entities per transaction.
func (s *Store) FinishSource(ctx context.Context, source string, seen map[string]bool, keepMissing bool, restitch []string) (ReplaceResult, error) {
	var res ReplaceResult
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		if err := s.d.lockFor(ctx, tx, "entities source "+source); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT ref FROM entities WHERE source = ? AND orphaned_at IS NULL", source)
		if err != nil {
			return err
		}
		var missing []string
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return err
			}
			if !seen[ref] {
				missing = append(missing, ref)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		out := replaced{orphaned: map[string]bool{}}
		if keepMissing {
			res.Unchanged = len(missing)
			missing = nil
		}
		for chunk := range chunks(missing, entityBatch) {
			if _, err := tx.ExecContext(ctx, "UPDATE entities SET orphaned_at = "+s.d.now+", updated_at = "+s.d.now+
				" WHERE source = ? AND orphaned_at IS NULL AND ref IN ("+placeholders(len(chunk))+")", append([]any{source}, anys(chunk)...)...); err != nil {
				return fmt.Errorf("store: mark orphans: %w", err)
			}
			for _, ref := range chunk {
				out.orphaned[ref] = true
			}
		}
		res.Orphaned = len(missing)
		// Every entity of the source is now seen or an orphan, whose
		// relations stay; what else the source emitted goes.
		const strays = "FROM relations WHERE source_name = ? AND origin_ref NOT IN (SELECT ref FROM entities WHERE source = ?)"
		rows, err = tx.QueryContext(ctx, "SELECT DISTINCT source_ref "+strays, source, source)
		if err != nil {
			return err
		}
		refs := missing
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return err
			}
			refs = append(refs, ref)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(refs) > len(missing) {
			if _, err := tx.ExecContext(ctx, "DELETE "+strays, source, source); err != nil {
				return err
			}
		}
		changed, err := s.stitchAll(ctx, tx, refs, nil)
		if err != nil {
			return err
		}
		res.Changes = out.classify(changed)
		return nil
	})
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("store: finish source %s: %w", source, err)
	}
	changed, err := s.restitch(ctx, restitch)
	res.Changes = append(res.Changes, changed...)
	if err != nil {
		return res, fmt.Errorf("store: finish source %s: stitch: %w", source, err)
	}
	return res, nil
}

// Restitch stitches refs a few thousand per transaction (see
// catalog.Store) and returns the changes.
func (s *Store) Restitch(ctx context.Context, refs []string) ([]catalog.Event, error) {
	changed, err := s.restitch(ctx, refs)
	if err != nil {
		return changed, fmt.Errorf("store: restitch: %w", err)
	}
	return changed, nil
}

// restitch stitches refs, restitchPerTx entities per transaction, and
// returns the changes of the transactions committed.
func (s *Store) restitch(ctx context.Context, refs []string) ([]catalog.Event, error) {
	if len(refs) >= restitchAnalyzeMin {
		if err := s.d.analyzeCatalog(ctx, s.write); err != nil {
			return nil, err
		}
	}
	refs = slices.Clone(refs)
	slices.Sort(refs)
	var changes []catalog.Event
	for chunk := range chunks(slices.Compact(refs), restitchPerTx) {
		err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
			changed, err := s.stitchAll(ctx, tx, chunk, nil)
			if err == nil {
				changes = append(changes, changed...)
			}
			return err
		})
		if err != nil {
			return changes, err
		}
	}
	return changes, nil
}
