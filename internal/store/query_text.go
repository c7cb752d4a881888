package store

import (
	"context"
	"fmt"
	"sync"
)

// trigramWarning is logged once per process when a PostgreSQL store runs
// full-text filters without pg_trgm (migration 0018 could not create it).
var trigramWarning sync.Once

// checkTextIndex logs, the first time a full-text filter runs on a
// PostgreSQL database without pg_trgm, that such filters scan the search
// rows (they stay correct: the trigram index is only a faster path the
// planner may take). The answer is cached per catalog version.
func (pq *pageQuery) checkTextIndex(ctx context.Context) error {
	if pq.d.name != DriverPostgres || pq.r.FullText.Term == "" {
		return nil
	}
	n, err := pq.rd.snapshotInt(ctx, pq.version, "SELECT COUNT(*) FROM pg_extension WHERE extname = 'pg_trgm'")
	if err != nil {
		return fmt.Errorf("store: pg_trgm: %w", err)
	}
	if n == 0 {
		trigramWarning.Do(func() {
			pq.s.log.Warn("pg_trgm is not installed: full-text filters scan the search rows; CREATE EXTENSION pg_trgm (postgresql-contrib) in the database and the next catalog write builds their index")
		})
	}
	return nil
}
