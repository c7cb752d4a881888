package catalog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestEventsOfARefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		fsys := fstest.MapFS{"all.yaml": {Data: components("a", "b")}}
		svc := newService(t, s, catalog.OrphanKeep, memSource("src", fsys))
		sub, err := svc.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(-time.Second)
		refresh(t, svc)
		evs := drain(sub)
		if len(evs) != 2 {
			t.Fatalf("first refresh: %+v", evs)
		}
		for _, ev := range evs {
			rec, err := s.EntityByRef(ctx, ev.Ref)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := get(t, svc, ev.Ref)
			if ev.Type != catalog.EventCreated || ev.UID != rec.UID || ev.ETag != e.Metadata.Etag || ev.Source != "src" || ev.At.Before(start) {
				t.Errorf("event %+v for %+v", ev, e.Metadata)
			}
		}
		// Unchanged: no events.
		refresh(t, svc)
		if evs := drain(sub); len(evs) != 0 {
			t.Errorf("unchanged refresh published %+v", evs)
		}
		// a changes, b goes.
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(fmt.Sprintf(component, "a"), "production", "experimental", 1))}
		refresh(t, svc)
		got := map[string]catalog.EventType{}
		for _, ev := range drain(sub) {
			got[ev.Ref] = ev.Type
		}
		want := map[string]catalog.EventType{"component:default/a": catalog.EventUpdated, "component:default/b": catalog.EventOrphaned}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events %v, want %v", got, want)
		}
		// A manual delete is an event too.
		rec, err := s.EntityByRef(ctx, "component:default/b")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteEntityByUID(ctx, rec.UID); err != nil {
			t.Fatal(err)
		}
		if evs := drain(sub); len(evs) != 1 || evs[0].Type != catalog.EventDeleted || evs[0].UID != rec.UID || evs[0].Ref != rec.Ref {
			t.Errorf("delete by uid: %+v", evs)
		}
	})
}

func TestSlowSubscriberDropsNeverBlocks(t *testing.T) {
	s := storetest.SQLite(t)
	names := make([]string, catalog.EventBuffer+10)
	for i := range names {
		names[i] = fmt.Sprintf("c%04d", i)
	}
	svc := newService(t, s, "", memSource("src", fstest.MapFS{"all.yaml": {Data: components(names...)}}))
	slow, err := svc.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Refresh(t.Context()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("refresh blocked on a subscriber that reads nothing")
	}
	if got := len(drain(slow)); got != catalog.EventBuffer {
		t.Errorf("delivered %d, want the buffer, %d", got, catalog.EventBuffer)
	}
	if slow.Dropped() != 10 || svc.DroppedEvents() != 10 {
		t.Errorf("dropped %d (service %d), want 10", slow.Dropped(), svc.DroppedEvents())
	}
}

func TestSubscriptionEndsWithItsContext(t *testing.T) {
	svc := newService(t, storetest.SQLite(t), "")
	ctx, cancel := context.WithCancel(t.Context())
	sub, err := svc.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, open := <-sub.C:
		if open {
			t.Error("event on a cancelled subscription")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after the context ended")
	}

	// The number of subscribers is bounded; an ended one frees its place.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	for i := range catalog.MaxSubscribers {
		if _, err := svc.Subscribe(ctx2); err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
	}
	if _, err := svc.Subscribe(t.Context()); greenroom.ErrorCode(err) != greenroom.CodeUnavailable {
		t.Errorf("one too many: %v", err)
	}
}
