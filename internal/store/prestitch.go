package store

import (
	"cmp"
	"crypto/sha256"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"greenroom/internal/catalog"
)

// prestitcher lets ApplySource write each entity it inserts or updates in
// its stitched form at once, instead of writing (and indexing) the body as
// processed and then, when stitching, rewriting the row and reindexing it
// with its uid, etag and relations: at 100k entities the second write and
// index pass was a third of a first load.
//
// The stitched form is computed from what ApplySource is given: the
// relations the source emits whose source_ref is the entity, its uid and
// its errors, not an orphan. Stitching stays the authority: stitchChanges
// still runs for every entity, and an entity whose actual stitch inputs
// (relations from every source, after conflicts) differ from the guess is
// stitched from the table as before. When they are the same, the stored
// body is already the stitched one (stitching is idempotent), and
// stitchChanges skips rebuilding it.
type prestitcher struct {
	// rels are the relations of the source by lowercased source ref,
	// sorted by type and target and without duplicates, as stitchChanges
	// reads them.
	rels map[string][]stitchedRelation
	// done holds, by ref, the fingerprint of the inputs each prestitched
	// body was built from, and its etag.
	done map[string]prestitched
}

type prestitched struct {
	fp   [sha256.Size]byte
	etag string
}

func newPrestitcher(rels []catalog.StoredRelation) *prestitcher {
	p := &prestitcher{rels: map[string][]stitchedRelation{}, done: map[string]prestitched{}}
	for _, r := range rels {
		src := strings.ToLower(r.SourceRef)
		p.rels[src] = append(p.rels[src], stitchedRelation{Type: r.Type, TargetRef: strings.ToLower(r.TargetRef)})
	}
	for src, rs := range p.rels {
		slices.SortFunc(rs, func(a, b stitchedRelation) int {
			return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.TargetRef, b.TargetRef))
		})
		p.rels[src] = slices.Compact(rs)
	}
	return p
}

// bodies replaces, in parallel, the body of each of n entities with its
// stitched form, as body does one by one: at(i) gives entity i's
// lowercased ref, uid, errors column and where its body is. Stitching an
// entity is a JSON decode and two encodes, a sixth of a first load's
// writer time when done in the writer's transaction one by one; the
// batch's bodies are independent, so the processors share them.
func (p *prestitcher) bodies(n int, at func(i int) (ref, uid, errs string, body *[]byte)) {
	if p == nil || n == 0 {
		return
	}
	type result struct {
		ref string
		d   prestitched
	}
	workers := min(runtime.GOMAXPROCS(0), (n+prestitchChunk-1)/prestitchChunk)
	done := make([][]result, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(prestitchChunk)) - prestitchChunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+prestitchChunk, n); i++ {
					ref, uid, errs, body := at(i)
					row := &stitchRow{uid: uid, errors: errs, body: *body, rels: p.rels[ref]}
					final, etag, err := finalBody(row)
					if err != nil {
						continue // as body: stitchChanges reports it
					}
					*body = final
					done[w] = append(done[w], result{ref, prestitched{stitchFingerprint(row), etag}})
				}
			}
		})
	}
	wg.Wait()
	for _, rs := range done {
		for _, r := range rs {
			p.done[r.ref] = r.d
		}
	}
}

// prestitchChunk is how many entities a bodies worker takes at a time.
const prestitchChunk = 32

// current reports whether the stored body of ref is already the stitch of
// e's inputs, and returns its etag. Such a body was written by this
// ApplySource: its served form changed.
func (p *prestitcher) current(ref string, e *stitchRow) (string, bool) {
	if p == nil {
		return "", false
	}
	d, ok := p.done[ref]
	if !ok || d.fp != stitchFingerprint(e) {
		return "", false
	}
	return d.etag, true
}

// stitchFingerprint hashes what finalBody adds to a body: uid, orphan
// state, errors and the relations in order.
func stitchFingerprint(e *stitchRow) [sha256.Size]byte {
	h := sha256.New()
	orphan := "0"
	if e.orphan {
		orphan = "1"
	}
	for _, s := range []string{e.uid, orphan, e.errors} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, r := range e.rels {
		h.Write([]byte(r.Type))
		h.Write([]byte{0})
		h.Write([]byte(r.TargetRef))
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// stitchedBody is finalBodyScoped's result for one entity, or, with
// current, the etag of the stitched body pre already wrote.
type stitchedBody struct {
	body            []byte
	etag            string
	scoped, current bool
	err             error
}

// stitchFinals stitches the entities refs name in ents (finalBodyScoped),
// on all processors, except those pre already wrote stitched: the
// decode and two encodes of each body were a sixth of restitching the
// entities a bulk load reached outside its batches, done one by one in
// the writer's transaction.
func stitchFinals(refs []string, ents map[string]*stitchRow, pre *prestitcher) []stitchedBody {
	out := make([]stitchedBody, len(refs))
	workers := min(runtime.GOMAXPROCS(0), (len(refs)+prestitchChunk-1)/prestitchChunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(prestitchChunk)) - prestitchChunk
				if lo >= len(refs) {
					return
				}
				for i := lo; i < min(lo+prestitchChunk, len(refs)); i++ {
					e, r := ents[refs[i]], &out[i]
					if r.etag, r.current = pre.current(refs[i], e); !r.current {
						r.body, r.etag, r.scoped, r.err = finalBodyScoped(e)
					}
				}
			}
		})
	}
	wg.Wait()
	return out
}
