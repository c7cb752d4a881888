package store

import (
	"context"
	"strings"
	"testing"

	"greenroom/internal/catalog/query"
)

// DropSearchIndexes drops the search key indexes (and PostgreSQL's
// trigram index) as the first batch of a first load does; EndBulkLoad
// builds them again.
func DropSearchIndexes(t testing.TB, s *Store) {
	t.Helper()
	if err := s.withTx(context.Background(), func(ctx context.Context, tx *Tx) error { return s.d.dropSearchIndex(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

// MissingSearchIndexes counts the search indexes a bulk load rebuilds that
// do not exist.
func MissingSearchIndexes(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	err := s.withTx(context.Background(), func(ctx context.Context, tx *Tx) (err error) {
		n, err = s.d.missingSearchIndexes(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// RefKindPlan returns the kinds QueryEntities reads q's page and count off
// the ref ranges for, nil when it uses the search rows.
func RefKindPlan(t testing.TB, s *Store, q query.EntitiesQuery) []string {
	t.Helper()
	var kinds []string
	err := s.readTx(context.Background(), func(rd reader) error {
		pq := pageQuery{ctx: context.Background(), r: q.Resolved(), rd: rd, d: s.d, s: s}
		err := pq.plan(context.Background())
		kinds = pq.refKinds
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

// TrigramIndex names PostgreSQL's trigram index of the search values.
const TrigramIndex = trigramIndex

// IndexExists reports whether the PostgreSQL index name exists.
func IndexExists(t testing.TB, s *Store, name string) bool {
	t.Helper()
	var n int
	err := s.readTx(context.Background(), func(rd reader) error {
		return rd.queryRow(context.Background(), "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?", name).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// ExecWrite runs a statement in a write transaction.
func ExecWrite(t testing.TB, s *Store, stmt string) {
	t.Helper()
	err := s.withTx(context.Background(), func(ctx context.Context, tx *Tx) error {
		_, err := tx.ExecContext(ctx, stmt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TextRows returns, on SQLite, the rowids of the trigram table entity_text
// and those of the search rows it should hold (the non-null values of
// trigramKeys), each sorted.
func TextRows(t testing.TB, s *Store) (text, search []int64) {
	t.Helper()
	ids := func(rd reader, q string) ([]int64, error) {
		rows, err := rd.query(context.Background(), q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
	err := s.readTx(context.Background(), func(rd reader) error {
		var err error
		if text, err = ids(rd, "SELECT rowid FROM entity_text ORDER BY rowid"); err != nil {
			return err
		}
		search, err = ids(rd, "SELECT "+textRowID("s")+" AS id FROM entity_search s WHERE s.key IN ('"+strings.Join(trigramKeys, "', '")+"') AND s.value IS NOT NULL ORDER BY id")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return text, search
}
