package opensearch

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"greenroom/internal/config"
	"greenroom/internal/search"
	"greenroom/internal/search/searchtest"
)

var prefixes atomic.Int64

// zincBackend returns a backend over the shared ZincSearch server with an
// index prefix of its own.
func zincBackend(t testing.TB) *Backend {
	t.Helper()
	u := zincURL(t)
	b, err := NewBackend(Options{Nodes: []string{u}, Username: zincUser, Password: config.Secret(zincPass),
		IndexPrefix: "t" + strconv.FormatInt(prefixes.Add(1), 10) + "-", Dialect: DialectZinc})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// liveEngine makes a new index and points the alias at it.
func liveEngine(t *testing.T, b *Backend) *Engine {
	t.Helper()
	ctx := context.Background()
	eng, err := b.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx, eng); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Discard(eng) })
	return eng.(*Engine)
}

// TestZincContract runs the engine contract the embedded index meets
// against a real ZincSearch server.
func TestZincContract(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Engine { return liveEngine(t, zincBackend(t)) })
}

// TestZincVisibilityProperty runs the visibility property against
// ZincSearch.
func TestZincVisibilityProperty(t *testing.T) {
	searchtest.VisibilityProperty(t, func(t *testing.T) search.Engine { return liveEngine(t, zincBackend(t)) })
}
