package catalog

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang/snappy"

	"greenroom/internal/catalog/query"
)

// The read API's cache: entities by name, by-query pages and facets in the form
// served to one read scope, kept while the catalog has not changed. A
// single global change counter keys every entry, so that any commit (of
// this process, or announced by another replica) empties the cache: an
// entity's served form depends on other entities (relations are stitched
// both ways), so nothing finer would be obviously right.

// ChangeCounter is what the cache needs of the store: a counter that moves
// after every commit that may change what a read returns, read before the
// store is asked. ok false means it cannot be trusted now, and nothing is
// cached or served from the cache.
type ChangeCounter interface {
	CatalogReadVersion() (v uint64, ok bool)
}

// DefaultReadCacheBytes bounds the cache's entries (their compressed
// bodies, plus a fixed overhead each); least recently used entries go
// first.
//
// It was 64 MiB of raw JSON. Measured on generated catalogs of 1,000 and
// 10,000 entities (catalogtest, stitched bodies read back from a SQLite
// store; TestReadCacheCompressesGeneratedEntities), snappy takes a
// by-name entity from 1,263 to 785 bytes on average (ratio 0.62: uids,
// etags and names do not repeat within one entity) and a page of 20
// entities to 0.20–0.27 of its JSON (the items share keys and refs). With
// the key and entryOverhead, an entry costs 0.67 of what it did by name
// and 0.27 by query. 32 MiB would hold 3.7/2 = 1.85 times the pages but
// only 0.75 times the by-name entries; 48 MiB holds 1.1 times the by-name
// entries and 3.7 times the pages in three quarters of the memory. Below
// about 43 MiB a cache of by-name entries would hold fewer than before.
const DefaultReadCacheBytes = 48 << 20

// entryOverhead approximates an entry's cost beyond its bytes: key, list
// element, map slot.
const entryOverhead = 160

// readCache is an LRU of served answers bounded by size, for one version
// of the catalog at a time. The zero value holds DefaultReadCacheBytes.
type readCache struct {
	mu      sync.Mutex
	version uint64
	max     int64 // 0: DefaultReadCacheBytes; < 0: disabled
	size    int64
	byKey   map[string]*list.Element
	lru     list.List // of *cacheEntry, most recent first

	hits, misses atomic.Uint64
}

type cacheEntry struct {
	key  string
	size int64
	val  any // packed (by name), packedPage or facet counts; never modified
}

func (c *readCache) limit() int64 {
	if c.max == 0 {
		return DefaultReadCacheBytes
	}
	return c.max
}

func (c *readCache) get(key string, version uint64) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok || c.version != version {
		c.misses.Add(1)
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.hits.Add(1)
	return el.Value.(*cacheEntry).val, true
}

func (c *readCache) put(key string, version uint64, val any, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.limit()
	cost := int64(size) + int64(len(key)) + entryOverhead
	switch {
	case limit < 0 || cost > limit/8:
		return // disabled, or one answer too big to be worth a slot
	case version < c.version:
		return // computed before a change the entries already reflect
	case version > c.version || c.byKey == nil:
		c.clearLocked()
		c.version = version
	}
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
	for c.size+cost > limit && c.lru.Len() > 0 {
		c.removeLocked(c.lru.Back())
	}
	c.byKey[key] = c.lru.PushFront(&cacheEntry{key: key, size: cost, val: val})
	c.size += cost
}

func (c *readCache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.byKey, e.key)
	c.size -= e.size
}

func (c *readCache) clearLocked() {
	c.byKey = map[string]*list.Element{}
	c.lru.Init()
	c.size = 0
}

// ReadCacheStats are the cache's counters since start.
type ReadCacheStats struct {
	Hits, Misses uint64
	Entries      int
	Bytes        int64
}

// ReadCacheStats returns the read cache's counters.
func (s *Service) ReadCacheStats() ReadCacheStats {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return ReadCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: c.lru.Len(), Bytes: c.size}
}

// SetReadCacheBytes bounds the read cache; 0 restores the default and a
// negative value turns it off. Set it before serving.
func (s *Service) SetReadCacheBytes(n int64) { s.cache.max = n }

// cacheSlot names where the answer of a read would be cached: the key
// (what the answer depends on, the caller's scope included) and the
// catalog's change counter read before the store is. ok is false when the
// answer must not be cached: a scope without a CacheKey, no trustworthy
// counter, or a request that does not encode.
func (s *Service) cacheSlot(sc ReadScope, kind string, what any) (key string, version uint64, ok bool) {
	cc, isCounter := s.querier.(ChangeCounter)
	if !isCounter || s.cache.max < 0 {
		return "", 0, false
	}
	scope := ""
	if !sc.unrestricted() {
		if sc.CacheKey == "" {
			return "", 0, false
		}
		scope = sc.CacheKey
	}
	if version, ok = cc.CatalogReadVersion(); !ok {
		return "", 0, false
	}
	var b strings.Builder
	if w, ok := what.(string); ok {
		b.Grow(len(kind) + len(scope) + 2 + len(w)) // one allocation
	}
	b.WriteString(kind)
	b.WriteByte(0)
	b.WriteString(scope)
	b.WriteByte(0)
	switch w := what.(type) {
	case string:
		b.WriteString(w)
	default:
		j, err := json.Marshal(w)
		if err != nil {
			return "", 0, false
		}
		b.Write(j)
	}
	return b.String(), version, true
}

// pageCacheKey is what a by-query page depends on besides the scope.
type pageCacheKey struct {
	Q query.EntitiesQuery `json:"q"`
	F query.Fields        `json:"f"`
}

// Entity JSON is held compressed with snappy, and what counts against the
// bound is the compressed size: at 100k entities a full cache of raw JSON
// was about 60 MB of live heap (130 MB of RSS at GOGC 100), and a smaller
// bound alone cost by-query latency (p99 14 → 48 ms at 16 MiB). Snappy
// rather than gzip or zstd because every hit pays for a decode: snappy
// needs no tables to set up, and BenchmarkReadCacheHit measures a hit at
// +0.9 µs by name and +10 µs for a page of 20 (27 KB), against
// milliseconds for an answer from the store.

// JSON shorter than minPackBytes is kept as it is: an entry already costs
// entryOverhead and its key (about 200 bytes) beyond its body, so snappy's
// best on such a body (a few dozen bytes, as short inputs have few
// repeats) would save a small part of the entry for a decode on every hit.
const minPackBytes = 256

// packed is JSON as the cache holds it: a snappy block, or the bytes
// themselves when compressing would not pay (short JSON, or one that
// snappy does not shrink by at least a fifth: a saving smaller than that
// is not worth a decode on every hit). b is the cache's own, never the
// caller's, and never handed out.
type packed struct {
	b      []byte
	zipped bool
}

func pack(raw []byte) packed {
	if len(raw) >= minPackBytes {
		// Encoded into a pooled buffer sized for the worst case, then
		// copied at its real size: one allocation per miss, not two.
		scratch := packScratch.Get().(*[]byte)
		defer packScratch.Put(scratch)
		if n := snappy.MaxEncodedLen(len(raw)); cap(*scratch) < n {
			*scratch = make([]byte, n)
		}
		z := snappy.Encode((*scratch)[:cap(*scratch)], raw)
		if len(z) <= len(raw)-len(raw)/5 {
			return packed{b: bytes.Clone(z), zipped: true}
		}
	}
	return packed{b: bytes.Clone(raw)}
}

var packScratch = sync.Pool{New: func() any { return new([]byte) }}

// unpack returns the JSON in a new slice, the caller's own.
func (p packed) unpack() ([]byte, error) {
	if !p.zipped {
		return bytes.Clone(p.b), nil
	}
	return snappy.Decode(nil, p.b) // allocates exactly the decoded length
}

// packedPage is a by-query page as the cache holds it: its items' JSON
// packed together (one block compresses better than each item apart, as
// the items share their keys and refs, and decodes in one allocation),
// with where each item ends.
type packedPage struct {
	page  query.EntitiesPage[json.RawMessage] // without Items
	items packed
	ends  []uint32
}

// getBody returns the by-name answer cached under key, in a new slice.
func (c *readCache) getBody(key string, version uint64) (json.RawMessage, bool) {
	v, ok := c.get(key, version)
	if !ok {
		return nil, false
	}
	b, err := v.(packed).unpack()
	if err != nil {
		return nil, false // cannot happen: pack wrote it; answer from the store
	}
	return b, true
}

// putBody caches a by-name answer; body stays the caller's.
func (c *readCache) putBody(key string, version uint64, body json.RawMessage) {
	p := pack(body)
	c.put(key, version, p, len(p.b))
}

// getPage returns the by-query page cached under key; its items are new
// slices, the caller's own.
func (c *readCache) getPage(key string, version uint64) (query.EntitiesPage[json.RawMessage], bool) {
	v, ok := c.get(key, version)
	if !ok {
		return query.EntitiesPage[json.RawMessage]{}, false
	}
	pp := v.(packedPage)
	buf, err := pp.items.unpack()
	if err != nil || len(pp.ends) > 0 && int(pp.ends[len(pp.ends)-1]) != len(buf) {
		return query.EntitiesPage[json.RawMessage]{}, false // cannot happen, as in getBody
	}
	page := pp.page
	page.Items = make([]json.RawMessage, len(pp.ends))
	start := uint32(0)
	for i, end := range pp.ends {
		if end > start { // an empty item (not JSON: never served) stays nil
			// Capacity capped: an append to one item must not
			// overwrite the next.
			page.Items[i] = buf[start:end:end]
		}
		start = end
	}
	return page, true
}

// putPage caches a by-query page; page stays the caller's.
func (c *readCache) putPage(key string, version uint64, page query.EntitiesPage[json.RawMessage]) {
	n := 0
	for _, it := range page.Items {
		n += len(it)
	}
	if uint64(n) > math.MaxUint32 {
		return // beyond ends' reach, and far beyond limit/8 compressed
	}
	all := make([]byte, 0, n)
	ends := make([]uint32, len(page.Items))
	for i, it := range page.Items {
		all = append(all, it...)
		ends[i] = uint32(len(all))
	}
	pp := packedPage{page: page, items: pack(all), ends: ends}
	pp.page.Items = nil
	// 256 for the page's other fields (cursors, NextAfter) as before.
	c.put(key, version, pp, 256+len(pp.items.b)+4*len(ends))
}

// Cache notes: a transport that reports hits (a response header the
// bench reads) asks for a note in the request's context.

type cacheNoteKey struct{}

// CacheNote records whether a read was answered from the read cache.
type CacheNote struct{ Hit, Used bool }

// WithCacheNote returns ctx carrying a note the read methods fill in.
func WithCacheNote(ctx context.Context) (context.Context, *CacheNote) {
	n := &CacheNote{}
	return context.WithValue(ctx, cacheNoteKey{}, n), n
}

func noteCache(ctx context.Context, hit bool) {
	if n, ok := ctx.Value(cacheNoteKey{}).(*CacheNote); ok {
		n.Used, n.Hit = true, hit
	}
}
