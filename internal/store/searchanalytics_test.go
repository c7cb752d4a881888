package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestSearchAnalytics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		day := "2026-12-01"
		for range 2 {
			if err := st.RecordSearchAnalytics(ctx,
				[]store.SearchQueryStat{{Day: day, Term: "paymnt", Queries: 3, ZeroResults: 3}, {Day: day, Term: "ledger", Queries: 5}},
				[]store.SearchClickStat{{Day: day, Term: "ledger", Rank: 1, Clicks: 4}, {Day: day, Term: "ledger", Rank: 3, Clicks: 1}}); err != nil {
				t.Fatal(err)
			}
		}
		zero, err := st.ZeroResultQueries(ctx, day, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.SearchQueryStat{{Term: "paymnt", Queries: 6, ZeroResults: 6}}, zero); diff != "" {
			t.Errorf("zero-result queries (-want +got):\n%s", diff)
		}
		clicks, err := st.SearchClicks(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[int]int{1: 8, 3: 2}, clicks); diff != "" {
			t.Errorf("clicks (-want +got):\n%s", diff)
		}
		if later, _ := st.ZeroResultQueries(ctx, "2026-12-02", 10); len(later) != 0 {
			t.Errorf("since a later day: %v", later)
		}
	})
}
