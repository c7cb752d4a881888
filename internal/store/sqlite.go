package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"greenroom/internal/greenroom"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// lockFileName is the advisory lock in the data dir that keeps a second
// greenroom process off the same SQLite database.
const lockFileName = "greenroom.lock"

// sqliteWriteParams configure every connection of the write pool. The
// _pragma form makes the driver run them on each new pooled connection, not
// just the first.
var sqliteWriteParams = strings.Join([]string{
	// Wait up to 5 s for a lock held by a reader or the WAL checkpointer
	// instead of failing at once with SQLITE_BUSY.
	"_pragma=busy_timeout(5000)",
	// The page size of a new database (an existing one keeps its own; in
	// WAL mode it cannot change). It must come before the journal mode,
	// and the driver runs the _pragma list sorted by name, so the journal
	// mode is given by its own key, which runs after the list. See
	// sqlitePageSize.
	fmt.Sprintf("_pragma=page_size(%d)", sqlitePageSize),
	// WAL lets readers proceed while a write is in progress and makes
	// commits cheaper; the setting is persistent in the file.
	"_journal_mode=WAL",
	// SQLite enforces foreign keys only when asked, per connection.
	"_pragma=foreign_keys(ON)",
	// In WAL mode NORMAL is safe against corruption and survives process
	// crashes; only an OS crash or power loss can undo the last commits,
	// in exchange for an fsync per checkpoint instead of per commit.
	"_pragma=synchronous(NORMAL)",
	// Checkpoints run in the background (sqlite_checkpoint.go); the
	// writer's own is a backstop for a log that grows long.
	fmt.Sprintf("_pragma=wal_autocheckpoint(%d)", checkpointBackstopPages),
	fmt.Sprintf("_pragma=journal_size_limit(%d)", walSizeLimit),
	// BEGIN IMMEDIATE takes the write lock when a transaction starts, so a
	// transaction that reads then writes cannot fail half-way with
	// SQLITE_BUSY when upgrading its lock.
	"_txlock=immediate",
}, "&")

// sqliteReadParams configure the read pool's connections.
var sqliteReadParams = strings.Join([]string{
	"_pragma=busy_timeout(5000)", // as above: wait out a checkpoint
	"_pragma=foreign_keys(ON)",   // as above, harmless for reads
	// A write on the read pool would bypass the single-writer pool and
	// could meet SQLITE_BUSY; make it fail loudly instead.
	"_pragma=query_only(1)",
	// No memory map of the file (mmap_size 0, SQLite's default): pages are
	// read with pread through the OS page cache into the connection's own
	// small page cache. A map is per connection, and each connection's
	// mapped pages count in the process's resident set: at 100k entities
	// the readers' 256 MiB maps held 700 MB of the 1.2 GB file resident,
	// more than all the rest of the server, for a few percent of a
	// by-query's CPU.
	"_pragma=mmap_size(0)",
}, "&")

// sqliteCheckpointParams configure the checkpointer's connection.
var sqliteCheckpointParams = strings.Join([]string{
	"_pragma=busy_timeout(5000)",
	fmt.Sprintf("_pragma=journal_size_limit(%d)", walSizeLimit),
}, "&")

// openSQLite locks the data dir, then opens the write and read pools.
func openSQLite(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	switch {
	case path == "":
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "SQLite path is empty")
	case path == ":memory:":
		return openSQLiteMemory(ctx, log)
	case strings.ContainsRune(path, '?'):
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "SQLite path %q must not contain '?'", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite path %q: %w", path, err)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	// The lock comes before the database is opened: a second process must
	// not even run the WAL recovery or migrations on a file in use.
	unlock, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{d: sqliteDialect, log: log, unlock: unlock}

	s.write, err = sql.Open("sqlite", abs+"?"+sqliteWriteParams)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite: %w", err), unlock())
	}
	// One connection: writes queue for it in Go, so concurrent writers
	// never wait in SQLite's busy handler. It stays open for the life of the
	// store so each write does not pay for a new connection.
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	// The first connection switches the file to WAL before any reader opens.
	if err := s.write.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite %s: %w", abs, err), s.write.Close(), unlock())
	}

	s.read, err = sql.Open("sqlite", abs+"?"+sqliteReadParams)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite: %w", err), s.write.Close(), unlock())
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	s.read.SetMaxOpenConns(readers)
	s.read.SetMaxIdleConns(readers)
	if err := s.read.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite %s: %w", abs, err), s.read.Close(), s.write.Close(), unlock())
	}
	s.ckpt, err = startCheckpointer(ctx, abs, sqliteCheckpointParams, log)
	if err != nil {
		return nil, errors.Join(err, s.read.Close(), s.write.Close(), unlock())
	}
	s.wstmts = newWriteStmtCache(s.write)
	log.Debug("sqlite opened", "path", abs)
	return s, nil
}

// openSQLiteMemory opens a private in-memory database. Each SQLite
// connection to ":memory:" is its own database, so there is exactly one
// connection, kept open, serving reads and writes.
func openSQLiteMemory(ctx context.Context, log *slog.Logger) (*Store, error) {
	db, err := sql.Open("sqlite", ":memory:?"+sqliteWriteParams)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open sqlite: %w", err), db.Close())
	}
	return &Store{d: sqliteDialect, read: db, write: db, log: log, wstmts: newWriteStmtCache(db)}, nil
}

// dataDirInUse is the error for a data dir locked by another process; pid
// is what that process wrote into the lock file.
func dataDirInUse(dir, pid string) error {
	if pid == "" {
		pid = "unknown"
	}
	return greenroom.Errorf(greenroom.CodeConflict, "data dir %s is in use by another greenroom process (pid %s)", dir, pid)
}

// readPID returns the first line of the lock file, which holds the owner's
// process id.
func readPID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return pid
}

// sqlitePageSize is the page size of the databases the store creates:
// 16 KiB rather than SQLite's 4 KiB. On this store's workloads the page
// writes are system calls first: a first load of 100k entities writes
// about 1 GB through the WAL and again into the file, and at 4 KiB that
// was 7 s of pwrite and 3 s of pread in 83 s of CPU, a quarter of a
// million calls each way. Larger pages make a quarter of the calls and
// shallower B-trees; a point read then copies 16 KiB instead of 4 from the
// OS cache, which costs microseconds.
const sqlitePageSize = 16384
