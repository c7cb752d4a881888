package cli

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"greenroom/internal/api"
	"greenroom/internal/config"
	"greenroom/internal/search"
	"greenroom/internal/store"
)

func init() { registerWire("search", wireSearch) }

// searchSourceFuncs are the sources later features add to search (TechDocs
// pages, templates beyond the catalog's, deployments…): each registers a
// constructor from its own wire file's init, and search indexes it with no
// change here.
var searchSourceFuncs []func(env *wireEnv) search.Source

// registerSearchSource adds a search source built from the wiring env.
func registerSearchSource(fn func(env *wireEnv) search.Source) {
	searchSourceFuncs = append(searchSourceFuncs, fn)
}

// searchDir is where the embedded index lives.
func searchDir(cfg *config.Config, dataDir string) string {
	if cfg.Search.Directory != "" {
		return cfg.Search.Directory
	}
	return filepath.Join(dataDir, "search")
}

// newSearchService builds the search service over the catalog (and the
// registered sources) with analytics into the store.
func newSearchService(env *wireEnv) (*search.Service, error) {
	sources := []search.Source{search.NewCatalogSource(env.store, env.catalog)}
	for _, fn := range searchSourceFuncs {
		if src := fn(env); src != nil {
			sources = append(sources, src)
		}
	}
	backend, err := searchBackend(context.Background(), env.cfg.Search, env.logger.With("component", "search"))
	if err != nil {
		return nil, err
	}
	// A shared cluster index is rebuilt only when missing, older or
	// damaged, not by every replica's start.
	svc, err := search.NewService(search.Options{
		Dir:            searchDir(env.cfg, env.dataDir),
		Logger:         env.logger.With("component", "search"),
		RebuildOnStart: !env.cfg.Search.NoRebuildOnStart && backend == nil,
		Backend:        backend,
	}, sources...)
	if err != nil {
		return nil, err
	}
	svc.SetAnalytics(storeAnalytics{env.store})
	if env.searchVisibility != nil {
		svc.SetVisibility(env.searchVisibility)
	}
	return svc, nil
}

func wireSearch(_ context.Context, env *wireEnv) error {
	svc, err := newSearchService(env)
	if err != nil {
		return err
	}
	// Reindexing on demand runs for the server's lifetime, not the
	// request's.
	var (
		mu       sync.Mutex
		lifetime = context.Background()
	)
	reindex := func() {
		mu.Lock()
		ctx := lifetime
		mu.Unlock()
		go func() {
			if err := svc.Rebuild(ctx); err != nil && ctx.Err() == nil {
				env.logger.Error("search reindex", "err", err)
			}
		}()
	}
	env.onStart = append(env.onStart, func(ctx context.Context) {
		mu.Lock()
		lifetime = ctx
		mu.Unlock()
		if err := svc.Start(ctx); err != nil {
			env.logger.Error("search start", "err", err)
			return
		}
		go func() {
			<-ctx.Done()
			if err := svc.Close(); err != nil {
				env.logger.Warn("search close", "err", err)
			}
		}()
	})
	sapi := api.NewSearchAPI(svc, reindex, env.logger.With("component", "api"))
	sapi.SetMaxPageLimit(env.cfg.Search.MaxPageLimit)
	sapi.Routes(env.mux)
	env.pages.SearchPages(svc).Routes(env.mux)
	return nil
}

// storeAnalytics adapts the store's analytics table to search.Analytics.
type storeAnalytics struct{ st *store.Store }

func (a storeAnalytics) RecordSearchAnalytics(ctx context.Context, qs []search.QueryStat, cs []search.ClickStat) error {
	sq := make([]store.SearchQueryStat, len(qs))
	for i, q := range qs {
		sq[i] = store.SearchQueryStat(q)
	}
	sc := make([]store.SearchClickStat, len(cs))
	for i, c := range cs {
		sc[i] = store.SearchClickStat(c)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.st.RecordSearchAnalytics(ctx, sq, sc)
}
