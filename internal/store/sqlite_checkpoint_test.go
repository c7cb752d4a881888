package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A commit is checkpointed into the database file in the background: the
// writer's own automatic checkpoint waits for a log far longer than this
// one, so without the checkpointer the pages would stay in the log.
func TestSQLiteBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "greenroom.db")
	s, err := Open(t.Context(), Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.ckpt == nil {
		t.Fatal("no checkpointer on a SQLite file store")
	}
	before := fileSize(t, path)
	const blob = 4 << 20
	err = s.WithTx(t.Context(), func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(t.Context(), "CREATE TABLE ckpt_test (b BLOB)"); err != nil {
			return err
		}
		_, err := tx.tx.ExecContext(t.Context(), "INSERT INTO ckpt_test VALUES (?)", []byte(strings.Repeat("x", blob)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if fileSize(t, path+"-wal") < blob {
		t.Fatalf("the commit is not in the log (%d bytes)", fileSize(t, path+"-wal"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) < before+blob {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 10 s: the commit was not checkpointed", fileSize(t, path))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A database the store creates has sqlitePageSize pages and is in WAL
// mode: the driver runs its _pragma list sorted by name, and a page size
// set after the journal mode would be ignored.
func TestSQLiteNewDatabasePageSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "greenroom.db")
	s, err := Open(t.Context(), Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	var size int
	var mode string
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	if err := s.write.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if size != sqlitePageSize || mode != "wal" {
		t.Errorf("page_size %d, journal_mode %s; want %d, wal", size, mode, sqlitePageSize)
	}
}
