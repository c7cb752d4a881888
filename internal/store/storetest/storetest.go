// Package storetest opens real stores for tests: a fresh SQLite database in
// a temporary directory, and a fresh PostgreSQL database on the server
// named by GREENROOM_TEST_POSTGRES, dropped when the test ends.
//
// Each PostgreSQL test gets its own database (CREATE DATABASE … TEMPLATE
// template0, about 0.1 s) rather than a schema in a shared one: migrations,
// advisory locks and subprocesses then see exactly what they would in
// production, a crashed subprocess cannot leak state into another test, and
// DROP DATABASE … WITH (FORCE) cleans up even after a SIGKILL.
//
// It is for tests only and must not be imported by production code.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"greenroom/internal/store"
)

// EnvPostgres names the environment variable holding the admin DSN of the
// PostgreSQL server that tests create their databases on, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgres = "GREENROOM_TEST_POSTGRES"

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh,
// migrated store that is closed when the subtest ends. The postgres subtest
// is skipped, loudly, when GREENROOM_TEST_POSTGRES is unset or the server is
// unreachable, and fails instead when CI=true.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	EachOptions(t, func(t *testing.T, opts store.Options) {
		fn(t, Open(t, opts))
	})
}

// EachOptions is Each for tests that open (and reopen) the store
// themselves: fn gets the options of a fresh, not yet opened database.
func EachOptions(t *testing.T, fn func(t *testing.T, opts store.Options)) {
	t.Helper()
	t.Run(store.DriverSQLite, func(t *testing.T) { fn(t, SQLiteOptions(t)) })
	t.Run(store.DriverPostgres, func(t *testing.T) { fn(t, PostgresOptions(t)) })
}

// SQLite returns a fresh store on a SQLite file in a temporary directory.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, SQLiteOptions(t))
}

// SQLiteOptions returns options for a fresh SQLite database in a temporary
// directory.
func SQLiteOptions(t testing.TB) store.Options {
	t.Helper()
	return store.Options{
		Driver:     store.DriverSQLite,
		SQLitePath: filepath.Join(t.TempDir(), "greenroom.db"),
		Logger:     Logger(t),
	}
}

// Postgres returns a fresh store on a new PostgreSQL database, skipping
// or failing the test as Each describes.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, PostgresOptions(t))
}

// PostgresOptions returns options for a new, empty PostgreSQL database.
func PostgresOptions(t testing.TB) store.Options {
	t.Helper()
	return store.Options{
		Driver:         store.DriverPostgres,
		DSN:            PostgresDSN(t),
		Logger:         Logger(t),
		ConnectTimeout: 5 * time.Second,
	}
}

// PostgresDSN creates a new, empty database named gr_<package>_<random> and
// returns its DSN, for tests that hand it to a subprocess. The database is
// dropped, with any connections still open to it, when the test ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	db, adminDSN := admin(t)
	name := dbName()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// template0 is never connected to, so concurrent creations cannot fail
	// with "source database is being accessed by other users".
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(adminDSN, name)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return dsn
}

// Open opens a store with opts and closes it when the test ends.
func Open(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("storetest: open %s store: %v", opts.Driver, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close store: %v", err)
		}
	})
	return s
}

// Logger returns a logger for stores under test: to stderr with -v,
// discarded otherwise.
func Logger(t testing.TB) *slog.Logger {
	t.Helper()
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

var adminConn struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// admin returns the connection to the server's admin database, skipping or
// failing the test when there is none. It is opened once per test binary.
func admin(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		missing(t, EnvPostgres+" is not set")
	}
	adminConn.once.Do(func() {
		adminConn.db, adminConn.err = openAdmin(dsn)
	})
	if adminConn.err != nil {
		missing(t, adminConn.err.Error())
	}
	return adminConn.db, dsn
}

func openAdmin(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid DSN", EnvPostgres)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", EnvPostgres, addr, err)
	}
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close() // the ping failure is what matters
		return nil, fmt.Errorf("PostgreSQL at %s (%s) is unreachable: %v", addr, EnvPostgres, err)
	}
	return db, nil
}

// missing fails the test under CI, where PostgreSQL coverage is required,
// and skips it loudly elsewhere.
func missing(t testing.TB, why string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("storetest: %s; PostgreSQL tests are required under CI (CI=true)", why)
	}
	warnOnce.Do(func() {
		fmt.Fprintf(os.Stderr, "storetest: WARNING: PostgreSQL tests are SKIPPED: %s\n", why)
	})
	t.Skipf("SKIPPED: PostgreSQL tests do not run: %s (set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", why, EnvPostgres)
}

var warnOnce sync.Once

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// dbName returns gr_<package>_<random>, the package taken from the test
// binary's name so a leftover database says where it came from.
func dbName() string {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	pkg = notIdent.ReplaceAllString(strings.ToLower(pkg), "_")
	if len(pkg) > 30 {
		pkg = pkg[:30]
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "gr_" + pkg + "_" + hex.EncodeToString(b)
}

// withDatabase returns dsn with its database replaced by name, for both
// the URL and the key=value forms.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid URL", EnvPostgres)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // a later keyword wins
}
