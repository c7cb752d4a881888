package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
	"time"
)

// sourceBatch is how many entities of a source are held, read, processed
// and stored at a time. A source of at most this many is stored in one
// transaction (applyWhole); a larger one is streamed: read and parsed a few
// files ahead, processed and written a batch per transaction
// (Store.ApplySourceBatch), and ended with Store.FinishSource, which makes
// orphans of what no batch supplied once the whole source has succeeded.
// Memory is then bounded by the batch, whatever the source's size. A
// variable for tests.
var sourceBatch = 2000

// sourceStream is the refresh of one source written in batches.
type sourceStream struct {
	s   *Service
	ctx context.Context
	src Source
	out sourceOutcome
	err error // the first failed write: nothing more is written

	seen        map[string]bool   // lowercased refs supplied so far
	namedBy     map[string]string // file → Location ref naming it (locationFiles)
	keepMissing bool
	recs        []Record
	rels        []StoredRelation
	// locs are the source's Location entities, stored last: problems
	// reading their targets, known only at the end, are recorded on them.
	locs     []heldLocation
	hash     hash.Hash
	written  int
	restitch map[string]bool
	res      ReplaceResult // totals of the batches
	// bulk is set once a batch wrote most of its entities (bulkload.go);
	// ownsBulk when this stream, outside a full refresh, holds the bulk
	// load until it ends.
	bulk, ownsBulk bool
	// inputs are the raw inputs of the source read (rawinputs.go), known
	// complete once the reader is done, when finish runs.
	inputs *rawInputs
}

type heldLocation struct {
	p    processed
	errs []EntityError
}

func (s *Service) newSourceStream(ctx context.Context, src Source, inputs *rawInputs) *sourceStream {
	return &sourceStream{s: s, ctx: ctx, src: src, seen: map[string]bool{}, namedBy: map[string]string{},
		hash: sha256.New(), restitch: map[string]bool{}, inputs: inputs}
}

// feed processes raw, the next entities of the source in order, and
// stores a batch whenever one is full. It drops the documents.
func (st *sourceStream) feed(raw []rawEntity) {
	if st.err != nil || len(raw) == 0 {
		return
	}
	for file, ref := range locationFiles(raw) {
		if _, taken := st.namedBy[file]; !taken {
			st.namedBy[file] = ref
		}
	}
	done := st.s.proc.processAll(st.src, raw)
	for i, re := range raw {
		p, errs := done[i].p, done[i].errs
		st.out.problems = append(st.out.problems, errs...)
		var entErrs []EntityError
		if len(errs) > 0 {
			kept, ok := st.s.lastGood(st.ctx, st.src, errs)
			if !ok {
				st.keepMissing = st.keepMissing || !named(errs)
				continue
			}
			p, entErrs = kept, entityErrors(errs)
		}
		ref := strings.ToLower(p.rec.Ref)
		if st.seen[ref] {
			st.out.problems = append(st.out.problems, &ProcessingError{Source: st.src.Name, File: re.File, Line: re.Line, Ref: p.rec.Ref, Rule: "entity is defined twice in this location"})
			continue
		}
		st.seen[ref] = true
		if strings.EqualFold(p.rec.Kind, "Location") {
			st.locs = append(st.locs, heldLocation{p, entErrs})
			continue
		}
		p.rec.Errors = capErrors(entErrs)
		st.recs = append(st.recs, p.rec)
		st.rels = append(st.rels, storedRelations(ref, p.relations)...)
	}
	if len(st.recs) >= sourceBatch {
		st.flush()
	}
}

// flush stores the batch held.
func (st *sourceStream) flush() {
	if st.err != nil || len(st.recs) == 0 {
		return
	}
	if err := hashInto(st.hash, st.recs, st.rels); err != nil {
		st.err = err
		return
	}
	res, err := st.s.store.ApplySourceBatch(st.ctx, st.src.Name, st.recs, st.rels)
	if err != nil {
		st.err = err
		return
	}
	// Before the batch's events: a consumer that defers its work during a
	// bulk load knows of it when they arrive.
	st.noteBulkBatch(res.Inserted+res.Updated, len(st.recs))
	st.s.publish(res.Changes)
	st.written += len(st.recs)
	st.res.Inserted += res.Inserted
	st.res.Updated += res.Updated
	st.res.Unchanged += res.Unchanged
	st.res.Conflicts = append(st.res.Conflicts, res.Conflicts...)
	for _, ref := range res.Restitch {
		st.restitch[ref] = true
	}
	clear(st.recs)
	clear(st.rels)
	st.recs, st.rels = st.recs[:0], st.rels[:0]
}

// finish stores what is left, the Location entities with the problems of
// their targets, then ends the source: problems are the reader's, and
// incomplete says the reader could not read all of it, which keeps the
// source's other entities as they were, as does any problem reading a
// file.
func (st *sourceStream) finish(problems []error, incomplete bool) (sourceOutcome, error) {
	defer st.endBulk()
	st.out.problems = append(problems, st.out.problems...)
	st.keepMissing = st.keepMissing || incomplete
	locErrs := map[string][]EntityError{}
	for _, p := range problems {
		var le *LocationError
		if errors.As(p, &le) {
			st.keepMissing = true
			if ref, ok := st.namedBy[le.File]; ok {
				locErrs[ref] = append(locErrs[ref], locationEntityError(st.src, le))
			}
		}
	}
	for _, l := range st.locs {
		ref := strings.ToLower(l.p.rec.Ref)
		l.p.rec.Errors = capErrors(append(l.errs, locErrs[ref]...))
		st.recs = append(st.recs, l.p.rec)
		st.rels = append(st.rels, storedRelations(ref, l.p.relations)...)
	}
	st.locs = nil
	// Before the last batch, which completes the source (its Location
	// entities), and also after a failure, so that readers get what a
	// first load's batches left out back; within a full refresh that is a
	// bulk load, only before the last batch of its last source (or at its
	// end, bulkload.go), so that each source does not build them for the
	// next to maintain row by row, and the refresh's sources are complete
	// only once they exist.
	pass := st.s.pass
	if !pass.bulkOpen() || pass.last {
		start := time.Now()
		stitched := st.stitchBeforeIndexes(pass)
		built := time.Now()
		if err := st.s.store.EndBulkLoad(st.ctx); err != nil && st.err == nil {
			st.err = err
		}
		if st.bulk {
			st.s.logger.Info("bulk load of a source completed", "source", st.src.Name, "restitched", stitched,
				"restitch", built.Sub(start).Round(time.Millisecond), "key_indexes", time.Since(built).Round(time.Millisecond))
		}
	}
	st.flush()
	if st.err != nil {
		return st.out, st.err
	}
	restitch := slices.Collect(maps.Keys(st.restitch))
	if pass.bulkOpen() {
		// Entities of other batches reached by this source's relations:
		// in a first load of several sources, the entities of one are
		// reached from all the others, and are stitched once, at the end.
		pass.deferStitch(restitch)
		restitch = nil
	}
	res, err := st.s.store.FinishSource(st.ctx, st.src.Name, st.seen, st.keepMissing, restitch)
	if err != nil {
		return st.out, err
	}
	st.s.publish(res.Changes)
	st.out.conflicts, st.out.orphaned = len(st.res.Conflicts), res.Orphaned
	for _, ref := range st.res.Conflicts {
		st.out.problems = append(st.out.problems, &ProcessingError{Source: st.src.Name, Ref: ref, File: st.src.Root, Rule: "entity is already provided by another location; the first keeps it"})
	}
	sum := hex.EncodeToString(st.hash.Sum(nil)[:16])
	if len(st.res.Conflicts) > 0 {
		sum = "" // as applyWhole: claim the entity once the winner lets it go
	}
	state := SourceState{Name: st.src.Name, Hash: sum, EntityCount: st.written + res.Unchanged, Problems: problemMessages(st.out.problems)}
	if st.inputs != nil {
		state.Inputs = st.inputs.encode(st.src, sum, st.out.problems)
	}
	if err := st.s.store.SaveSourceState(st.ctx, state); err != nil {
		return st.out, err
	}
	st.s.logger.Info("source refreshed", "source", st.src.Name, "batches", true, "inserted", st.res.Inserted, "updated", st.res.Updated,
		"unchanged", st.res.Unchanged, "orphaned", res.Orphaned, "conflicts", len(st.res.Conflicts), "problems", len(st.out.problems))
	if st.bulk && !pass.bulkOpen() {
		// The source is complete; its first load's last part follows.
		if err := st.s.store.FinishBulkLoad(st.ctx); err != nil {
			return st.out, err
		}
	}
	return st.out, nil
}

// stitchBeforeIndexes stitches, at the end of a bulk load and before the
// key indexes are built, the entities its batches reached outside
// themselves (a group owning components of later files gains its ownerOf
// relations here): their new relations rows then go into a table without
// the key indexes, sorted once by the build, instead of into the indexes
// row by row. What the last batch reaches is stitched after it, as before,
// by FinishSource or at the end of the pass.
//
// It returns how many entities it stitched.
func (st *sourceStream) stitchBeforeIndexes(pass *refreshPass) int {
	if st.err != nil || !st.bulk {
		return 0
	}
	set := st.restitch
	st.restitch = map[string]bool{}
	if pass.bulkOpen() {
		maps.Copy(set, pass.restitch)
		pass.restitch = nil
	}
	if _, err := st.s.stitchRefs(st.ctx, set); err != nil {
		st.err = err
	}
	return len(set)
}

// hashInto adds what a batch supplied to h, as sourceHash does for a whole
// source.
func hashInto(h hash.Hash, recs []Record, rels []StoredRelation) error {
	for _, r := range recs {
		errs, err := json.Marshal(r.Errors)
		if err != nil {
			return fmt.Errorf("entity %s: errors: %w", r.Ref, err)
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.Ref, r.Hash, errs)
	}
	for _, r := range rels {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", r.SourceRef, r.Type, r.TargetRef, r.OriginRef)
	}
	return nil
}
