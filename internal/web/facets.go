package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog/query"
)

// facetCache keeps the filter form's counts between requests. Counting
// facets reads every search row of the kind, which at 10k entities costs
// more than the rest of the page together, while the counts change only
// when the catalog does. An entry lives until the next catalog change
// event this process sees, and at most facetTTL (so that changes made by
// other replicas show within that time). Without change events (Watch not
// running) nothing is cached.
type facetCache struct {
	mu      sync.Mutex
	on      bool
	gen     uint64 // bumped by every change event
	entries map[string]facetEntry
}

type facetEntry struct {
	gen  uint64
	at   time.Time
	resp query.FacetsResponse
}

// Bounds of the cache: the kind in a key comes from the URL.
const (
	facetTTL        = time.Minute
	maxFacetEntries = 256
)

func (c *facetCache) enable() {
	c.mu.Lock()
	c.on = true
	c.mu.Unlock()
}

// invalidate drops every entry: the catalog changed.
func (c *facetCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// facets returns the counts for q, from the cache when they are fresh.
// kindKey identifies q's filter, which must be the kind filter alone.
func (h *Handler) facets(ctx context.Context, q query.FacetsQuery, kindKey string) (query.FacetsResponse, error) {
	c := &h.facetCache
	key := strings.Join(q.Facets, "\x00") + "\x01" + kindKey
	c.mu.Lock()
	on, gen := c.on, c.gen
	if e, ok := c.entries[key]; on && ok && e.gen == gen && time.Since(e.at) < facetTTL {
		c.mu.Unlock()
		return e.resp, nil
	}
	c.mu.Unlock()
	resp, err := h.catalog.Facets(ctx, q)
	if err != nil || !on {
		return resp, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxFacetEntries {
		c.entries = map[string]facetEntry{}
	}
	c.entries[key] = facetEntry{gen: gen, at: time.Now(), resp: resp}
	return resp, nil
}
