package github

import (
	"container/list"
	"net/http"
	"sync"
)

// cached is a response kept for conditional requests: sent again with
// If-None-Match, a 304 answer means body and headers are still current.
type cached struct {
	key    string
	etag   string
	header http.Header // the headers callers read: Link, Content-Type
	body   []byte
}

func (c *cached) size() int64 { return int64(len(c.key) + len(c.etag) + len(c.body) + 128) }

// etagCache is a least-recently-used cache bounded in entries and bytes.
type etagCache struct {
	mu         sync.Mutex
	maxEntries int
	maxBytes   int64
	bytes      int64
	order      *list.List // front = most recent; values *cached
	byKey      map[string]*list.Element
}

func newETagCache(maxEntries int, maxBytes int64) *etagCache {
	if maxEntries < 0 {
		return nil
	}
	return &etagCache{maxEntries: maxEntries, maxBytes: maxBytes, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *etagCache) get(key string) (*cached, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached), true
}

func (c *etagCache) put(e *cached) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byKey[e.key]; ok {
		c.removeLocked(old)
	}
	// One response may take at most a sixteenth of the cache, so a few huge
	// answers cannot evict everything else.
	if e.size() > c.maxBytes/16 {
		return
	}
	c.byKey[e.key] = c.order.PushFront(e)
	c.bytes += e.size()
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.removeLocked(c.order.Back())
	}
}

func (c *etagCache) drop(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
}

func (c *etagCache) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*cached)
	delete(c.byKey, e.key)
	c.bytes -= e.size()
}

func (c *etagCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
