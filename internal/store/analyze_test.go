package store_test

import (
	"fmt"
	"testing"

	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// A restitch of many entities, as ends a bulk load, refreshes
// PostgreSQL's statistics of the catalog tables first: without them the
// planner took the restitch's reads by entity id for scans of the whole
// search table. A small restitch leaves them alone.
func TestLargeRestitchAnalyzesOnPostgres(t *testing.T) {
	s := storetest.Open(t, storetest.PostgresOptions(t))
	ctx := t.Context()
	store.SetRestitchAnalyzeMin(t, 20)
	var recs []store.EntityRecord
	var refs []string
	for i := range 30 {
		ref := fmt.Sprintf("component:default/c%02d", i)
		recs = append(recs, rec(ref, "h1"))
		refs = append(refs, ref)
	}
	if _, err := s.ReplaceSourceEntities(ctx, "a", recs); err != nil {
		t.Fatal(err)
	}
	analyzed := func() bool {
		t.Helper()
		var n int
		err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'entity_search' AND last_analyze IS NOT NULL").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if analyzed() {
		t.Fatal("entity_search analyzed before any restitch")
	}
	if _, err := s.Restitch(ctx, refs[:10]); err != nil {
		t.Fatal(err)
	}
	if analyzed() {
		t.Fatal("a restitch of 10 entities analyzed the tables")
	}
	if _, err := s.Restitch(ctx, refs); err != nil {
		t.Fatal(err)
	}
	if !analyzed() {
		t.Fatal("a restitch of 30 entities (the minimum 20) did not analyze entity_search")
	}
}
