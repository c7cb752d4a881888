package github

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func (g *gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queues[Urgent].Len() + g.queues[Background].Len()
}

func TestGateOrder(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	if err := g.acquire(ctx, Background); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, p Priority) {
		n := g.waiting()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.acquire(ctx, p); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.release()
		}()
		for g.waiting() == n { // wait until queued, so the order is known
			time.Sleep(time.Millisecond)
		}
	}
	for i := 1; i <= 3; i++ {
		enqueue(fmt.Sprintf("b%d", i), Background)
	}
	for i := 1; i <= 6; i++ {
		enqueue(fmt.Sprintf("u%d", i), Urgent)
	}
	g.release()
	wg.Wait()
	want := []string{"u1", "u2", "u3", "u4", "b1", "u5", "u6", "b2", "b3"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("grant order (-want +got):\n%s", diff)
	}
}

func TestGateCancel(t *testing.T) {
	g := newGate(1)
	if err := g.acquire(context.Background(), Background); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.acquire(ctx, Urgent) }()
	for g.waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if g.waiting() != 0 {
		t.Error("cancelled waiter still queued")
	}
	g.release()
	if err := g.acquire(context.Background(), Background); err != nil {
		t.Fatalf("slot lost after a cancelled waiter: %v", err)
	}
}
