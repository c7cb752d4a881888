package store_test

import (
	"sync"
	"testing"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestRateCountsAcrossStores(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		ctx := t.Context()
		a, b := twoReplicas(t, opts)
		win := time.Unix(1_800_000_000, 0)
		if n, err := a.RateCount(ctx, "user:x", win); err != nil || n != 0 {
			t.Fatalf("fresh counter (tables not created yet): %d %v", n, err)
		}
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := a
				if i%2 == 1 {
					st = b
				}
				if _, err := st.AddRateCount(ctx, "user:x", win, win.Add(time.Hour), 1); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n, err := b.RateCount(ctx, "user:x", win); err != nil || n != 40 {
			t.Errorf("after 40 concurrent adds on two stores: %d %v", n, err)
		}
		if n, err := a.AddRateCount(ctx, "user:x", win.Add(time.Hour), win.Add(2*time.Hour), 3); err != nil || n != 3 {
			t.Errorf("next window starts from zero: %d %v", n, err)
		}
		got, err := b.AddRateCounts(ctx, []string{"user:x", "team:a", "team:b"}, win, win.Add(time.Hour), 1)
		if err != nil || len(got) != 3 || got[0] != 41 || got[1] != 1 || got[2] != 1 {
			t.Errorf("user and teams in one round trip: %v %v", got, err)
		}
		if n, err := a.PurgeShared(ctx, win.Add(time.Hour)); err != nil || n != 3 {
			t.Errorf("purge of the expired window: %d %v", n, err)
		}
		if n, _ := a.RateCount(ctx, "user:x", win); n != 0 {
			t.Errorf("purged counter still counts %d", n)
		}
	})
}

func TestSessionRotationClaims(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		ctx := t.Context()
		a, b := twoReplicas(t, opts)
		now := time.Now()
		if _, err := a.RotatedTo(ctx, "old", now); !greenroom.IsNotFound(err) {
			t.Fatalf("unknown rotation: %v", err)
		}
		if w, err := a.ClaimRotation(ctx, "old", "new-a", now.Add(30*time.Second)); err != nil || w != "new-a" {
			t.Fatalf("first claim: %q %v", w, err)
		}
		if w, err := b.ClaimRotation(ctx, "old", "new-b", now.Add(30*time.Second)); err != nil || w != "new-a" {
			t.Fatalf("a second claim must lose to the first: %q %v", w, err)
		}
		if next, err := b.RotatedTo(ctx, "old", now.Add(29*time.Second)); err != nil || next != "new-a" {
			t.Errorf("within grace on the other store: %q %v", next, err)
		}
		if _, err := b.RotatedTo(ctx, "old", now.Add(31*time.Second)); !greenroom.IsNotFound(err) {
			t.Errorf("after grace: %v", err)
		}
	})
}

// twoReplicas opens two stores on one database, as two replicas do; SQLite
// allows one process, so there both are the same store.
func twoReplicas(t *testing.T, opts store.Options) (*store.Store, *store.Store) {
	t.Helper()
	a := storetest.Open(t, opts)
	if opts.Driver == store.DriverSQLite {
		return a, a
	}
	return a, storetest.Open(t, opts)
}
