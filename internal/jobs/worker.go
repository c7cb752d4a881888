package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync/atomic"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
)

var (
	errShutdown  = errors.New("jobs: pool shut down before the job finished")
	errLeaseLost = errors.New("jobs: lease lost to another worker")
)

// finishTimeout bounds the store call that records a job's outcome, which
// runs even when the handler's context was cancelled.
const finishTimeout = 10 * time.Second

// Start starts claiming and running jobs of the registered kinds. ctx's
// values reach every handler; its cancellation stops claiming but, so that a
// cancelled root context still allows a graceful drain, does not cancel
// running handlers: Shutdown does. Start panics if called twice.
func (p *Pool) Start(ctx context.Context) {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		panic("jobs: Start called twice")
	}
	p.started = true
	p.hard, p.hardCancel = context.WithCancelCause(context.WithoutCancel(ctx))
	handlers := maps.Clone(p.handlers)
	kinds := p.kinds()
	p.mu.Unlock()

	p.log.Info("job pool started", "kinds", kinds, "workers", p.opts.Workers)
	go p.loop(ctx, handlers, kinds)
}

// Shutdown stops claiming jobs and waits for running handlers to return.
// When ctx is done first, it cancels their contexts, waits for them to
// return, and gives their jobs back to the queue at once without counting
// the attempt (store.ReleaseJob), so another worker runs them from the start;
// it then returns an error wrapping ctx's. A pool that was never started
// shuts down at once; a second call returns nil.
func (p *Pool) Shutdown(ctx context.Context) error {
	first := false
	p.stopOnce.Do(func() { first = true; close(p.stop) })
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !first || !started {
		return nil
	}
	done := make(chan struct{})
	go func() {
		<-p.loopDone // no new job starts after this
		p.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		p.log.Info("job pool stopped")
		return nil
	case <-ctx.Done():
	}
	n := p.active.Load()
	p.hardCancel(errShutdown)
	<-done
	p.log.Warn("job pool stopped at its deadline; unfinished jobs released", "cancelled", n)
	return fmt.Errorf("jobs: shutdown: %d running job(s) cancelled and released: %w", n, context.Cause(ctx))
}

// loop claims as many jobs as there are idle workers, then waits for a
// worker to free up, a Notify, or the poll interval.
func (p *Pool) loop(ctx context.Context, handlers map[string]Handler, kinds []string) {
	defer close(p.loopDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	errDelay := p.opts.PollInterval
	for {
		select {
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		wait := p.opts.PollInterval
		free := p.opts.Workers - int(p.active.Load())
		if free > 0 && len(kinds) > 0 {
			jobs, err := p.claim(kinds, free)
			switch {
			case err != nil:
				p.log.Warn("claiming jobs failed", "err", err)
				wait, errDelay = errDelay, min(2*errDelay, time.Minute)
			default:
				errDelay = p.opts.PollInterval
				for _, j := range jobs {
					p.active.Add(1)
					p.running.Add(1)
					go p.run(handlers[j.Kind], j)
				}
				if len(jobs) == free {
					continue // there may be more due: claim again once a worker is free
				}
			}
		}
		timer.Reset(wait)
		select {
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-p.freed:
			if free > 0 {
				// A worker freed up while we were idle anyway: wait on.
				select {
				case <-p.stop:
					return
				case <-ctx.Done():
					return
				case <-p.wake:
				case <-timer.C:
				}
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (p *Pool) claim(kinds []string, n int) ([]store.Job, error) {
	ctx, cancel := context.WithTimeout(p.hard, finishTimeout)
	defer cancel()
	return p.store.ClaimJobs(ctx, p.opts.WorkerID, kinds, n, p.opts.Lease)
}

// run runs one claimed job, keeps its lease alive meanwhile, and records the
// outcome.
func (p *Pool) run(h Handler, job store.Job) {
	defer p.running.Done()
	defer func() {
		p.active.Add(-1)
		select {
		case p.freed <- struct{}{}:
		default:
		}
	}()
	log := p.log.With("job_id", job.ID, "kind", job.Kind, "attempt", job.Attempts)
	ctx, cancel := context.WithCancelCause(p.hard)
	defer cancel(nil)

	// The lease is kept alive until the handler returns, even after a
	// shutdown cancels ctx, so no one else starts the job meanwhile.
	leaseCtx, stopLease := context.WithCancel(context.WithoutCancel(p.hard))
	var lost atomic.Bool
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		p.keepLease(leaseCtx, job, log, func() { lost.Store(true); cancel(errLeaseLost) })
	}()

	p.metrics.running.Inc()
	start := time.Now()
	err := p.call(ctx, h, job, log)
	elapsed := time.Since(start)
	p.metrics.running.Dec()
	stopLease()
	<-leaseDone
	p.metrics.duration.WithLabelValues(job.Kind).Observe(elapsed.Seconds())

	fctx, fcancel := context.WithTimeout(context.WithoutCancel(p.hard), finishTimeout)
	defer fcancel()
	var result string
	var ferr error
	switch {
	case lost.Load():
		result = "lost"
		log.Warn("job lease lost; another worker has it", "err", err)
	case err == nil:
		result = "done"
		ferr = p.store.CompleteJob(fctx, job.ID, p.opts.WorkerID)
		log.Debug("job done", "duration", elapsed)
	case errors.Is(context.Cause(ctx), errShutdown):
		result = "released"
		ferr = p.store.ReleaseJob(fctx, job.ID, p.opts.WorkerID)
		log.Warn("job interrupted by shutdown; released", "err", err)
	default:
		result = "retry"
		if job.Attempts >= job.MaxAttempts {
			result = "failed"
		}
		retryAt := time.Now().Add(p.opts.Backoff(job.Attempts))
		ferr = p.store.FailJob(fctx, job.ID, p.opts.WorkerID, err.Error(), retryAt)
		log.Warn("job failed", "err", err, "final", result == "failed", "retry_at", retryAt)
	}
	if ferr != nil {
		// The lease will expire and the job run again: handlers are
		// idempotent.
		log.Error("recording job outcome failed", "result", result, "err", ferr)
	}
	p.metrics.processed.WithLabelValues(job.Kind, result).Inc()
}

// call runs the handler, turning a panic into an error and logging its
// stack.
func (p *Pool) call(ctx context.Context, h Handler, job store.Job, log *slog.Logger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("job handler panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return h(ctx, job)
}

// keepLease extends the job's lease every Lease/3 until ctx is done. When
// the store says the job is no longer ours it calls lost and returns; other
// errors are retried at the next tick, while the lease still runs.
func (p *Pool) keepLease(ctx context.Context, job store.Job, log *slog.Logger, lost func()) {
	t := time.NewTicker(p.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := p.store.ExtendLease(ctx, job.ID, p.opts.WorkerID, p.opts.Lease)
		switch code := greenroom.ErrorCode(err); {
		case err == nil:
		case code == greenroom.CodeConflict || code == greenroom.CodeNotFound:
			lost()
			return
		case ctx.Err() != nil:
			return
		default:
			log.Warn("extending job lease failed", "err", err)
		}
	}
}
