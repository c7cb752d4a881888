package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// A WAL checkpoint copies committed pages from the write-ahead log into the
// database file and fsyncs both. SQLite runs it, by default, on the writer's
// connection at the end of the commit that takes the log past 1000 pages:
// the writer then waits for the copy and the two fsyncs before its next
// transaction. In a first load of 100k entities that was a fifth of the
// writer's time, most of it in fsync.
//
// The checkpointer runs it on a connection of its own, in the background,
// after commits: SQLite lets a PASSIVE checkpoint run beside the writer
// (and the readers), copying what no reader still needs. The writer keeps
// its own automatic checkpoint only as a backstop, at a much longer log,
// for when the checkpointer falls behind.
const (
	// checkpointBackstopPages is the writer's wal_autocheckpoint: a log
	// this long (128 MiB) is checkpointed by the writer itself. A batch of
	// a bulk load writes tens of MiB.
	checkpointBackstopPages = (128 << 20) / sqlitePageSize
	// walSizeLimit truncates the log file back to this size once a
	// checkpoint has emptied it, so that one bulk load's long log does not
	// keep its disk space.
	walSizeLimit = 64 << 20
	// checkpointInterval is the least time between two background
	// checkpoints: commits in between are copied by the next.
	checkpointInterval = 250 * time.Millisecond
)

// checkpointer runs PASSIVE checkpoints on its own connection after the
// commits it is told of (poke), at most one per checkpointInterval.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	kick chan struct{}
	stop context.CancelFunc
	done sync.WaitGroup
}

// startCheckpointer opens the checkpointer's connection to the database
// file path (opened with params) and starts it.
func startCheckpointer(ctx context.Context, path, params string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite checkpointer: %w", err), db.Close())
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &checkpointer{db: db, log: log, kick: make(chan struct{}, 1), stop: cancel}
	c.done.Go(func() { c.run(runCtx) })
	return c, nil
}

// poke tells the checkpointer of a commit; it never blocks.
func (c *checkpointer) poke() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default: // one is pending: it covers this commit too
	}
}

func (c *checkpointer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		if err := c.checkpoint(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("sqlite checkpoint failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointInterval):
		}
	}
}

// checkpoint runs one PASSIVE checkpoint: it copies what it can without
// waiting for the writer or a reader.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, logFrames, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		return fmt.Errorf("store: wal checkpoint: %w", err)
	}
	return nil
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.stop()
	c.done.Wait()
	return c.db.Close()
}
