package access

import (
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
)

// rowCache keeps the search rows of entities that read scopes decided
// single refs on, across requests: deciding the relations of a page of
// entities would otherwise load each target from the store. An entry is
// dropped when the catalog reports a change of its entity (Follow), and is
// never older than MaxStaleness, which bounds what a missed event (another
// replica's change) can leave stale: the same bound as role resolution.
type rowCache struct {
	mu  sync.Mutex
	m   map[string]rowEntry
	now func() time.Time
}

type rowEntry struct {
	rows []query.SearchRow // nil: the entity does not exist
	at   time.Time
}

// maxCachedRows bounds the cache; when full it starts over.
const maxCachedRows = 20000

func (c *rowCache) get(ref string) ([]query.SearchRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[ref]
	if !ok || c.now().Sub(e.at) > MaxStaleness {
		return nil, false
	}
	return e.rows, true
}

func (c *rowCache) put(ref string, rows []query.SearchRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedRows {
		c.m = map[string]rowEntry{}
	}
	c.m[ref] = rowEntry{rows: rows, at: c.now()}
}

func (c *rowCache) forget(ref string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, ref)
}

func (c *rowCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// Forget drops the cached rows of the entity ref names.
func (a *Authorizer) Forget(ref string) { a.rows.forget(strings.ToLower(ref)) }

// ForgetAll drops every cached row.
func (a *Authorizer) ForgetAll() { a.rows.clear() }

// Follow drops the cached rows of every entity the catalog reports
// changed, and all of them when the subscription dropped events, until
// the subscription ends.
func (a *Authorizer) Follow(sub *catalog.Subscription) {
	var dropped uint64
	for ev := range sub.C {
		if d := sub.Dropped(); d != dropped {
			dropped = d
			a.rows.clear()
		}
		a.rows.forget(strings.ToLower(ev.Ref))
	}
}
