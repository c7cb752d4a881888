package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// CatalogVersionChannel is the PostgreSQL channel on which every commit
// that bumps the catalog version is announced. The payload names the
// store that committed (catalogChanges.origin), so that a replica can
// tell its own commits, counted at the commit already, from the others';
// an empty payload (an older replica's) counts as another's.
const CatalogVersionChannel = "greenroom_catalog_version"

// catalogChanges is this process's count of catalog changes, for caches
// kept in memory above the store (the served entities and pages of the
// catalog's read API): unlike the catalog_version row it costs no read. It
// grows after every commit of this process that wrote a catalog table and,
// on PostgreSQL, on every version bump another replica announces.
type catalogChanges struct {
	n atomic.Uint64
	// following counts the PostgreSQL listeners in place: without one,
	// another replica's commit would go unseen.
	following atomic.Int32
	// origin names this store in its announcements: PostgreSQL delivers
	// them to every listener, this store's own too, some time after the
	// commit. Counting that echo as a change would empty the caches a
	// second time, after reads had already cached the committed state.
	origin string
}

// newOrigin returns a name for a store's announcements, unique among the
// replicas of one database.
func newOrigin() string { return rand.Text() }

// countAnnouncement is the listener's handling of one announcement.
func (c *catalogChanges) countAnnouncement(origin string) {
	if origin == "" || origin != c.origin {
		c.n.Add(1)
	}
}

// announceCatalogChange queues, in a write transaction about to commit
// that bumped the catalog version, the notification of the other
// replicas: PostgreSQL delivers it at the commit, and only if it commits.
func (s *Store) announceCatalogChange(ctx context.Context, tx *sql.Tx) error {
	if s.d.name != DriverPostgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify('"+CatalogVersionChannel+"', $1)", s.changes.origin); err != nil {
		return fmt.Errorf("store: announce catalog change: %w", err)
	}
	return nil
}

// catalogCommitted is called after the commit of a transaction that may
// have written the catalog's tables (WithTx).
func (s *Store) catalogCommitted() { s.changes.n.Add(1) }

// CatalogReadVersion returns the process-local change counter of the
// catalog: an answer computed after reading v, before the store is read,
// may be served for as long as the counter still reads v. ok is false when
// the counter cannot be trusted: on PostgreSQL while no
// FollowCatalogVersion listener is in place, since other replicas write
// too. On PostgreSQL a change committed by another replica is seen once
// its notification arrives (milliseconds after its commit): until then
// answers cached here may be that much stale, which the in-database
// versions of the facet and count caches never are.
func (s *Store) CatalogReadVersion() (v uint64, ok bool) {
	v = s.changes.n.Load()
	if s.d.name == DriverPostgres && s.changes.following.Load() <= 0 {
		return v, false
	}
	return v, true
}

// FollowCatalogVersion keeps CatalogReadVersion trustworthy on PostgreSQL
// until ctx is done: it listens on CatalogVersionChannel and bumps the
// counter on every announcement, and also whenever the listener is
// (re)established or lost, since announcements may have been missed in
// between. ready, when not nil, is called each time the listener is in
// place. On SQLite it calls ready and returns at once: the data dir lock
// makes this process the only writer.
func (s *Store) FollowCatalogVersion(ctx context.Context, ready func()) {
	if s.d.name != DriverPostgres {
		if ready != nil {
			ready()
		}
		return
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 200 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	for ctx.Err() == nil {
		live := false
		err := s.listenOnce(ctx, CatalogVersionChannel, func() {
			s.changes.n.Add(1)
			s.changes.following.Add(1)
			live = true
			b.Reset()
			if ready != nil {
				ready()
			}
		}, s.changes.countAnnouncement)
		if live {
			s.changes.following.Add(-1)
		}
		s.changes.n.Add(1)
		if ctx.Err() != nil {
			return
		}
		wait := b.NextBackOff()
		s.log.Warn("catalog version listener lost; reconnecting", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
