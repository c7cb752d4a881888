package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Backend makes the engines a Service uses and records which one is live:
// the embedded bleve index in a directory (the default), or an external
// engine such as OpenSearch (package search/opensearch), whose indexes are
// versioned behind an alias.
type Backend interface {
	// Open returns the live engine. It fails wrapping os.ErrNotExist when
	// there is none, ErrSchema when it is of another schema version, and
	// with another error when it cannot be read (corruption); the Service
	// then rebuilds.
	Open(ctx context.Context) (Engine, error)
	// New makes an empty engine to rebuild into, beside the live one.
	New(ctx context.Context) (Engine, error)
	// Commit makes eng (from New) the live engine, atomically for
	// readers; the Service holds its write lock meanwhile, so it should be
	// short. On error eng is not live, and the Service discards it.
	Commit(ctx context.Context, eng Engine) error
	// Discard closes and drops an engine: one from New that a failed
	// rebuild leaves, or the one a Commit replaced (no query uses it any
	// more).
	Discard(eng Engine)
}

// ErrTransient marks an engine error that says the engine cannot be
// reached for now (an external cluster down or overloaded), not that its
// index is damaged: the Service reports it and does not rebuild.
var ErrTransient = errors.New("search engine unreachable for now")

// sizer is an engine that knows the bytes it takes.
type sizer interface{ Size() int64 }

// bleveBackend keeps bleve indexes in dir, the live one named by CURRENT.
type bleveBackend struct{ dir string }

// Open opens the index named by CURRENT.
func (b bleveBackend) Open(context.Context) (Engine, error) {
	name, _ := os.ReadFile(filepath.Join(b.dir, currentFile))
	dir := strings.TrimSpace(string(name))
	if dir == "" || strings.ContainsAny(dir, `/\`) {
		return nil, fmt.Errorf("search: no current index in %s: %w", b.dir, os.ErrNotExist)
	}
	eng, err := OpenBleve(filepath.Join(b.dir, dir))
	if err != nil {
		return nil, err
	}
	return eng, nil
}

// New creates an empty index in a new directory.
func (b bleveBackend) New(context.Context) (Engine, error) {
	eng, err := NewBleve(filepath.Join(b.dir, "index-"+strconv.FormatInt(time.Now().UnixNano(), 36)))
	if err != nil {
		return nil, err
	}
	return eng, nil
}

// Commit names eng in CURRENT.
func (b bleveBackend) Commit(_ context.Context, eng Engine) error {
	nb, ok := eng.(*Bleve)
	if !ok {
		return errors.New("search: bleve backend given another engine")
	}
	if err := writeCurrent(b.dir, filepath.Base(nb.Dir())); err != nil {
		return fmt.Errorf("search: record current index: %w", err)
	}
	return nil
}

// Discard closes and removes an index, and the directories crashes left
// (any but the one CURRENT names).
func (b bleveBackend) Discard(eng Engine) {
	eng.Close()
	if nb, ok := eng.(*Bleve); ok {
		os.RemoveAll(nb.Dir())
	}
	name, _ := os.ReadFile(filepath.Join(b.dir, currentFile))
	if cur := strings.TrimSpace(string(name)); cur != "" {
		b.removeStale(filepath.Join(b.dir, cur))
	}
}

// removeStale removes index directories left by crashes.
func (b bleveBackend) removeStale(keep string) {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(b.dir, e.Name())
		if e.IsDir() && strings.HasPrefix(e.Name(), "index-") && p != keep {
			os.RemoveAll(p)
		}
	}
}
