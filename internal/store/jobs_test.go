package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestEnqueueJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		before := time.Now().Add(-time.Second)
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "sync"})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Kind != "sync" || j.State != store.JobQueued || j.Attempts != 0 || j.MaxAttempts != store.DefaultMaxAttempts ||
			string(j.Payload) != "null" || j.DedupeKey != "" || j.LockedBy != "" || !j.LockedUntil.IsZero() || !j.FinishedAt.IsZero() {
			t.Errorf("new job = %+v", j)
		}
		if j.RunAt.Before(before) || j.RunAt.After(time.Now().Add(time.Second)) || j.CreatedAt.Location() != time.UTC {
			t.Errorf("RunAt = %v, CreatedAt = %v; want about now, UTC", j.RunAt, j.CreatedAt)
		}

		runAt := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		id2, err := s.EnqueueJob(ctx, store.NewJob{Kind: "sync", Payload: []byte(`{"a":1}`), RunAt: runAt, MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		j2, err := s.JobByID(ctx, id2)
		if err != nil {
			t.Fatal(err)
		}
		if !j2.RunAt.Equal(runAt) || j2.MaxAttempts != 3 || string(j2.Payload) != `{"a":1}` {
			t.Errorf("job = %+v; want run_at %v, max 3, payload kept", j2, runAt)
		}

		for _, bad := range []store.NewJob{{}, {Kind: "k", Payload: []byte("{")}, {Kind: "k", MaxAttempts: -1}} {
			if _, err := s.EnqueueJob(ctx, bad); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
				t.Errorf("EnqueueJob(%+v) = %v, want invalid", bad, err)
			}
		}
		if _, err := s.JobByID(ctx, 999999); !greenroom.IsNotFound(err) {
			t.Errorf("JobByID(missing) = %v, want not_found", err)
		}
		if err := s.CompleteJob(ctx, 999999, "w"); !greenroom.IsNotFound(err) {
			t.Errorf("CompleteJob(missing) = %v, want not_found", err)
		}
	})
}

func TestEnqueueJobDedupe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", DedupeKey: "x"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", DedupeKey: "x"})
		if err != nil || b != a {
			t.Fatalf("second enqueue = %d, %v; want the existing %d", b, err, a)
		}
		claimed := claim(t, s, "w", 1, time.Minute)
		if len(claimed) != 1 || claimed[0].ID != a {
			t.Fatalf("claimed %v, want job %d", claimed, a)
		}
		if b, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", DedupeKey: "x"}); err != nil || b != a {
			t.Errorf("enqueue while running = %d, %v; want the existing %d", b, err, a)
		}
		if err := s.CompleteJob(ctx, a, "w"); err != nil {
			t.Fatal(err)
		}
		c, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", DedupeKey: "x"})
		if err != nil || c == a {
			t.Errorf("enqueue after done = %d, %v; want a new job", c, err)
		}
	})
}

func claim(t *testing.T, s *store.Store, worker string, n int, lease time.Duration, kinds ...string) []store.Job {
	t.Helper()
	if kinds == nil {
		kinds = []string{"k"}
	}
	jobs, err := s.ClaimJobs(t.Context(), worker, kinds, n, lease)
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	return jobs
}

func TestClaimJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var ids []int64
		for i := range 3 {
			id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", RunAt: time.Now().Add(time.Duration(i-10) * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", RunAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "other"}); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "w", 0, time.Minute); len(got) != 0 {
			t.Errorf("n=0 claimed %d jobs", len(got))
		}
		if got := claim(t, s, "w", 5, time.Minute, []string{}...); len(got) != 0 {
			t.Errorf("no kinds claimed %d jobs", len(got))
		}
		first := claim(t, s, "w", 2, time.Minute)
		if len(first) != 2 || first[0].ID != ids[0] || first[1].ID != ids[1] {
			t.Fatalf("claimed %v, want the two oldest %v", jobIDs(first), ids[:2])
		}
		j := first[0]
		if j.State != store.JobRunning || j.LockedBy != "w" || j.Attempts != 1 ||
			j.LockedUntil.Before(time.Now().Add(50*time.Second)) || j.LockedUntil.After(time.Now().Add(70*time.Second)) {
			t.Errorf("claimed job = %+v; want running for w, 1 attempt, lease about a minute", j)
		}
		rest := claim(t, s, "w", 5, time.Minute)
		if len(rest) != 1 || rest[0].ID != ids[2] {
			t.Errorf("second claim = %v, want only %d (not the future job, not other kinds)", jobIDs(rest), ids[2])
		}
		if _, err := s.ClaimJobs(ctx, "", []string{"k"}, 1, time.Minute); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("empty worker: %v, want invalid", err)
		}
	})
}

func jobIDs(jobs []store.Job) []int64 {
	var ids []int64
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

func TestClaimJobsConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const jobs = 60
		for range jobs {
			if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k"}); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu    sync.Mutex
			owner = map[int64]string{}
			wg    sync.WaitGroup
		)
		for w := range 6 {
			wg.Go(func() {
				worker := fmt.Sprintf("w%d", w)
				for {
					got, err := s.ClaimJobs(ctx, worker, []string{"k"}, 3, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						if prev, ok := owner[j.ID]; ok {
							t.Errorf("job %d claimed by %s and %s", j.ID, prev, worker)
						}
						owner[j.ID] = worker
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(owner) != jobs {
			t.Errorf("%d jobs claimed, want %d", len(owner), jobs)
		}
	})
}

func TestLeaseExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k"})
		if err != nil {
			t.Fatal(err)
		}
		const lease = 150 * time.Millisecond
		if got := claim(t, s, "dead", 1, lease); len(got) != 1 {
			t.Fatalf("claimed %d jobs, want 1", len(got))
		}
		if got := claim(t, s, "alive", 1, time.Minute); len(got) != 0 {
			t.Fatalf("a job under a live lease was claimed again: %v", jobIDs(got))
		}
		if err := s.ExtendLease(ctx, id, "alive", time.Minute); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("ExtendLease by a stranger = %v, want conflict", err)
		}
		time.Sleep(lease + 50*time.Millisecond)
		got := claim(t, s, "alive", 1, time.Minute)
		if len(got) != 1 || got[0].ID != id || got[0].Attempts != 2 || got[0].LockedBy != "alive" {
			t.Fatalf("reclaim = %+v; want job %d, attempt 2, locked by alive", got, id)
		}
		for name, err := range map[string]error{
			"ExtendLease": s.ExtendLease(ctx, id, "dead", time.Minute),
			"CompleteJob": s.CompleteJob(ctx, id, "dead"),
			"FailJob":     s.FailJob(ctx, id, "dead", "x", time.Time{}),
			"ReleaseJob":  s.ReleaseJob(ctx, id, "dead"),
		} {
			if greenroom.ErrorCode(err) != greenroom.CodeConflict {
				t.Errorf("%s by the old worker = %v, want conflict", name, err)
			}
		}
		if err := s.ExtendLease(ctx, id, "alive", time.Minute); err != nil {
			t.Errorf("ExtendLease by the owner: %v", err)
		}
		if err := s.CompleteJob(ctx, id, "alive"); err != nil {
			t.Fatal(err)
		}
		j, err := s.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobDone || j.FinishedAt.IsZero() || !j.LockedUntil.IsZero() {
			t.Errorf("completed job = %+v", j)
		}
	})
}

func TestFailJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		claim(t, s, "w", 1, time.Minute)
		retryAt := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		if err := s.FailJob(ctx, id, "w", "first \x00failure", retryAt); err != nil {
			t.Fatal(err)
		}
		j, err := s.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobQueued || !j.RunAt.Equal(retryAt) || j.LastError != "first failure" || j.Attempts != 1 {
			t.Errorf("after first failure = %+v", j)
		}
		if got := claim(t, s, "w", 1, time.Minute); len(got) != 0 {
			t.Fatal("a job waiting to retry was claimed early")
		}
		if err := s.FailJob(ctx, id, "w", "x", time.Time{}); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("FailJob on a queued job = %v, want conflict", err)
		}
		err = s.WithTx(ctx, func(tx *store.Tx) error { // bring the retry forward
			_, err := tx.ExecContext(ctx, "UPDATE jobs SET run_at = created_at WHERE id = ?", id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "w", 1, time.Minute); len(got) != 1 || got[0].Attempts != 2 {
			t.Fatalf("retry claim = %+v", got)
		}
		if err := s.FailJob(ctx, id, "w", "second failure", time.Now()); err != nil {
			t.Fatal(err)
		}
		j, err = s.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobFailed || j.LastError != "second failure" || j.FinishedAt.IsZero() {
			t.Errorf("after the last attempt = %+v; want failed", j)
		}
	})
}

func TestExpiredLeaseWithoutAttemptsLeftFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		claim(t, s, "dead", 1, 50*time.Millisecond)
		time.Sleep(100 * time.Millisecond)
		if got := claim(t, s, "alive", 1, time.Minute); len(got) != 0 {
			t.Fatalf("a job with no attempts left was claimed: %+v", got)
		}
		j, err := s.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := "lease expired: worker dead stopped before finishing the last attempt"
		if j.State != store.JobFailed || j.LastError != want || j.FinishedAt.IsZero() {
			t.Errorf("job = %+v; want failed with %q", j, want)
		}
	})
}

func TestReleaseJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k"})
		if err != nil {
			t.Fatal(err)
		}
		claim(t, s, "w", 1, time.Minute)
		if err := s.ReleaseJob(ctx, id, "w"); err != nil {
			t.Fatal(err)
		}
		got := claim(t, s, "w2", 1, time.Minute)
		if len(got) != 1 || got[0].ID != id || got[0].Attempts != 1 {
			t.Errorf("claim after release = %+v; want job %d at attempt 1 (the released run not counted)", got, id)
		}
	})
}

func TestJobCountsAndPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		for range 4 {
			if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "k", MaxAttempts: 1}); err != nil {
				t.Fatal(err)
			}
		}
		got := claim(t, s, "w", 3, time.Minute)
		if err := s.CompleteJob(ctx, got[0].ID, "w"); err != nil {
			t.Fatal(err)
		}
		if err := s.FailJob(ctx, got[1].ID, "w", "boom", time.Time{}); err != nil {
			t.Fatal(err)
		}
		counts, err := s.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{store.JobQueued: 1, store.JobRunning: 1, store.JobDone: 1, store.JobFailed: 1}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("JobCounts = %v, want %v", counts, want)
		}
		if n, err := s.PruneJobs(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Errorf("PruneJobs(an hour ago) = %d, %v; want 0", n, err)
		}
		if n, err := s.PruneJobs(ctx, time.Now().Add(time.Second)); err != nil || n != 2 {
			t.Errorf("PruneJobs(now) = %d, %v; want 2 (done and failed)", n, err)
		}
		counts, err = s.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.JobQueued] != 1 || counts[store.JobRunning] != 1 || counts[store.JobDone]+counts[store.JobFailed] != 0 {
			t.Errorf("after prune JobCounts = %v", counts)
		}
	})
}

func TestCoalesceQueuedJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var ids []int64
		for i := range 4 {
			id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "refresh", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		other, err := s.EnqueueJob(ctx, store.NewJob{Kind: "other"})
		if err != nil {
			t.Fatal(err)
		}
		// The worker claims job 0; jobs 1..3 were queued after it.
		got := claim(t, s, "w", 1, time.Minute, "refresh")
		if len(got) != 1 || got[0].ID != ids[0] {
			t.Fatalf("claimed %+v", got)
		}
		if n, err := s.CoalesceQueuedJobs(ctx, "refresh", ids[0]); err != nil || n != 0 {
			t.Fatalf("nothing was queued before job %d, coalesced %d, %v", ids[0], n, err)
		}
		// Pretend job 2 is the running one: 1 is covered, 3 is not.
		n, err := s.CoalesceQueuedJobs(ctx, "refresh", ids[2])
		if err != nil || n != 1 {
			t.Fatalf("coalesced %d, %v; want 1", n, err)
		}
		want := map[int64]string{ids[0]: store.JobRunning, ids[1]: store.JobDone, ids[2]: store.JobQueued, ids[3]: store.JobQueued, other: store.JobQueued}
		for id, state := range want {
			j, err := s.JobByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != state {
				t.Errorf("job %d: state %s, want %s", id, j.State, state)
			}
			if id == ids[1] && (string(j.Payload) != `{"n":1}` || j.LastError != fmt.Sprintf("coalesced into job %d", ids[2])) {
				t.Errorf("coalesced job kept payload %q, last_error %q", j.Payload, j.LastError)
			}
		}
	})
}
