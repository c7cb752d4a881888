package urlread

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps the last good bytes of each URL read, least recently used
// first out, within maxBytes and maxEntries. Data slices are never
// modified after put, so get can hand them out without copying under the
// lock.
type cache struct {
	maxBytes   int64
	maxEntries int

	mu    sync.Mutex
	bytes int64
	order *list.List // of *entry, most recently used first
	byURL map[string]*list.Element
}

// entry is one cached URL.
type entry struct {
	url          string
	data         []byte
	etag         string
	lastModified string
	// checked is when the source last gave or confirmed these bytes.
	checked time.Time
}

func newCache(maxBytes int64, maxEntries int) *cache {
	return &cache{maxBytes: maxBytes, maxEntries: maxEntries, order: list.New(), byURL: map[string]*list.Element{}}
}

// get returns a copy of the entry for url.
func (c *cache) get(url string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byURL[url]
	if !ok {
		return entry{}, false
	}
	c.order.MoveToFront(el)
	return *el.Value.(*entry), true
}

// put stores data for url, evicting the least recently used entries to
// stay within the bounds. Data larger than a quarter of the budget is not
// kept, so one file cannot flush everything else.
func (c *cache) put(e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(e.url)
	size := int64(len(e.data))
	if c.maxEntries <= 0 || size > c.maxBytes/4 {
		return
	}
	for c.order.Len() > 0 && (c.bytes+size > c.maxBytes || c.order.Len() >= c.maxEntries) {
		c.removeLocked(c.order.Back().Value.(*entry).url)
	}
	c.byURL[e.url] = c.order.PushFront(&e)
	c.bytes += size
}

// confirm records that the source confirmed the cached bytes of url
// (304 Not Modified) at now.
func (c *cache) confirm(url string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byURL[url]; ok {
		el.Value.(*entry).checked = now
	}
}

func (c *cache) remove(url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(url)
}

func (c *cache) removeLocked(url string) {
	el, ok := c.byURL[url]
	if !ok {
		return
	}
	c.bytes -= int64(len(el.Value.(*entry).data))
	c.order.Remove(el)
	delete(c.byURL, url)
}

// size returns the entries and bytes held, for metrics.
func (c *cache) size() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
