package apidocs

import (
	"container/list"
	"crypto/sha256"
	"html/template"
	"strconv"
	"sync"
)

// Cache keeps rendered fragments, so that a definition is parsed and
// rendered once rather than on every view: a large YAML definition takes
// a tenth of a second or more to read. Entries are keyed by a hash of the
// type, the definition and the options, so a changed definition is a new
// entry; the least recently used go first once the cache holds maxBytes.
// A Cache is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	maxBytes int
	bytes    int
	order    *list.List // of *cacheEntry, most recent first
	entries  map[[32]byte]*list.Element
}

type cacheEntry struct {
	key  [32]byte
	html template.HTML
}

// NewCache returns a cache of at most maxBytes of rendered HTML (at
// least 1 MB).
func NewCache(maxBytes int) *Cache {
	return &Cache{maxBytes: max(maxBytes, 1<<20), order: list.New(), entries: map[[32]byte]*list.Element{}}
}

// Render is the package's Render, through the cache. Fragments larger
// than a quarter of the cache are not kept.
func (c *Cache) Render(specType, definition string, opts Options) (template.HTML, error) {
	h := sha256.New()
	for _, s := range []string{specType, strconv.Itoa(opts.HeadingLevel), opts.IDPrefix, opts.Title, definition} {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	var key [32]byte
	h.Sum(key[:0])
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.order.MoveToFront(el)
		out := el.Value.(*cacheEntry).html
		c.mu.Unlock()
		return out, nil
	}
	c.mu.Unlock()

	out, err := Render(specType, definition, opts)
	if err != nil || len(out) > c.maxBytes/4 {
		return out, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok { // rendered meanwhile by another caller
		return out, nil
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, html: out})
	c.bytes += len(out)
	for c.bytes > c.maxBytes {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.entries, e.key)
		c.bytes -= len(e.html)
	}
	return out, nil
}

// Len returns the number of fragments held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
