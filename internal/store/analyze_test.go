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
	store.SetAnalyzeMinGrowth(t, 1000) // not in this test
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
	if n := analyses(t, s); n != 0 {
		t.Fatalf("entity_search analyzed %d times before any restitch", n)
	}
	if _, err := s.Restitch(ctx, refs[:10]); err != nil {
		t.Fatal(err)
	}
	if n := analyses(t, s); n != 0 {
		t.Fatal("a restitch of 10 entities analyzed the tables")
	}
	if _, err := s.Restitch(ctx, refs); err != nil {
		t.Fatal(err)
	}
	if n := analyses(t, s); n != 1 {
		t.Fatalf("a restitch of 30 entities (the minimum 20): %d analyses of entity_search, want 1", n)
	}
}

// Batched loads refresh the statistics as the catalog doubles: after the
// first analyzeMinGrowth new entities, then after as many again as were
// counted by then.
func TestBatchedLoadAnalyzesAsItGrowsOnPostgres(t *testing.T) {
	s := storetest.Open(t, storetest.PostgresOptions(t))
	store.SetAnalyzeMinGrowth(t, 10)
	for _, step := range []struct{ from, n, want int }{
		{0, 6, 0},  // 6 new
		{6, 6, 1},  // 12 ≥ 10: analyzed, 12 counted
		{12, 8, 1}, // 8 < 12
		{20, 4, 2}, // 12 ≥ 12: analyzed, 24 counted
		{24, 6, 2}, // 6 < 24
		{0, 24, 2}, // none new
	} {
		var recs []store.EntityRecord
		for i := step.from; i < step.from+step.n; i++ {
			recs = append(recs, rec(fmt.Sprintf("component:default/b%03d", i), "h1"))
		}
		if _, err := s.ApplySourceBatch(t.Context(), "a", recs, nil); err != nil {
			t.Fatal(err)
		}
		if got := analyses(t, s); got != step.want {
			t.Fatalf("after %d entities from %d: %d analyses, want %d", step.n, step.from, got, step.want)
		}
	}
}

// analyses is how many times entity_search has been analyzed.
func analyses(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	err := s.DB().QueryRowContext(t.Context(), "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'entity_search'").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
