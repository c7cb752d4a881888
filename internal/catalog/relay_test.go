package catalog_test

import (
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

// Two replicas on one PostgreSQL database: what one commits, the other's
// subscribers hear (and the search index, authorization cache and open
// pages fed by them follow), batches over NOTIFY's size limit included.
func TestEventsRelayedAcrossReplicas(t *testing.T) {
	opts := storetest.PostgresOptions(t)
	a, b := storetest.Open(t, opts), storetest.Open(t, opts)

	names := make([]string, 150) // far over one 8 kB NOTIFY payload
	for i := range names {
		names[i] = fmt.Sprintf("svc-%03d", i)
	}
	fsys := fstest.MapFS{"all.yaml": {Data: components(names...)}}
	writer := newService(t, a, catalog.OrphanKeep, memSource("src", fsys))
	reader := newService(t, b, catalog.OrphanKeep)

	ctx := t.Context()
	readyA, readyB := make(chan struct{}, 1), make(chan struct{}, 1)
	statsA := writer.RelayEvents(ctx, a, func() { readyA <- struct{}{} })
	statsB := reader.RelayEvents(ctx, b, func() { readyB <- struct{}{} })
	for _, c := range []chan struct{}{readyA, readyB} {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatal("listener never ready")
		}
	}
	remote, err := reader.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	local, err := writer.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	refresh(t, writer)

	got := map[string]catalog.Event{}
	deadline := time.After(10 * time.Second)
	for len(got) < len(names) {
		select {
		case ev := <-remote.C:
			got[ev.Ref] = ev
		case <-deadline:
			t.Fatalf("the other replica heard %d of %d events; stats %+v / %+v", len(got), len(names), statsA(), statsB())
		}
	}
	t.Logf("%d events relayed in %s", len(got), time.Since(start).Round(time.Millisecond))
	for _, n := range names {
		ev := got["component:default/"+n]
		if ev.Type != catalog.EventCreated || ev.UID == "" || ev.ETag == "" || ev.At.IsZero() {
			t.Errorf("relayed event for %s: %+v", n, ev)
		}
	}
	if s := statsA(); s.Sent < 2 || s.Failed != 0 || s.Dropped != 0 {
		t.Errorf("writer relay stats %+v: want the batch split into several messages, none failed", s)
	}
	// A replica does not hear its own events twice.
	time.Sleep(200 * time.Millisecond)
	if evs := drain(local); len(evs) != len(names) {
		t.Errorf("the writer's own subscriber got %d events, want %d (once each)", len(evs), len(names))
	}
	if s := statsA(); s.Received != 0 {
		t.Errorf("the writer received %d of its own events back", s.Received)
	}
}
