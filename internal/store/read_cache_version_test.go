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

// TestCatalogReadVersionOwnEcho: PostgreSQL delivers a store's own
// announcements to its own listener too, after the commit; the store
// counted the commit already, and counting the echo again would empty the
// read caches once more, after reads had cached the committed state. Only
// the other replica's commits move the counter through the listener.
func TestCatalogReadVersionOwnEcho(t *testing.T) {
	opts := storetest.PostgresOptions(t)
	a, b := storetest.Open(t, opts), storetest.Open(t, opts)
	ready := make(chan struct{}, 1)
	go a.FollowCatalogVersion(t.Context(), func() { ready <- struct{}{} })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("listener never ready")
	}
	// b has no listener: its counter counts its own catalog commits only.
	write := func(s *store.Store, name string) uint64 {
		t.Helper()
		before, _ := s.CatalogReadVersion()
		rec := entity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"`+name+`"},"spec":{"type":"service"}}`)
		if _, err := s.ReplaceSourceEntities(t.Context(), name, []store.EntityRecord{rec}); err != nil {
			t.Fatal(err)
		}
		after, _ := s.CatalogReadVersion()
		return after - before
	}
	commits := write(b, "calibrate") // what one such write commits
	if commits == 0 {
		t.Fatal("a write committed nothing to the catalog")
	}
	time.Sleep(100 * time.Millisecond) // b's announcements reach a
	v0, _ := a.CatalogReadVersion()
	write(a, "mine")
	// b's commits are announced after a's echoes: once they have all
	// arrived, an echo counted would show.
	write(b, "theirs")
	want := v0 + 2*commits
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := a.CatalogReadVersion(); v >= want {
			break
		}
		if time.Now().After(deadline) {
			v, _ := a.CatalogReadVersion()
			t.Fatalf("counter %d, want %d: the other replica's commits were not all announced", v, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // anything late arrives by now
	if v, _ := a.CatalogReadVersion(); v != want {
		t.Errorf("counter moved %d, want %d: %d for its own commits, %d for the other replica's", v-v0, want-v0, commits, commits)
	}
}
