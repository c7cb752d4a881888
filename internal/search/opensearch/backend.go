package opensearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"greenroom/internal/search"
)

// Backend keeps versioned indexes behind one alias, implementing
// search.Backend: a rebuild writes a new index and swaps the alias in one
// _aliases request, so queries never see a half-built index.
type Backend struct {
	c     *Client
	alias string
	now   func() time.Time

	mu      sync.Mutex
	retired []string // indexes a Commit took the alias from, to delete
}

var _ search.Backend = (*Backend)(nil)

// NewBackend returns a backend over the cluster; it does no I/O.
func NewBackend(opts Options) (*Backend, error) {
	c, err := NewClient(opts)
	if err != nil {
		return nil, err
	}
	return &Backend{c: c, alias: c.opts.IndexPrefix + "greenroom__search", now: time.Now}, nil
}

// Alias is the name queries go through.
func (b *Backend) Alias() string { return b.alias }

// Client returns the backend's client.
func (b *Backend) Client() *Client { return b.c }

// versionPrefix starts the names of this schema version's indexes.
func (b *Backend) versionPrefix() string {
	return b.c.opts.IndexPrefix + "greenroom-v" + strconv.Itoa(SchemaVersion) + "__"
}

// targets returns the indexes the alias points to (none: os.ErrNotExist).
func (b *Backend) targets(ctx context.Context) ([]string, error) {
	out, err := b.c.Do(ctx, "GET", "/_alias/"+url.PathEscape(b.alias), nil)
	var se *StatusError
	if errors.As(err, &se) && se.NotFound() {
		return nil, fmt.Errorf("opensearch: alias %s: %w", b.alias, os.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("opensearch: alias %s: read answer: %w", b.alias, err)
	}
	var idx []string
	for k := range m {
		idx = append(idx, k)
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("opensearch: alias %s: %w", b.alias, os.ErrNotExist)
	}
	return idx, nil
}

// Open returns the engine of the index the alias names, after a count and
// a query show it can be read.
//
// A cluster that cannot be reached at start is not a damaged index: the
// engine is returned reading through the alias unchecked, its queries
// fail as unavailable until the cluster answers, and a missing index is
// then found (and rebuilt) by the first query that fails on it.
func (b *Backend) Open(ctx context.Context) (search.Engine, error) {
	idx, err := b.targets(ctx)
	if errors.Is(err, search.ErrTransient) {
		b.c.log.Warn("opensearch unreachable at start; serving through the alias when it answers", "alias", b.alias, "err", err)
		e := newEngine(b.c, b.alias)
		e.goLive(b.alias)
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	if len(idx) != 1 {
		return nil, fmt.Errorf("opensearch: alias %s names %d indexes, want one", b.alias, len(idx))
	}
	if !strings.HasPrefix(idx[0], b.versionPrefix()) {
		return nil, fmt.Errorf("opensearch: index %s (want %s…): %w", idx[0], b.versionPrefix(), search.ErrSchema)
	}
	e := newEngine(b.c, idx[0])
	e.goLive(b.alias)
	if _, err := e.Count(); err != nil {
		return nil, fmt.Errorf("opensearch: open %s: %w", idx[0], err)
	}
	return e, nil
}

// New creates an empty index of the current schema.
func (b *Backend) New(ctx context.Context) (search.Engine, error) {
	name := b.versionPrefix() + strconv.FormatInt(b.now().UnixNano(), 36)
	if _, err := b.c.Do(ctx, "PUT", "/"+url.PathEscape(name), indexBody(b.c.opts.Dialect)); err != nil {
		return nil, fmt.Errorf("opensearch: create index %s: %w", name, err)
	}
	return newEngine(b.c, name), nil
}

// Commit refreshes eng's index and points the alias at it alone, in one
// atomic _aliases request; the indexes it named before are deleted by the
// next Discard, outside the Service's lock.
func (b *Backend) Commit(ctx context.Context, eng search.Engine) error {
	e, ok := eng.(*Engine)
	if !ok {
		return errors.New("opensearch: backend given another engine")
	}
	if _, err := b.c.Do(ctx, "POST", "/"+url.PathEscape(e.index)+"/_refresh", nil); err != nil {
		return fmt.Errorf("opensearch: refresh %s: %w", e.index, err)
	}
	if b.c.opts.Dialect == DialectZinc {
		b.settle(ctx, e)
	}
	old, err := b.targets(ctx)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	actions := []obj{}
	for _, o := range old {
		if o != e.index {
			actions = append(actions, obj{"remove": obj{"index": o, "alias": b.alias}})
		}
	}
	actions = append(actions, obj{"add": obj{"index": e.index, "alias": b.alias}})
	if _, err := b.c.Do(ctx, "POST", "/_aliases", obj{"actions": actions}); err != nil {
		return fmt.Errorf("opensearch: swap alias %s to %s: %w", b.alias, e.index, err)
	}
	e.goLive(b.alias)
	b.mu.Lock()
	for _, o := range old {
		if o != e.index {
			b.retired = append(b.retired, o)
		}
	}
	b.mu.Unlock()
	return nil
}

// Discard deletes the index of an engine a failed rebuild leaves or a
// Commit replaced, and the indexes Commits took the alias from.
func (b *Backend) Discard(eng search.Engine) {
	eng.Close()
	drop := []string{}
	if e, ok := eng.(*Engine); ok && e.index != b.alias {
		drop = append(drop, e.index)
	}
	b.mu.Lock()
	for _, r := range b.retired {
		if !slices.Contains(drop, r) {
			drop = append(drop, r)
		}
	}
	b.retired = nil
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), b.c.opts.Timeout)
	defer cancel()
	for _, idx := range drop {
		if err := b.drop(ctx, idx); err != nil {
			b.c.log.Warn("opensearch: delete index", "index", idx, "err", err)
		}
	}
}

func (b *Backend) drop(ctx context.Context, index string) error {
	path := "/" + url.PathEscape(index)
	if b.c.opts.Dialect == DialectZinc {
		// ZincSearch deletes indexes through its own API, beside /es.
		path = "/../api/index/" + url.PathEscape(index)
	}
	_, err := b.c.Do(ctx, "DELETE", path, nil)
	var se *StatusError
	if errors.As(err, &se) && se.NotFound() {
		return nil
	}
	return err
}

// settle waits (up to 30 s) until the index holds every document written
// to it: ZincSearch applies bulk writes from a write-ahead log in the
// background and its _refresh does not wait for them, where OpenSearch's
// makes every write before it visible.
func (b *Backend) settle(ctx context.Context, e *Engine) {
	want := e.written()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if n, err := e.Count(); err == nil && n >= want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
