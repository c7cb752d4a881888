package catalog

import (
	"container/list"
	"context"
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/golang/snappy"

	"greenroom/internal/catalog/query"
)

// The read API's cache: entities by name, by-query pages and facets in the form
// served to one read scope, kept while the catalog has not changed. A
// single global change counter keys every entry, so that any commit (of
// this process, or announced by another replica) retires the cache: an
// entity's served form depends on other entities (relations are stitched
// both ways), so nothing finer would be obviously right.

// ChangeCounter is what the cache needs of the store: a counter that moves
// after every commit that may change what a read returns, read before the
// store is asked. ok false means it cannot be trusted now, and nothing is
// cached or served from the cache.
type ChangeCounter interface {
	CatalogReadVersion() (v uint64, ok bool)
}

// DefaultReadCacheBytes bounds the cache of entity bodies and pages: their
// compressed JSON, keys and a few bytes each.
//
// The bodies live off the Go heap (fastcache: 512 buckets, each a ring of
// 64 KiB chunks from mmap), and that is what the bound is about. Held on
// the heap, as they were until session 13, a full cache of 48 MiB cost
// about 120 MB of peak RSS at 100k entities (431 MB with it, 310 MB with
// the cache off, under the bench's load), since the collector lets the
// heap grow to twice what is live: a byte off the heap costs one byte of
// RSS, a byte on it two. fastcache rounds the bound up to whole chunks per
// bucket, so bounds are multiples of 32 MiB.
//
// 64 rather than 32 MiB: measured under the bench's load on a restarted
// 100k catalog, 32 MiB gave a peak RSS of 320 MB but by-query hits of 89 %
// (p99 20 ms), 64 MiB 352 MB with 92 % (p99 16 ms) and by-name hits of
// 45 %, against 419 MB, 91 % (p99 18–20 ms) and 35 % for the on-heap
// cache of 48 MiB it replaced.
//
// Snappy takes a by-name entity from 1,263 to 785 bytes on average (ratio
// 0.62, generated catalogs, TestReadCacheCompressesGeneratedEntities) and
// a page of 20 entities to 0.20–0.27 of its JSON.
const DefaultReadCacheBytes = 64 << 20

// facetCacheBytes bounds the facet answers, which stay on the heap as
// maps (decoding them from bytes on every hit would cost more than the
// count they save is worth at this size): a few hundred answers.
const facetCacheBytes = 2 << 20

// entryOverhead approximates an on-heap entry's cost beyond its bytes:
// key, list element, map slot.
const entryOverhead = 160

// maxEntryBytes is what one fastcache entry can hold (key, value and a
// 4-byte header within one 64 KiB chunk); a larger answer is not cached.
const maxEntryBytes = 64<<10 - 4 - 1

// readCache holds served answers for the catalog's latest version: bodies
// and pages off the heap, facets on it. The zero value holds
// DefaultReadCacheBytes.
type readCache struct {
	max atomic.Int64 // 0: DefaultReadCacheBytes; < 0: disabled

	mu    sync.Mutex // guards bytes' creation
	bytes atomic.Pointer[sizedCache]

	facets  lruCache
	cursors lruCache // of pageCursors

	hits, misses atomic.Uint64
	written      atomic.Uint64 // bytes given to the off-heap cache (see markBytes)
}

// sizedCache is a fastcache made for one bound.
type sizedCache struct {
	*fastcache.Cache
	bound int64
}

func (c *readCache) limit() int64 {
	if m := c.max.Load(); m != 0 {
		return m
	}
	return DefaultReadCacheBytes
}

// store returns the off-heap cache for the current bound, nil when the
// cache is off. A new bound starts an empty cache.
func (c *readCache) store() *fastcache.Cache {
	limit := c.limit()
	if limit < 0 {
		return nil
	}
	if b := c.bytes.Load(); b != nil && b.bound == limit {
		return b.Cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.bytes.Load(); b != nil && b.bound == limit {
		return b.Cache
	}
	if old := c.bytes.Load(); old != nil {
		old.Reset() // its chunks go back to fastcache's free list
	}
	b := &sizedCache{Cache: fastcache.New(int(limit)), bound: limit}
	c.bytes.Store(b)
	return b.Cache
}

// bytesKey is the off-heap key: the version, then key, so that entries
// of an older version are never found (and are overwritten as the rings
// turn).
func bytesKey(dst []byte, key string, version uint64) []byte {
	return append(binary.BigEndian.AppendUint64(dst, version), key...)
}

// Each off-heap value starts with markBytes: how many bytes the cache
// had been given (written) when the value was put. fastcache evicts in
// the order entries were put, whatever is read: under the bench's load
// the random by-name misses turned a 64 MiB cache over in seconds, taking
// the hot by-query pages with them (hits 91 → 87 %, by-query p99 18 →
// 27–34 ms). A hit on an entry put more than half the cache ago puts it
// again, so that an entry read at least once per half turn stays, as in
// an LRU.
const markBytes = 8

// getBytes appends the value under key to dst.
func (c *readCache) getBytes(dst []byte, key string, version uint64) ([]byte, bool) {
	fc := c.store()
	if fc == nil {
		return dst, false
	}
	kb := keyScratch.Get().(*[]byte)
	defer keyScratch.Put(kb)
	*kb = bytesKey((*kb)[:0], key, version)
	start := len(dst)
	v, ok := fc.HasGet(dst, *kb)
	if !ok || len(v)-start < markBytes {
		c.misses.Add(1)
		return dst, false
	}
	c.hits.Add(1)
	val := v[start:]
	written := c.written.Load()
	if mark := binary.BigEndian.Uint64(val); mark < written && written-mark > uint64(c.limit()/2) {
		binary.BigEndian.PutUint64(val, written)
		c.written.Add(uint64(len(*kb) + len(val)))
		fc.Set(*kb, val)
	}
	return append(v[:start], val[markBytes:]...), true
}

// putBytes caches val, which starts with markBytes of room for the mark.
func (c *readCache) putBytes(key string, version uint64, val []byte) {
	fc := c.store()
	if fc == nil || 8+len(key)+len(val) > maxEntryBytes || int64(len(val)) > c.limit()/8 {
		return
	}
	kb := keyScratch.Get().(*[]byte)
	defer keyScratch.Put(kb)
	*kb = bytesKey((*kb)[:0], key, version)
	binary.BigEndian.PutUint64(val, c.written.Add(uint64(len(*kb)+len(val))))
	fc.Set(*kb, val)
}

var keyScratch = sync.Pool{New: func() any { return new([]byte) }}

// ReadCacheStats are the cache's counters since start.
type ReadCacheStats struct {
	Hits, Misses uint64
	// Entries and Bytes are what the cache holds now, entries of
	// versions already retired included until they are overwritten.
	Entries int
	Bytes   int64
}

// ReadCacheStats returns the read cache's counters.
func (s *Service) ReadCacheStats() ReadCacheStats {
	c := &s.cache
	st := ReadCacheStats{Hits: c.hits.Load() + c.facets.hits.Load(), Misses: c.misses.Load() + c.facets.misses.Load()}
	// A page found without its cursors is a miss counted twice: rare.
	if b := c.bytes.Load(); b != nil {
		var fs fastcache.Stats
		b.UpdateStats(&fs)
		st.Entries, st.Bytes = int(fs.EntriesCount), int64(fs.BytesSize)
	}
	n, size := c.facets.held()
	st.Entries += n
	st.Bytes += size
	_, size = c.cursors.held() // counted with their pages
	st.Bytes += size
	return st
}

// SetReadCacheBytes bounds the read cache's bodies and pages; 0 restores
// the default and a negative value turns the whole cache off. A new bound
// empties the cache.
func (s *Service) SetReadCacheBytes(n int64) { s.cache.max.Store(n) }

// cacheSlot names where the answer of a read would be cached: the key
// (what the answer depends on, the caller's scope included) and the
// catalog's change counter read before the store is. ok is false when the
// answer must not be cached: a scope without a CacheKey, no trustworthy
// counter, or a request that does not encode.
func (s *Service) cacheSlot(sc ReadScope, kind string, what any) (key string, version uint64, ok bool) {
	cc, isCounter := s.querier.(ChangeCounter)
	if !isCounter || s.cache.max.Load() < 0 {
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

// Snappy rather than gzip or zstd because every hit pays for a decode:
// snappy needs no tables to set up, and BenchmarkReadCacheHit measures a
// hit at about a microsecond by name and ten for a page of 20 (27 KB),
// against milliseconds for an answer from the store.

// JSON shorter than minPackBytes is kept as it is: snappy's best on such
// a body (a few dozen bytes, as short inputs have few repeats) would save
// a small part of the entry for a decode on every hit.
const minPackBytes = 256

// Packed JSON starts with one of these: the JSON itself follows, or a
// snappy block of it. Raw when compressing would not pay (short JSON, or
// one that snappy does not shrink by at least a fifth: a saving smaller
// than that is not worth a decode on every hit).
const (
	packRaw    byte = 'r'
	packSnappy byte = 'z'
)

// appendPacked appends raw's packed form to dst.
func appendPacked(dst, raw []byte) []byte {
	if len(raw) >= minPackBytes {
		n := snappy.MaxEncodedLen(len(raw))
		dst = append(dst, packSnappy)
		start := len(dst)
		dst = growTo(dst, start+n)
		z := snappy.Encode(dst[start:start+n], raw)
		if len(z) <= len(raw)-len(raw)/5 {
			return dst[:start+len(z)]
		}
		dst = dst[:start-1]
	}
	return append(append(dst, packRaw), raw...)
}

func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, len(b), n)
		copy(nb, b)
		b = nb
	}
	return b[:n]
}

// unpack returns the JSON of packed p in a new slice, the caller's own.
func unpack(p []byte) ([]byte, bool) {
	if len(p) == 0 {
		return nil, false
	}
	switch p[0] {
	case packRaw:
		return append([]byte(nil), p[1:]...), true
	case packSnappy:
		b, err := snappy.Decode(nil, p[1:]) // allocates exactly the decoded length
		return b, err == nil
	}
	return nil, false
}

var valueScratch = sync.Pool{New: func() any { return new([]byte) }}

// getBody returns the by-name answer cached under key, in a new slice.
func (c *readCache) getBody(key string, version uint64) (json.RawMessage, bool) {
	vb := valueScratch.Get().(*[]byte)
	defer valueScratch.Put(vb)
	v, ok := c.getBytes((*vb)[:0], key, version)
	*vb = v
	if !ok {
		return nil, false
	}
	return unpack(v) // false cannot happen: putBody wrote it; answer from the store
}

// putBody caches a by-name answer; body stays the caller's.
func (c *readCache) putBody(key string, version uint64, body json.RawMessage) {
	vb := valueScratch.Get().(*[]byte)
	defer valueScratch.Put(vb)
	*vb = appendPacked(append((*vb)[:0], make([]byte, markBytes)...), body)
	c.putBytes(key, version, *vb)
}

// A page as the cache holds it: the total and NextAfter (a uvarint
// length and its bytes), whether it has cursors, the number of items and
// where each ends (uvarints), then the items' JSON packed together (one
// block compresses better than each item apart, as the items share their
// keys and refs, and decodes in one allocation). The cursors stay on the
// heap as they are, in a small LRU under the same key and version:
// decoding them from their encoded form on every hit doubled a hit's cost
// (BenchmarkReadCacheHit, 14 → 24 µs, 9 → 53 allocations).

// pageCursors are a cached page's cursors, never modified.
type pageCursors struct{ next, prev *query.Cursor }

// pageCursorBytes bounds the cursors' LRU: with their keys (the query's
// JSON) about 1.5 KB a page, some thousands of pages.
const pageCursorBytes = 4 << 20

// getPage returns the by-query page cached under key; its items are new
// slices, the caller's own.
func (c *readCache) getPage(key string, version uint64) (query.EntitiesPage[json.RawMessage], bool) {
	vb := valueScratch.Get().(*[]byte)
	defer valueScratch.Put(vb)
	v, ok := c.getBytes((*vb)[:0], key, version)
	*vb = v
	if !ok {
		return query.EntitiesPage[json.RawMessage]{}, false
	}
	page, withCursors, ok := decodePage(v)
	if !ok {
		return page, false // cannot happen, as in getBody
	}
	if withCursors {
		cur, ok := c.cursors.get(key, version)
		if !ok {
			return query.EntitiesPage[json.RawMessage]{}, false // evicted apart: a miss
		}
		pc := cur.(pageCursors)
		page.NextCursor, page.PrevCursor = pc.next, pc.prev
	}
	return page, true
}

func decodePage(v []byte) (page query.EntitiesPage[json.RawMessage], withCursors, ok bool) {
	r := pageReader{b: v}
	page.TotalItems = int(r.uvarint())
	page.NextAfter = r.str()
	withCursors = r.uvarint() == 1
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		return page, false, false
	}
	ends := make([]uint32, n)
	for i := range ends {
		ends[i] = uint32(r.uvarint())
	}
	if r.bad {
		return page, false, false
	}
	buf, ok := unpack(r.b)
	if !ok || n > 0 && int(ends[n-1]) != len(buf) {
		return page, false, false
	}
	page.Items = make([]json.RawMessage, n)
	start := uint32(0)
	for i, end := range ends {
		if end < start {
			return page, false, false
		}
		if end > start { // an empty item (not JSON: never served) stays nil
			// Capacity capped: an append to one item must not
			// overwrite the next.
			page.Items[i] = buf[start:end:end]
		}
		start = end
	}
	return page, withCursors, true
}

type pageReader struct {
	b   []byte
	bad bool
}

func (r *pageReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *pageReader) str() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// putPage caches a by-query page; page stays the caller's (its cursors
// are kept as they are: nothing modifies a page's cursors once made).
func (c *readCache) putPage(key string, version uint64, page query.EntitiesPage[json.RawMessage]) {
	n := 0
	for _, it := range page.Items {
		n += len(it)
	}
	if n > maxEntryBytes*8 {
		return // could not fit one entry, even compressed well
	}
	vb := valueScratch.Get().(*[]byte)
	defer valueScratch.Put(vb)
	b := append((*vb)[:0], make([]byte, markBytes)...)
	b = binary.AppendUvarint(b, uint64(max(page.TotalItems, 0)))
	b = append(binary.AppendUvarint(b, uint64(len(page.NextAfter))), page.NextAfter...)
	withCursors := page.NextCursor != nil || page.PrevCursor != nil
	if withCursors {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(page.Items)))
	end := 0
	for _, it := range page.Items {
		end += len(it)
		b = binary.AppendUvarint(b, uint64(end))
	}
	all := valueScratch.Get().(*[]byte)
	defer valueScratch.Put(all)
	*all = (*all)[:0]
	for _, it := range page.Items {
		*all = append(*all, it...)
	}
	b = appendPacked(b, *all)
	*vb = b
	if withCursors {
		// The cursors' encoded length approximates what they hold.
		info := page.Info()
		c.cursors.put(key, version, pageCursors{page.NextCursor, page.PrevCursor}, len(info.NextCursor)+len(info.PrevCursor), pageCursorBytes)
	}
	c.putBytes(key, version, b)
}

// get returns the facet answer cached under key.
func (c *readCache) get(key string, version uint64) (any, bool) {
	if c.limit() < 0 {
		return nil, false
	}
	return c.facets.get(key, version)
}

// put caches a facet answer of about size bytes.
func (c *readCache) put(key string, version uint64, val any, size int) {
	if c.limit() < 0 {
		return
	}
	c.facets.put(key, version, val, size, facetCacheBytes)
}

// lruCache is an LRU of values on the heap bounded by size, for one
// version of the catalog at a time.
type lruCache struct {
	mu      sync.Mutex
	version uint64
	size    int64
	byKey   map[string]*list.Element
	lru     list.List // of *cacheEntry, most recent first

	hits, misses atomic.Uint64
}

type cacheEntry struct {
	key  string
	size int64
	val  any // never modified
}

func (c *lruCache) get(key string, version uint64) (any, bool) {
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

func (c *lruCache) put(key string, version uint64, val any, size int, limit int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cost := int64(size) + int64(len(key)) + entryOverhead
	switch {
	case cost > limit/8:
		return // one answer too big to be worth a slot
	case version < c.version:
		return // computed before a change the entries already reflect
	case version > c.version || c.byKey == nil:
		c.byKey = map[string]*list.Element{}
		c.lru.Init()
		c.size = 0
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

func (c *lruCache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.byKey, e.key)
	c.size -= e.size
}

func (c *lruCache) held() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.size
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
