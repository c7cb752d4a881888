package catalog

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"greenroom/internal/greenroom"
)

// EventType says how an entity's served form changed.
type EventType string

// The kinds of change events.
const (
	// EventCreated: a new entity is served.
	EventCreated EventType = "created"
	// EventUpdated: a served entity changed (its data, relations, status,
	// its source after a claim, or it stopped being an orphan).
	EventUpdated EventType = "updated"
	// EventDeleted: the entity is no longer served.
	EventDeleted EventType = "deleted"
	// EventOrphaned: no current source supplies the entity any more; it is
	// still served, with the backstage.io/orphan annotation, until the
	// orphan strategy or a user deletes it.
	EventOrphaned EventType = "orphaned"
)

// Event is one committed change of one served entity.
type Event struct {
	Type EventType `json:"type"`
	// Ref is the lowercased entity ref, e.g. "component:default/svc".
	Ref string `json:"entityRef"`
	UID string `json:"uid"`
	// Source is the source that supplies (or last supplied) the entity.
	Source string `json:"source,omitempty"`
	// ETag is the served entity's metadata.etag after the change; empty for
	// deletions.
	ETag string `json:"etag,omitempty"`
	// At is when the change was published, after its transaction
	// committed.
	At time.Time `json:"at"`
}

// Bounds of the in-process event fan-out.
const (
	// EventBuffer is how many events a subscriber may fall behind before
	// events are dropped for it.
	EventBuffer = 1024
	// MaxSubscribers bounds concurrent subscriptions (each holds a buffer).
	MaxSubscribers = 256
)

// Subscription receives the catalog's change events until its context is
// done, when C is closed.
type Subscription struct {
	// C delivers events in the order they were published.
	C       <-chan Event
	c       chan Event
	dropped atomic.Uint64
}

// Dropped returns how many events were dropped because this subscriber did
// not keep up. A subscriber that needs every change re-reads the entities
// it cares about when this grows.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// broker fans events out to subscribers. Publishing never blocks: an event
// that does not fit a subscriber's buffer is dropped for that subscriber
// and counted, so a slow subscriber cannot hold up processing. The zero
// value is ready to use.
//
// With several replicas on one PostgreSQL database, RelayEvents (relay.go)
// carries each replica's events to the others, where subscribers receive
// them like local ones.
type broker struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	dropped atomic.Uint64
	// relay, when set, sends published events to the other replicas.
	relay atomic.Pointer[func([]Event)]
}

// Subscribe returns a subscription to the entity change events published
// from now on; it ends, and its channel closes, when ctx is done. More than
// MaxSubscribers at once is a greenroom.CodeUnavailable error.
func (s *Service) Subscribe(ctx context.Context) (*Subscription, error) {
	return s.events.subscribe(ctx)
}

// DroppedEvents returns how many events were dropped, over all
// subscribers, because a subscriber's buffer was full.
func (s *Service) DroppedEvents() uint64 { return s.events.dropped.Load() }

func (b *broker) subscribe(ctx context.Context) (*Subscription, error) {
	c := make(chan Event, EventBuffer)
	sub := &Subscription{C: c, c: c}
	b.mu.Lock()
	if len(b.subs) >= MaxSubscribers {
		b.mu.Unlock()
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "too many catalog event subscribers (at most %d)", MaxSubscribers)
	}
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[sub] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, sub)
		close(sub.c) // under mu: publish never sends on a closed channel
	})
	return sub, nil
}

// publish delivers evs, stamped with at, to every subscriber without
// blocking, and hands them to the relay to other replicas when one is set
// (relay.go). Call it only after the transaction that made the changes has
// committed.
func (b *broker) publish(evs []Event, at time.Time) {
	if len(evs) == 0 {
		return
	}
	stamped := make([]Event, len(evs))
	for i, ev := range evs {
		ev.At = at
		stamped[i] = ev
	}
	b.deliver(stamped)
	if r := b.relay.Load(); r != nil {
		(*r)(stamped)
	}
}

// deliver hands stamped events to every subscriber without blocking.
func (b *broker) deliver(evs []Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sub := range b.subs {
		for _, ev := range evs {
			select {
			case sub.c <- ev:
			default:
				sub.dropped.Add(1)
				b.dropped.Add(1)
			}
		}
	}
}
