package catalog

import (
	"container/list"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

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

// DefaultReadCacheBytes bounds the cache's entries (their bodies, plus a
// fixed overhead each); least recently used entries go first.
const DefaultReadCacheBytes = 64 << 20

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
	val  any // json.RawMessage, query.EntitiesPage[json.RawMessage] or facet counts; never modified
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

func pageSize(p query.EntitiesPage[json.RawMessage]) int {
	n := 256
	for _, it := range p.Items {
		n += len(it) + 24
	}
	return n
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
