package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"greenroom/internal/catalog/query"
)

// bumpCatalogVersion is the last statement of every write transaction that
// may have written a catalog table (Tx.note).
const bumpCatalogVersion = "UPDATE catalog_version SET version = version + 1 WHERE id = 1"

// catalogVersion reads the version in the read transaction's snapshot:
// every write transaction committed before the snapshot has bumped it, none
// after has.
func catalogVersion(ctx context.Context, rd reader) (int64, error) {
	var v int64
	if err := rd.queryRow(ctx, "SELECT version FROM catalog_version WHERE id = 1").Scan(&v); err != nil {
		return 0, fmt.Errorf("catalog version: %w", err)
	}
	return v, nil
}

// Bounds of the read caches.
const (
	readCacheEntries = 256
	// intCacheEntries bounds a cache of numbers (counts, estimates): an
	// entry is its key and a number, and a portal's pages ask for many
	// (a count and an estimate per owner of 1,000 groups), so 256 would
	// evict most before their next use. Keys (a statement and its
	// arguments) are a few hundred bytes: some 2 MB per cache at most.
	intCacheEntries = 4096
	// facetCacheValues bounds the values one cached facets answer may
	// hold, so that the cache stays small whatever the catalog (facets
	// over metadata.uid are not worth keeping).
	facetCacheValues = 10_000
)

// readCache keeps answers that read many index rows for the catalog
// version they were computed at: facet counts (all of metadata.tags is
// 200k rows at 100k entities, tens of milliseconds) and the totalItems of
// by-query pages (a count of every match), which the portal and API
// clients ask again and again while the catalog changes seldom by
// comparison. A hit costs one indexed read of the version in the request's
// own snapshot, so an answer is never served after a commit that could
// change it, on any replica sharing the database. The zero value is
// empty; values are shared, so callers copy what they would change.
type readCache[V any] struct {
	mu      sync.Mutex
	version int64 // of every entry
	entries map[string]V
}

// bound is the most entries c keeps.
func (c *readCache[V]) bound() int {
	if _, ok := any(c).(*readCache[int]); ok {
		return intCacheEntries
	}
	return readCacheEntries
}

func (c *readCache[V]) get(key string, version int64) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[key]
	if !ok || c.version != version {
		var zero V
		return zero, false
	}
	return v, true
}

func (c *readCache[V]) put(key string, version int64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version < c.version:
		return // computed in an older snapshot than the entries
	case version > c.version || c.entries == nil:
		c.version, c.entries = version, map[string]V{}
	case len(c.entries) >= c.bound():
		for k := range c.entries { // evict one at random
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = v
}

// cacheKey is the JSON of what an answer depends on; ok is false when it
// does not encode.
func cacheKey(v any) (string, bool) {
	b, err := json.Marshal(v)
	return string(b), err == nil
}

func facetCacheKey(facets []string, filter *query.Filter) (string, bool) {
	return cacheKey(struct {
		F []string      `json:"f"`
		Q *query.Filter `json:"q"`
	}{facets, filter})
}

// countCacheKey names the count of a resolved query: it depends on the
// style, the filter, the full-text filter and, for StyleQuery, the order
// field a match must have.
func (pq *pageQuery) countCacheKey() (string, bool) {
	orderKey := ""
	if order := pq.order(); pq.r.Style == query.StyleQuery && len(order) == 1 {
		orderKey = order[0].Key()
	}
	return cacheKey(struct {
		S query.Style          `json:"s"`
		Q *query.Filter        `json:"q"`
		T query.FullTextFilter `json:"t"`
		O string               `json:"o"`
	}{pq.r.Style, pq.r.Filter, pq.r.FullText, orderKey})
}

func copyFacets(m map[string][]query.FacetCount) map[string][]query.FacetCount {
	out := make(map[string][]query.FacetCount, len(m))
	for k, l := range m {
		out[k] = slices.Clone(l)
	}
	return out
}

// cachedFacets is put's bound on what is worth keeping of a facets answer.
func cachedFacets(out map[string][]query.FacetCount) bool {
	n := 0
	for _, l := range out {
		n += len(l)
	}
	return n <= facetCacheValues
}
