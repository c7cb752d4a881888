package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// CatalogReadVersion moves after every commit that writes the catalog and
// after no other; on PostgreSQL it is trusted only while a listener is in
// place, and then it also moves on another replica's catalog commits.
func TestCatalogReadVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if s.Driver() == store.DriverPostgres {
			if _, ok := s.CatalogReadVersion(); ok {
				t.Fatal("trusted on PostgreSQL without a listener")
			}
			ready := make(chan struct{}, 1)
			go s.FollowCatalogVersion(ctx, func() { ready <- struct{}{} })
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatal("listener never ready")
			}
		}
		v0, ok := s.CatalogReadVersion()
		if !ok {
			t.Fatal("not trusted")
		}
		if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "noop"}); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.CatalogReadVersion(); v != v0 {
			t.Errorf("a job write moved the version %d → %d", v0, v)
		}
		loadFixture(t, s)
		v1, _ := s.CatalogReadVersion()
		if v1 <= v0 {
			t.Errorf("an entity write left the version at %d", v1)
		}
	})
}

// TestCatalogReadVersionOtherReplica: a commit on one store moves the
// counter of another store on the same PostgreSQL database.
func TestCatalogReadVersionOtherReplica(t *testing.T) {
	opts := storetest.PostgresOptions(t)
	a, b := storetest.Open(t, opts), storetest.Open(t, opts)
	ready := make(chan struct{}, 1)
	go b.FollowCatalogVersion(t.Context(), func() { ready <- struct{}{} })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("listener never ready")
	}
	v0, ok := b.CatalogReadVersion()
	if !ok {
		t.Fatal("not trusted with the listener in place")
	}
	loadFixture(t, a)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if v, _ := b.CatalogReadVersion(); v > v0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other replica's commit was not announced within 2 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Statements prepared once per read connection answer as unprepared ones
// do, for the same text with other arguments too.
func TestPreparedReadsAnswerTheSame(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		loadFixture(t, s)
		var first []string
		for i := range 50 { // the first runs unprepared, later ones prepared
			page, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleQuery, Filter: mustFilter(t, "kind=component"),
				Limit: 2, TotalItems: true, Order: []query.Order{{Field: "metadata.name"}}})
			if err != nil {
				t.Fatal(err)
			}
			got := pageRefs(page)
			if i == 0 {
				first = got
				if len(got) != 2 {
					t.Fatalf("page %v", got)
				}
				continue
			}
			if diff := cmp.Diff(first, got); diff != "" {
				t.Fatalf("run %d (-first +now):\n%s", i, diff)
			}
			time.Sleep(time.Millisecond) // let the background prepare land
		}
		for _, r := range first {
			rec, err := s.EntityByRef(ctx, r)
			if err != nil || rec.Ref != r {
				t.Fatalf("EntityByRef(%s) = %s, %v", r, rec.Ref, err)
			}
		}
	})
}
