package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// prepared reports whether the write cache holds query prepared.
func (c *writeStmtCache) prepared(query string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[query]
	return ok && e.Value.(*writeStmt).st != nil
}

func TestWriteStmtCacheReusesBulkStatementsAcrossTransactions(t *testing.T) {
	ctx := t.Context()
	s, err := openSQLite(ctx, filepath.Join(t.TempDir(), "w.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WithTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, "CREATE TABLE bulk (a INTEGER NOT NULL, b TEXT NOT NULL)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const rows = 400 // "(?, ?), " × 400: long enough to be kept
	insert := "INSERT INTO bulk (a, b) VALUES " + valuesList(rows, 2, "")
	if len(insert) < writeStmtMinLen {
		t.Fatalf("test statement is %d bytes, under the %d kept", len(insert), writeStmtMinLen)
	}
	write := func(round int) {
		t.Helper()
		args := make([]any, 0, 2*rows)
		for i := range rows {
			args = append(args, round*rows+i, fmt.Sprintf("r%d", round))
		}
		if err := s.WithTx(ctx, func(tx *Tx) error {
			st, err := tx.PrepareContext(ctx, insert)
			if err != nil {
				return err
			}
			_, err = st.ExecContext(ctx, args...)
			return err
		}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	write(0)
	write(1) // asked for a second time: now prepared on the pool
	deadline := time.Now().Add(5 * time.Second)
	for !s.wstmts.prepared(insert) {
		if time.Now().After(deadline) {
			t.Fatal("the bulk insert was not prepared on the pool after its second transaction")
		}
		time.Sleep(5 * time.Millisecond)
	}
	write(2)
	write(3)
	// A short statement is never kept.
	if s.wstmts.get("SELECT 1") != nil {
		t.Error("a short statement was kept")
	}
	var n, rounds int
	if err := s.read.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT b) FROM bulk").Scan(&n, &rounds); err != nil {
		t.Fatal(err)
	}
	if n != 4*rows || rounds != 4 {
		t.Fatalf("bulk holds %d rows of %d rounds, want %d of 4", n, rounds, 4*rows)
	}
}

func TestWriteStmtCacheKeepsTheMostRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s, err := openSQLite(ctx, filepath.Join(t.TempDir(), "w.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c := s.wstmts
	pad := strings.Repeat(" ", writeStmtMinLen)
	hot := "SELECT 0" + pad
	for i := range 3 * writeStmtSlots {
		c.get(hot)
		c.get(fmt.Sprintf("SELECT %d", i+1) + pad)
	}
	c.mu.Lock()
	held, hotHeld := c.lru.Len(), c.byKey[hot] != nil
	c.mu.Unlock()
	if held > writeStmtSlots {
		t.Errorf("cache holds %d statements, bound %d", held, writeStmtSlots)
	}
	if !hotHeld {
		t.Error("the statement used all along was evicted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c.get(hot) != nil {
		t.Error("a closed cache still hands out statements")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Len() != 0 {
		t.Errorf("a closed cache holds %d statements", c.lru.Len())
	}
}
