package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestExpiredLeaseIsReclaimed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k"})
		if err != nil {
			t.Fatal(err)
		}
		// A worker claims the job and dies without a word.
		if got, err := s.ClaimJobs(ctx, "ghost", []string{"k"}, 1, 200*time.Millisecond); err != nil || len(got) != 1 {
			t.Fatalf("ghost claim = %v, %v", got, err)
		}
		startPool(t, s, fast("w1"), map[string]jobs.Handler{
			"k": func(context.Context, store.Job) error { return nil },
		})
		j := waitJob(t, s, id, store.JobDone, 5*time.Second)
		if j.Attempts != 2 || j.LockedBy != "w1" {
			t.Errorf("reclaimed job = %+v; want attempt 2 by w1", j)
		}
	})
}

func TestLeaseIsExtendedWhileRunning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		release := make(chan struct{})
		opts := fast("slow")
		opts.Lease = 300 * time.Millisecond
		var runs atomic.Int32
		p := startPool(t, s, opts, map[string]jobs.Handler{
			"long": func(ctx context.Context, job store.Job) error {
				runs.Add(1)
				<-release
				return nil
			},
		})
		id, err := p.Enqueue(t.Context(), "long", nil)
		if err != nil {
			t.Fatal(err)
		}
		waitJob(t, s, id, store.JobRunning, 5*time.Second)
		time.Sleep(3 * opts.Lease) // well past the first lease
		if got, err := s.ClaimJobs(t.Context(), "thief", []string{"long"}, 1, time.Minute); err != nil || len(got) != 0 {
			t.Errorf("a running job's lease was not extended: thief claimed %v, %v", got, err)
		}
		close(release)
		j := waitJob(t, s, id, store.JobDone, 5*time.Second)
		if j.Attempts != 1 || runs.Load() != 1 {
			t.Errorf("job = %+v after %d runs; want one attempt", j, runs.Load())
		}
	})
}

func TestShutdownWaitsForRunningJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		started, release := make(chan struct{}), make(chan struct{})
		p := jobs.New(s, fast("w1"))
		p.Register("slow", func(ctx context.Context, job store.Job) error {
			close(started)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		p.Start(t.Context())
		id, err := p.Enqueue(t.Context(), "slow", nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		shutdown := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			shutdown <- p.Shutdown(ctx)
		}()
		late, err := p.Enqueue(t.Context(), "slow", nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-shutdown:
			t.Fatalf("Shutdown returned %v while a job was running", err)
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		if err := <-shutdown; err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
		if j := waitJob(t, s, id, store.JobDone, time.Second); j.Attempts != 1 {
			t.Errorf("job = %+v", j)
		}
		j, err := s.JobByID(t.Context(), late)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobQueued {
			t.Errorf("a job enqueued during shutdown was claimed: %+v", j)
		}
	})
}

func TestShutdownDeadlineReleasesJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		started := make(chan struct{})
		p := jobs.New(s, fast("w1"))
		p.Register("stubborn", func(ctx context.Context, job store.Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		p.Start(t.Context())
		id, err := p.Enqueue(t.Context(), "stubborn", nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want a deadline error", err)
		}
		j, err := s.JobByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobQueued || j.Attempts != 0 {
			t.Errorf("after shutdown job = %+v; want queued again, the attempt not counted", j)
		}
		// Another worker (a restarted replica) runs it later.
		startPool(t, s, fast("w2"), map[string]jobs.Handler{
			"stubborn": func(context.Context, store.Job) error { return nil },
		})
		j = waitJob(t, s, id, store.JobDone, 5*time.Second)
		if j.Attempts != 1 || j.LockedBy != "w2" {
			t.Errorf("re-run job = %+v; want done by w2 at attempt 1", j)
		}
	})
}

func TestRegisterPanics(t *testing.T) {
	s := storetest.SQLite(t)
	p := jobs.New(s, fast("w1"))
	noop := func(context.Context, store.Job) error { return nil }
	p.Register("a", noop)
	mustPanic(t, "duplicate kind", func() { p.Register("a", noop) })
	mustPanic(t, "nil handler", func() { p.Register("b", nil) })
	p.Start(t.Context())
	defer p.Shutdown(context.Background())
	mustPanic(t, "Register after Start", func() { p.Register("c", noop) })
	mustPanic(t, "Start twice", func() { p.Start(t.Context()) })
}

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	fn()
}
