package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// bulkLoad tracks the bulk loads under way: streamed writes of a source
// that mostly inserts or rewrites entities (a first load), during which
// consumers of the change events that can wait (the search indexer) may
// hold back their work and catch up once the catalog is loaded, instead of
// competing with it for the cores. The zero value is idle.
type bulkLoad struct {
	mu     sync.Mutex
	active int
	done   chan struct{} // closed when active drops to 0; nil while idle
}

func (b *bulkLoad) begin() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active == 0 {
		b.done = make(chan struct{})
	}
	b.active++
}

func (b *bulkLoad) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active == 0 {
		return
	}
	if b.active--; b.active == 0 {
		close(b.done)
		b.done = nil
	}
}

// BulkLoad returns a channel that is closed when the bulk loads under way
// have ended, or nil when none is. A bulk load is a source written in
// batches (larger than one transaction's worth) whose batches mostly
// insert or rewrite entities; within a full refresh it lasts until the
// refresh ends, so that a catalog of several large locations counts as one
// load. Events keep being published during it, as always; a consumer that
// defers them re-reads the entities they name once the channel is closed.
func (s *Service) BulkLoad() <-chan struct{} {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	return s.bulk.done
}

// noteBulkBatch is called with each batch a stream stores: the first batch
// that writes most of its entities starts a bulk load, held by the stream,
// or by the full refresh under way until it ends.
func (st *sourceStream) noteBulkBatch(written, n int) {
	if st.bulk || 2*written < n {
		return
	}
	st.bulk = true
	if p := st.s.pass; p != nil {
		if !p.bulk {
			p.bulk = true
			st.s.bulk.begin()
		}
		return
	}
	st.ownsBulk = true
	st.s.bulk.begin()
}

// endBulk ends the bulk load the stream holds, if it holds one.
func (st *sourceStream) endBulk() {
	if st.ownsBulk {
		st.ownsBulk = false
		st.s.bulk.end()
	}
}

// bulkOpen reports whether p, which may be nil, is a bulk load that has
// not ended yet.
func (p *refreshPass) bulkOpen() bool { return p != nil && p.bulk && !p.bulkEnded }

// deferStitch notes refs, entities a source's batches reached outside
// themselves, to be stitched at the end of the bulk load of the pass.
func (p *refreshPass) deferStitch(refs []string) {
	if p.restitch == nil {
		p.restitch = map[string]bool{}
	}
	for _, ref := range refs {
		p.restitch[ref] = true
	}
}

// endBulkPass completes the bulk load of the full refresh under way, if
// it is one, once its sources are stored: the entities its sources'
// batches reached outside themselves are stitched, once each, and the
// search key indexes are built. It is done at most once per pass.
func (s *Service) endBulkPass(ctx context.Context) error {
	p := s.pass
	if !p.bulkOpen() {
		return nil
	}
	p.bulkEnded = true
	refs := len(p.restitch)
	// Stitched before the key indexes are built, which their rows would
	// otherwise go into one by one.
	changed, err := s.stitchRefs(ctx, p.restitch)
	p.restitch = nil
	if err := errors.Join(err, s.store.EndBulkLoad(ctx), s.store.FinishBulkLoad(ctx)); err != nil {
		return fmt.Errorf("end of the bulk load: %w", err)
	}
	s.logger.Info("bulk load ended", "restitched", refs, "changed", changed)
	return nil
}

// stitchRefs stitches the entities of set, in ref order, publishes what
// changed and returns how many did.
func (s *Service) stitchRefs(ctx context.Context, set map[string]bool) (int, error) {
	if len(set) == 0 {
		return 0, nil
	}
	changed, err := s.store.Restitch(ctx, slices.Sorted(maps.Keys(set)))
	s.publish(changed)
	return len(changed), err
}
