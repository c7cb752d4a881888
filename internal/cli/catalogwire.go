package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/urlread"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
)

// newCatalog builds the catalog service with everything serve gives it:
// rules, URL reading, registered locations, the orphan policy, and the
// refresh jobs (on demand, per entity, and on the schedule).
func newCatalog(cfg *config.Config, st *store.Store, pool *jobs.Pool, sources []catalog.Source, logger *slog.Logger, reg prometheus.Registerer) (*catalog.Service, error) {
	cat, err := catalog.NewService(st, sources, logger.With("component", "catalog"), cfg.Greenroom.Catalog.EntityKinds()...)
	if err != nil {
		return nil, err
	}
	rules, err := catalogRules(cfg)
	if err != nil {
		return nil, err
	}
	if v := os.Getenv(readCacheEnv); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want a number of bytes (-1 turns the cache off): %w", readCacheEnv, v, err)
		}
		cat.SetReadCacheBytes(n)
	}
	cat.SetRules(rules)
	cat.SetPushRules(rules)
	urls, err := urlread.New(cfg.Integrations, cfg.Backend.Reading, urlread.Options{
		Logger: logger.With("component", "urlread"), Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	cat.SetURLReader(urls)
	cat.SetLocationStore(st)
	if err := cat.SetOrphanStrategy(catalog.OrphanStrategy(cfg.Catalog.OrphanStrategy)); err != nil {
		return nil, err
	}
	cat.SetEnqueuer(func(ctx context.Context, kind string, payload any) error {
		_, err := pool.Enqueue(ctx, kind, payload)
		return err
	})
	cat.SetSchedule(catalog.Schedule{
		Interval: cfg.Catalog.ProcessingInterval,
		Enqueue: func(ctx context.Context, kind string, payload any, at time.Time, key string) error {
			_, err := pool.Enqueue(ctx, kind, payload, jobs.RunAt(at), jobs.DedupeKey(key))
			return err
		},
	})
	pool.Register(catalog.RefreshJobKind, func(ctx context.Context, job store.Job) error {
		// One full refresh answers every request queued before it.
		return cat.RunRefreshJob(ctx, job.Payload, func(ctx context.Context) (int, error) {
			return st.CoalesceQueuedJobs(ctx, catalog.RefreshJobKind, job.ID)
		})
	})
	pool.Register(catalog.ScheduledRefreshJobKind, func(ctx context.Context, job store.Job) error {
		return cat.RunScheduledRefresh(ctx, job.Payload)
	})
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "greenroom_catalog_read_cache_hits_total",
		Help: "Entity and by-query reads answered from the catalog's read cache.",
	}, func() float64 { return float64(cat.ReadCacheStats().Hits) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "greenroom_catalog_read_cache_misses_total",
		Help: "Cacheable entity and by-query reads the catalog's read cache could not answer.",
	}, func() float64 { return float64(cat.ReadCacheStats().Misses) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "greenroom_catalog_events_dropped_total",
		Help: "Catalog change events dropped because a subscriber's buffer was full.",
	}, func() float64 { return float64(cat.DroppedEvents()) }))
	return cat, nil
}

// readCacheEnv bounds the catalog's read cache (bytes, -1 off) for
// measurements: `greenroom bench catalog --read-cache-bytes` sets it.
const readCacheEnv = "GREENROOM_CATALOG_READ_CACHE_BYTES"

// relayCatalogEvents shares change events with the other replicas on the
// same PostgreSQL database until ctx is done, so that each replica's
// subscribers (portal live updates, caches, search) follow every change.
// SQLite is one process: nothing to do.
func relayCatalogEvents(ctx context.Context, cat *catalog.Service, st *store.Store, reg prometheus.Registerer) {
	if st.Driver() != store.DriverPostgres {
		return
	}
	// The read cache trusts the process-local change counter only while
	// this listener is in place (catalog.ChangeCounter).
	go st.FollowCatalogVersion(ctx, nil)
	stats := cat.RelayEvents(ctx, st, nil)
	for _, m := range []struct {
		name, help string
		value      func(catalog.RelayStats) uint64
	}{
		{"greenroom_catalog_events_relay_sent_total", "Messages of catalog change events sent to other replicas.", func(s catalog.RelayStats) uint64 { return s.Sent }},
		{"greenroom_catalog_events_relay_received_total", "Catalog change events received from other replicas.", func(s catalog.RelayStats) uint64 { return s.Received }},
		{"greenroom_catalog_events_relay_dropped_total", "Catalog change events not relayed because the relay queue was full.", func(s catalog.RelayStats) uint64 { return s.Dropped }},
		{"greenroom_catalog_events_relay_failed_total", "Messages of catalog change events the database refused.", func(s catalog.RelayStats) uint64 { return s.Failed }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help},
			func() float64 { return float64(m.value(stats())) }))
	}
}
