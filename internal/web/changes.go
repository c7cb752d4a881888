package web

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"greenroom/internal/catalog"
)

// maxChanges is how many recent entity changes the home page remembers.
const maxChanges = 50

// changeLog remembers the most recent change of the most recently changed
// entities, newest first. The catalog keeps no change time of its own in
// entities (neither does Backstage's API), so the log is fed by the change
// events this process sees: it starts empty at start-up and, with several
// replicas, each knows the changes it made.
type changeLog struct {
	mu      sync.Mutex
	since   time.Time // zero until Watch runs
	entries []change
}

type change struct {
	Ref  string
	Type catalog.EventType
	At   time.Time
}

func (l *changeLog) add(ev catalog.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = slices.DeleteFunc(l.entries, func(c change) bool { return c.Ref == ev.Ref })
	l.entries = slices.Insert(l.entries, 0, change{Ref: ev.Ref, Type: ev.Type, At: ev.At})
	if len(l.entries) > maxChanges {
		l.entries = l.entries[:maxChanges]
	}
}

// recent returns up to n changes, newest first, and when watching began.
func (l *changeLog) recent(n int) ([]change, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries[:min(n, len(l.entries))]), l.since
}

// Watch subscribes to the catalog's change events until ctx is done, so
// that the home page can list recently changed entities and open pages
// update live (LivePath); when ctx is done the live streams end. It returns at
// once; without a ChangeFeed it is an error. Calling it again does
// nothing.
func (h *Handler) Watch(ctx context.Context) error {
	if h.feed == nil {
		return fmt.Errorf("web: the catalog offers no change events")
	}
	l := &h.changes
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.since.IsZero() {
		return nil // once is enough
	}
	sub, err := h.feed.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("web: watch catalog changes: %w", err)
	}
	l.since = time.Now()
	h.facetCache.enable()
	h.live.start()
	go func() {
		defer h.live.close() // shutdown: end the open streams
		var dropped uint64
		for ev := range sub.C {
			h.facetCache.invalidate()
			l.add(ev)
			h.live.publish(ev)
			if d := sub.Dropped(); d != dropped {
				dropped = d
				h.live.resyncAll() // some changes never reached us
			}
		}
	}()
	return nil
}
