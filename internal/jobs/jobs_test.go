package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// fast returns options with short intervals for tests.
func fast(id string) jobs.Options {
	return jobs.Options{
		Workers:      4,
		Lease:        time.Second,
		PollInterval: 20 * time.Millisecond,
		Backoff:      func(int) time.Duration { return 10 * time.Millisecond },
		WorkerID:     id,
	}
}

// startPool registers the handlers, starts the pool and shuts it down when
// the test ends.
func startPool(t *testing.T, s *store.Store, opts jobs.Options, handlers map[string]jobs.Handler) *jobs.Pool {
	t.Helper()
	p := jobs.New(s, opts)
	for kind, h := range handlers {
		p.Register(kind, h)
	}
	p.Start(t.Context())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return p
}

// waitJob waits until the job reaches state and returns it.
func waitJob(t *testing.T, s *store.Store, id int64, state string, timeout time.Duration) store.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j, err := s.JobByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after %v, want %s (attempts %d, last error %q)", id, j.State, timeout, state, j.Attempts, j.LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEnqueueRunDone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		type payload struct{ Name string }
		got := make(chan payload, 1)
		opts := fast("w1")
		opts.PollInterval = time.Hour // Notify, not polling, must start the job
		p := startPool(t, s, opts, map[string]jobs.Handler{
			"greet": func(ctx context.Context, job store.Job) error {
				var pl payload
				if err := json.Unmarshal(job.Payload, &pl); err != nil {
					return err
				}
				got <- pl
				return nil
			},
		})
		time.Sleep(50 * time.Millisecond) // let the first (empty) claim pass
		id, err := p.Enqueue(t.Context(), "greet", payload{Name: "ada"})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case pl := <-got:
			if pl.Name != "ada" {
				t.Errorf("handler got %+v", pl)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("handler did not run: Notify did not wake the pool")
		}
		j := waitJob(t, s, id, store.JobDone, 5*time.Second)
		if j.Attempts != 1 || j.LockedBy != "w1" || j.LastError != "" {
			t.Errorf("done job = %+v", j)
		}
	})
}

func TestRetryWithBackoffThenSuccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var calls atomic.Int32
		var backoffs []int
		var mu sync.Mutex
		opts := fast("w1")
		opts.Backoff = func(attempt int) time.Duration {
			mu.Lock()
			backoffs = append(backoffs, attempt)
			mu.Unlock()
			return 30 * time.Millisecond
		}
		var times []time.Time
		p := startPool(t, s, opts, map[string]jobs.Handler{
			"flaky": func(ctx context.Context, job store.Job) error {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
				if calls.Add(1) < 3 {
					return fmt.Errorf("flake %d", job.Attempts)
				}
				return nil
			},
		})
		id, err := p.Enqueue(t.Context(), "flaky", nil)
		if err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, s, id, store.JobDone, 10*time.Second)
		if j.Attempts != 3 || calls.Load() != 3 {
			t.Errorf("attempts = %d, calls = %d; want 3", j.Attempts, calls.Load())
		}
		if j.LastError != "flake 2" {
			t.Errorf("last_error = %q, want the last failure kept", j.LastError)
		}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(backoffs) != "[1 2]" {
			t.Errorf("Backoff called with %v, want [1 2]", backoffs)
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < 30*time.Millisecond {
				t.Errorf("retry %d came after %v, before the 30ms backoff", i, gap)
			}
		}
	})
}

func TestMaxAttemptsFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var calls atomic.Int32
		p := startPool(t, s, fast("w1"), map[string]jobs.Handler{
			"doomed": func(ctx context.Context, job store.Job) error {
				calls.Add(1)
				return errors.New("boom")
			},
		})
		id, err := p.Enqueue(t.Context(), "doomed", nil, jobs.MaxAttempts(2))
		if err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, s, id, store.JobFailed, 10*time.Second)
		if j.Attempts != 2 || j.LastError != "boom" || j.FinishedAt.IsZero() {
			t.Errorf("failed job = %+v", j)
		}
		time.Sleep(100 * time.Millisecond)
		if calls.Load() != 2 {
			t.Errorf("handler ran %d times, want 2", calls.Load())
		}
	})
}

func TestPanicIsAFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var logs storetest.LogBuffer
		opts := fast("w1")
		opts.Logger = newLogger(&logs)
		p := startPool(t, s, opts, map[string]jobs.Handler{
			"explode": func(ctx context.Context, job store.Job) error { panic("kaboom") },
		})
		id, err := p.Enqueue(t.Context(), "explode", nil, jobs.MaxAttempts(1))
		if err != nil {
			t.Fatal(err)
		}
		j := waitJob(t, s, id, store.JobFailed, 10*time.Second)
		if j.LastError != "panic: kaboom" {
			t.Errorf("last_error = %q", j.LastError)
		}
		if l := logs.String(); !strings.Contains(l, "job handler panicked") || !strings.Contains(l, "jobs_test.go") {
			t.Errorf("the panic's stack was not logged:\n%s", l)
		}
	})
}

func TestDedupe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p := jobs.New(s, fast("w1")) // not started: jobs stay queued
		ctx := t.Context()
		a, err := p.Enqueue(ctx, "sync", map[string]string{"repo": "x"}, jobs.DedupeKey("sync:x"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Enqueue(ctx, "sync", map[string]string{"repo": "x"}, jobs.DedupeKey("sync:x"))
		if err != nil || b != a {
			t.Errorf("second Enqueue = %d, %v; want %d", b, err, a)
		}
		c, err := p.Enqueue(ctx, "sync", nil, jobs.DedupeKey("sync:y"))
		if err != nil || c == a {
			t.Errorf("other key = %d, %v; want a new job", c, err)
		}
		if _, err := p.Enqueue(ctx, "sync", func() {}); err == nil {
			t.Error("Enqueue of an unencodable payload succeeded")
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown of an unstarted pool: %v", err)
		}
	})
}

func TestUnknownKindsAreNotClaimed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p := startPool(t, s, fast("w1"), map[string]jobs.Handler{
			"known": func(context.Context, store.Job) error { return nil },
		})
		ctx := t.Context()
		other, err := p.Enqueue(ctx, "unknown", nil)
		if err != nil {
			t.Fatal(err)
		}
		known, err := p.Enqueue(ctx, "known", nil)
		if err != nil {
			t.Fatal(err)
		}
		waitJob(t, s, known, store.JobDone, 5*time.Second)
		time.Sleep(100 * time.Millisecond) // several more polls
		j, err := s.JobByID(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobQueued || j.Attempts != 0 {
			t.Errorf("unregistered kind job = %+v, want untouched", j)
		}
	})
}

func TestTwoPoolsProcessEachJobOnce(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		s1 := storetest.Open(t, opts)
		s2 := s1
		if opts.Driver == store.DriverPostgres {
			s2 = storetest.Open(t, opts) // two "replicas", two pools of connections
		} // SQLite: one process per data dir (the lock), so the pools share the store

		const n = 100
		var mu sync.Mutex
		runs := map[int64][]string{}
		handler := func(worker string) jobs.Handler {
			return func(ctx context.Context, job store.Job) error {
				mu.Lock()
				runs[job.ID] = append(runs[job.ID], worker)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				return nil
			}
		}
		var ids []int64
		enq := jobs.New(s1, fast("enqueuer"))
		for i := range n {
			id, err := enq.Enqueue(t.Context(), "work", i)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		startPool(t, s1, fast("a"), map[string]jobs.Handler{"work": handler("a")})
		startPool(t, s2, fast("b"), map[string]jobs.Handler{"work": handler("b")})
		for _, id := range ids {
			waitJob(t, s1, id, store.JobDone, 20*time.Second)
		}
		mu.Lock()
		defer mu.Unlock()
		perWorker := map[string]int{}
		for _, id := range ids {
			if len(runs[id]) != 1 {
				t.Errorf("job %d ran %d times (%v), want once", id, len(runs[id]), runs[id])
			}
			for _, w := range runs[id] {
				perWorker[w]++
			}
		}
		t.Logf("jobs per pool: %v", perWorker)
		counts, err := s1.JobCounts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.JobDone] != n {
			t.Errorf("JobCounts = %v, want %d done", counts, n)
		}
	})
}

func TestMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		reg := prometheus.NewRegistry()
		opts := fast("w1")
		opts.Registerer = reg
		p := startPool(t, s, opts, map[string]jobs.Handler{
			"ok":  func(context.Context, store.Job) error { return nil },
			"bad": func(context.Context, store.Job) error { return errors.New("no") },
		})
		second := fast("w2")
		second.Registerer = reg
		jobs.New(s, second) // a second pool on the same registry shares the metrics
		ok, err := p.Enqueue(t.Context(), "ok", nil)
		if err != nil {
			t.Fatal(err)
		}
		bad, err := p.Enqueue(t.Context(), "bad", nil, jobs.MaxAttempts(1))
		if err != nil {
			t.Fatal(err)
		}
		waitJob(t, s, ok, store.JobDone, 5*time.Second)
		waitJob(t, s, bad, store.JobFailed, 5*time.Second)
		time.Sleep(50 * time.Millisecond) // the counter is bumped after the store write
		got := gather(t, reg)
		for _, want := range []string{
			`greenroom_jobs_processed_total{kind="ok",result="done"} 1`,
			`greenroom_jobs_processed_total{kind="bad",result="failed"} 1`,
			`greenroom_job_duration_seconds_count{kind="ok"} 1`,
			`greenroom_jobs_running 0`,
			`greenroom_jobs{state="done"} 1`,
			`greenroom_jobs{state="failed"} 1`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("metrics lack %s:\n%s", want, got)
			}
		}
	})
}

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 750 * time.Millisecond, 1250 * time.Millisecond},
		{2, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{5, 12 * time.Second, 20 * time.Second},
		{12, 7*time.Minute + 30*time.Second, 10 * time.Minute},
		{1000, 7*time.Minute + 30*time.Second, 10 * time.Minute},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := jobs.DefaultBackoff(tt.attempt)
			if d < tt.min || d > tt.max {
				t.Errorf("DefaultBackoff(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("DefaultBackoff(%d) has no jitter", tt.attempt)
		}
	}
}
