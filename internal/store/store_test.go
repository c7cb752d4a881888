package store_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		ctx := t.Context()
		for round := range 2 {
			s, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatalf("open #%d: %v", round+1, err)
			}
			applied, latest, err := s.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if applied != latest || latest < 2 {
				t.Errorf("open #%d: MigrationStatus = %d, %d; want equal and at least 2", round+1, applied, latest)
			}
			var rows int
			err = s.WithTx(ctx, func(tx *store.Tx) error {
				return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows)
			})
			if err != nil {
				t.Fatal(err)
			}
			if rows != latest {
				t.Errorf("open #%d: schema_migrations has %d rows, want %d", round+1, rows, latest)
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if s.Driver() != opts.Driver {
				t.Errorf("Driver() = %q, want %q", s.Driver(), opts.Driver)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		ctx := t.Context()
		s, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, latest, err := s.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var appliedAt any = time.Now()
		if s.Driver() == store.DriverSQLite {
			appliedAt = time.Now().UnixMilli()
		}
		err = s.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", latest+1, "from_the_future", appliedAt)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s, err = store.Open(ctx, opts)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded on a database with a newer schema")
		}
		if got := greenroom.ErrorCode(err); got != greenroom.CodeConflict {
			t.Errorf("code = %q, want conflict (err: %v)", got, err)
		}
		want := fmt.Sprintf("database schema is at version %d but this greenroom binary knows only up to %d", latest+1, latest)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to contain %q", err, want)
		}
	})
}

func TestSQLiteDataDirLock(t *testing.T) {
	opts := storetest.SQLiteOptions(t)
	ctx := t.Context()
	first, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.Open(ctx, opts)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("second Open on the same data dir succeeded")
	}
	if got := greenroom.ErrorCode(err); got != greenroom.CodeConflict {
		t.Errorf("code = %q, want conflict (err: %v)", got, err)
	}
	want := fmt.Sprintf("data dir %s is in use by another greenroom process (pid %d)", filepath.Dir(opts.SQLitePath), os.Getpid())
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSQLiteCreatesDataDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "greenroom.db")
	s := storetest.Open(t, store.Options{SQLitePath: path})
	if s.Driver() != store.DriverSQLite {
		t.Errorf("Driver() = %q, want sqlite by default", s.Driver())
	}
	for _, name := range []string{"greenroom.db", "greenroom.lock"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSQLiteMemory(t *testing.T) {
	s := storetest.Open(t, store.Options{Driver: store.DriverSQLite, SQLitePath: ":memory:"})
	ctx := t.Context()
	if _, err := s.ReplaceSourceEntities(ctx, "src", []store.EntityRecord{rec("component:default/a", "h")}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountEntities(ctx); err != nil || n != 1 {
		t.Errorf("CountEntities = %d, %v; want 1", n, err)
	}
}

func TestOpenInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts store.Options
	}{
		{"unknown driver", store.Options{Driver: "oracle"}},
		{"empty sqlite path", store.Options{Driver: store.DriverSQLite}},
		{"question mark in path", store.Options{SQLitePath: "/tmp/x?y.db"}},
		{"empty dsn", store.Options{Driver: store.DriverPostgres}},
		{"bad port", store.Options{DSN: "postgres://u:s3cr3t-pw@127.0.0.1:notaport/db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(t.Context(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if got := greenroom.ErrorCode(err); got != greenroom.CodeInvalid {
				t.Errorf("code = %q, want invalid (err: %v)", got, err)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestPostgresUnreachable(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"url", "postgres://greenroom:s3cr3t-pw@127.0.0.1:1/test?sslmode=disable"},
		{"keyword", "host=127.0.0.1 port=1 user=greenroom password=s3cr3t-pw dbname=test sslmode=disable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs storetest.LogBuffer
			timeout := time.Second
			start := time.Now()
			s, err := store.Open(t.Context(), store.Options{
				DSN:            tt.dsn,
				ConnectTimeout: timeout,
				Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
			})
			elapsed := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on 127.0.0.1:1")
			}
			if elapsed > timeout+time.Second || elapsed < timeout-200*time.Millisecond {
				t.Errorf("Open took %v, want about %v", elapsed, timeout)
			}
			if got := greenroom.ErrorCode(err); got != greenroom.CodeUnavailable {
				t.Errorf("code = %q, want unavailable", got)
			}
			const want = "database 127.0.0.1:1 unreachable after 1s: connection refused"
			if err.Error() != want {
				t.Errorf("err = %q\nwant  %q", err, want)
			}
			if retries := strings.Count(logs.String(), "database not reachable yet"); retries < 2 {
				t.Errorf("logged %d retries, want several (backoff):\n%s", retries, logs.String())
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(logs.String(), "s3cr3t") {
				t.Errorf("the password leaked:\nerr: %v\nlogs: %s", err, logs.String())
			}
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const writers, rounds = 8, 20
		var wg sync.WaitGroup
		errs := make(chan error, writers*rounds*2+rounds)
		for w := range writers {
			wg.Go(func() {
				source := fmt.Sprintf("source-%d", w)
				for r := range rounds {
					var recs []store.EntityRecord
					for i := range r + 1 {
						recs = append(recs, rec(fmt.Sprintf("component:w%d/e%d", w, i), fmt.Sprintf("h%d", r)))
					}
					if _, err := s.ReplaceSourceEntities(ctx, source, recs); err != nil {
						errs <- fmt.Errorf("writer %d round %d: replace: %w", w, r, err)
					}
					if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", DedupeKey: fmt.Sprintf("w%d-r%d", w, r)}); err != nil {
						errs <- fmt.Errorf("writer %d round %d: enqueue: %w", w, r, err)
					}
				}
			})
		}
		wg.Go(func() { // a reader alongside, as the web UI would be
			for range rounds {
				if _, err := s.ListEntities(ctx, store.EntityQuery{Limit: 50}); err != nil {
					errs <- fmt.Errorf("reader: %w", err)
				}
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n, err := s.CountEntities(ctx); err != nil || n != writers*rounds {
			t.Errorf("CountEntities = %d, %v; want %d", n, err, writers*rounds)
		}
		counts, err := s.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.JobQueued] != writers*rounds {
			t.Errorf("queued jobs = %d, want %d", counts[store.JobQueued], writers*rounds)
		}
	})
}

func TestConcurrentReplaceOfOneSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for r := range 10 {
					var recs []store.EntityRecord
					for i := range 20 {
						recs = append(recs, rec(fmt.Sprintf("component:default/e%d-%d", i, r%2), fmt.Sprintf("h%d", r)))
					}
					res, err := s.ReplaceSourceEntities(ctx, "shared", recs)
					if err != nil {
						t.Errorf("goroutine %d round %d: %v", g, r, err)
					}
					if len(res.Conflicts) > 0 {
						t.Errorf("goroutine %d round %d: the source conflicts with itself: %v", g, r, res.Conflicts)
					}
				}
			})
		}
		wg.Wait()
		if n, err := s.CountEntities(ctx); err != nil || n != 20 {
			t.Errorf("CountEntities = %d, %v; want 20", n, err)
		}
	})
}
