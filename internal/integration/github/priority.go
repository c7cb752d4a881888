package github

import (
	"container/list"
	"context"
	"sync"
)

// Priority orders requests waiting for a free slot.
type Priority int

const (
	// Background is scheduled work such as full scans (the default).
	Background Priority = iota
	// Urgent is webhook-driven work: it goes first and may use the rate
	// limit's reserve.
	Urgent
)

// urgentBurst is how many urgent requests may go in a row while background
// requests wait; then one background request goes, so scans still progress
// under a flood of webhooks.
const urgentBurst = 4

type priorityKey struct{}

// WithPriority returns ctx marking the requests made with it as p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

func priorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// gate is a counting semaphore with two wait queues, urgent before
// background, with background granted one slot after every urgentBurst
// urgent grants made while it waited.
type gate struct {
	mu     sync.Mutex
	free   int
	queues [2]*list.List // by Priority; elements are chan struct{}
	streak int
}

func newGate(slots int) *gate {
	return &gate{free: slots, queues: [2]*list.List{list.New(), list.New()}}
}

func (g *gate) acquire(ctx context.Context, p Priority) error {
	g.mu.Lock()
	if g.free > 0 && g.queues[Urgent].Len() == 0 && g.queues[Background].Len() == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	el := g.queues[p].PushBack(ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		select {
		case <-ch: // granted while we gave up: pass the slot on
			g.releaseLocked()
		default:
			g.queues[p].Remove(el)
		}
		return ctx.Err()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked()
}

func (g *gate) releaseLocked() {
	u, b := g.queues[Urgent], g.queues[Background]
	var next *list.Element
	switch {
	case u.Len() > 0 && (b.Len() == 0 || g.streak < urgentBurst):
		next = u.Front()
		u.Remove(next)
		if b.Len() > 0 {
			g.streak++
		}
	case b.Len() > 0:
		next = b.Front()
		b.Remove(next)
		g.streak = 0
	default:
		g.free++
		return
	}
	close(next.Value.(chan struct{}))
}
