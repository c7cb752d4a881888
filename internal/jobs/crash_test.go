package jobs_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// The environment of the helper process TestCrashRecovery starts.
const (
	envHelper  = "GREENROOM_JOBS_HELPER"
	envDriver  = "GREENROOM_JOBS_HELPER_DRIVER"
	envDSN     = "GREENROOM_JOBS_HELPER_DSN"
	envSQLite  = "GREENROOM_JOBS_HELPER_SQLITE"
	envStarted = "GREENROOM_JOBS_HELPER_STARTED"
)

// TestCrashRecovery kills a worker process mid-job with SIGKILL and shows
// that the job is claimed again once the dead worker's lease expires, and
// completes.
func TestCrashRecovery(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		ctx := t.Context()
		started := filepath.Join(t.TempDir(), "started")

		// Enqueue, then let go of the store: on SQLite the child needs the
		// data dir lock.
		s := storetest.Open(t, opts)
		id, err := s.EnqueueJob(ctx, store.NewJob{Kind: "crash", Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		var out bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), envHelper+"=1", envDriver+"="+opts.Driver, envDSN+"="+opts.DSN,
			envSQLite+"="+opts.SQLitePath, envStarted+"="+started)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.After(30 * time.Second)
	waitStarted:
		for {
			select {
			case err := <-exited:
				t.Fatalf("helper exited before starting the job: %v\n%s", err, out.String())
			case <-deadline:
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("helper did not start the job in 30s\n%s", out.String())
			case <-time.After(10 * time.Millisecond):
				if _, err := os.Stat(started); err == nil {
					break waitStarted
				}
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no shutdown
			t.Fatal(err)
		}
		<-exited

		s = storetest.Open(t, opts)
		j, err := s.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobRunning || j.LockedBy != "child" || j.Attempts != 1 {
			t.Fatalf("after the kill job = %+v; want running for child, attempt 1", j)
		}
		po := fast("parent")
		po.Lease = time.Second
		done := make(chan store.Job, 1)
		startPool(t, s, po, map[string]jobs.Handler{
			"crash": func(ctx context.Context, job store.Job) error {
				done <- job
				return nil
			},
		})
		select {
		case got := <-done:
			if got.ID != id || got.Attempts != 2 {
				t.Errorf("reclaimed job = %+v; want job %d at attempt 2", got, id)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the dead worker's job was not claimed again")
		}
		j = waitJob(t, s, id, store.JobDone, 5*time.Second)
		if j.Attempts != 2 || j.LockedBy != "parent" {
			t.Errorf("finished job = %+v; want done by parent at attempt 2", j)
		}
	})
}

// TestHelperProcess is the worker process TestCrashRecovery kills; it does
// nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("helper process for TestCrashRecovery")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{
		Driver:     os.Getenv(envDriver),
		DSN:        os.Getenv(envDSN),
		SQLitePath: os.Getenv(envSQLite),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := jobs.New(s, jobs.Options{Workers: 1, Lease: time.Second, PollInterval: 20 * time.Millisecond, WorkerID: "child"})
	started := os.Getenv(envStarted)
	p.Register("crash", func(ctx context.Context, job store.Job) error {
		if err := os.WriteFile(started, []byte("started"), 0o644); err != nil {
			return err
		}
		<-ctx.Done() // block until killed
		return ctx.Err()
	})
	p.Start(ctx)
	time.Sleep(time.Minute) // the parent kills us long before
	t.Fatal("helper was not killed")
}
