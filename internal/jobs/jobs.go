// Package jobs runs durable background work: jobs are rows in the store's
// jobs table, so they survive restarts, and a pool of workers claims them
// atomically, so with several replicas on one database each job runs once
// at a time. Work is registered by kind name at start-up; handlers must be
// idempotent, because a job whose worker dies is run again once its lease
// expires.
//
// The package must not hold business rules or know any job kind itself:
// domain packages register handlers. It talks to the database only through
// store methods.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
)

// Handler does the work of one job. It should return when ctx is done: ctx
// is cancelled when the pool's shutdown deadline passes or the job's lease
// is lost to another worker. A nil result completes the job; an error (or a
// panic) counts a failed attempt, retried after Options.Backoff until the
// job's attempts are used up.
type Handler func(ctx context.Context, job store.Job) error

// Defaults for Options fields left zero.
const (
	DefaultWorkers      = 4
	DefaultLease        = 30 * time.Second
	DefaultPollInterval = 500 * time.Millisecond
	maxBackoff          = 10 * time.Minute
)

// Options configure a Pool.
type Options struct {
	// Workers is how many jobs run at once; default DefaultWorkers.
	Workers int
	// Lease is how long a claimed job stays ours without news; the pool
	// extends the leases of running jobs every Lease/3. Default
	// DefaultLease.
	Lease time.Duration
	// PollInterval is how often idle workers look for due jobs; Notify
	// wakes them sooner. Default DefaultPollInterval.
	PollInterval time.Duration
	// Backoff returns the delay before retrying a job that failed its
	// attempt'th attempt (1 for the first); default DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Logger receives job failures and pool events; nil discards them.
	Logger *slog.Logger
	// WorkerID names this pool in the jobs table (locked_by); default
	// hostname-pid-random. It must be unique among running pools.
	WorkerID string
	// Registerer, when set, receives the metrics greenroom_jobs_processed_total{kind,
	// result}, greenroom_job_duration_seconds{kind}, greenroom_jobs_running and
	// greenroom_jobs{state} (read from the jobs table at each scrape).
	Registerer prometheus.Registerer
}

// DefaultBackoff waits 1s·2^(attempt-1), capped at 10 minutes, each delay
// varied by ±25% so jobs that failed together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := maxBackoff
	if n := attempt - 1; n < 20 {
		d = min(maxBackoff, time.Second<<max(n, 0))
	}
	d = d*3/4 + mathrand.N(d/2+1)
	return min(d, maxBackoff)
}

// EnqueueOption adjusts a job being enqueued.
type EnqueueOption func(*store.NewJob)

// RunAt makes the job wait until t.
func RunAt(t time.Time) EnqueueOption { return func(j *store.NewJob) { j.RunAt = t } }

// Delay makes the job wait for d.
func Delay(d time.Duration) EnqueueOption {
	return func(j *store.NewJob) { j.RunAt = time.Now().Add(d) }
}

// MaxAttempts sets how many times the job may run; default
// store.DefaultMaxAttempts.
func MaxAttempts(n int) EnqueueOption { return func(j *store.NewJob) { j.MaxAttempts = n } }

// DedupeKey makes Enqueue return the id of the queued or running job with
// the same key instead of adding another, e.g. "sync:github/acme".
func DedupeKey(key string) EnqueueOption { return func(j *store.NewJob) { j.DedupeKey = key } }

// Pool claims and runs jobs of the registered kinds. Register handlers,
// then Start, then Shutdown; Enqueue and Notify may be called at any time.
type Pool struct {
	store   *store.Store
	opts    Options
	log     *slog.Logger
	metrics *metrics

	mu       sync.Mutex
	handlers map[string]Handler
	started  bool

	wake     chan struct{} // Notify: something was enqueued
	freed    chan struct{} // a running job finished
	stop     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	loopDone chan struct{}

	// hard is the parent of every handler context; cancelled with
	// errShutdown when Shutdown's deadline passes.
	hard       context.Context
	hardCancel context.CancelCauseFunc
	running    sync.WaitGroup
	active     atomic.Int32
}

// New returns a pool over s. Nothing runs until Start. It panics on a
// Lease under 3ms, which could not be extended every Lease/3.
func New(s *store.Store, opts Options) *Pool {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	switch {
	case opts.Lease <= 0:
		opts.Lease = DefaultLease
	case opts.Lease < 3*time.Millisecond:
		panic("jobs: Lease must be at least 3ms")
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.WorkerID == "" {
		opts.WorkerID = defaultWorkerID()
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Pool{
		store:    s,
		opts:     opts,
		log:      logger.With("worker", opts.WorkerID),
		metrics:  newMetrics(opts.Registerer, s.JobCounts),
		handlers: map[string]Handler{},
		wake:     make(chan struct{}, 1),
		freed:    make(chan struct{}, 1),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// WorkerID returns the id this pool claims jobs under.
func (p *Pool) WorkerID() string { return p.opts.WorkerID }

// Register sets the handler for a kind. Only registered kinds are claimed.
// It panics on an empty kind, a nil handler, a kind registered twice or a
// call after Start: those are programming errors found at start-up.
func (p *Pool) Register(kind string, h Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case kind == "" || h == nil:
		panic("jobs: Register needs a kind and a handler")
	case p.started:
		panic("jobs: Register(" + kind + ") after Start")
	case p.handlers[kind] != nil:
		panic("jobs: kind " + kind + " registered twice")
	}
	p.handlers[kind] = h
}

// Enqueue stores a job of the given kind with payload encoded as JSON (pass
// a json.RawMessage to store encoded JSON as it is) and wakes this pool's
// idle workers. The kind need not be registered in this pool: another
// replica may run it. It returns the job's id, or the existing job's id
// under a DedupeKey; an empty kind or a payload that cannot be encoded is
// greenroom.CodeInvalid.
func (p *Pool) Enqueue(ctx context.Context, kind string, payload any, opts ...EnqueueOption) (int64, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, &greenroom.Error{Code: greenroom.CodeInvalid, Message: "cannot encode the " + kind + " job payload", Err: err}
	}
	nj := store.NewJob{Kind: kind, Payload: body}
	for _, o := range opts {
		o(&nj)
	}
	id, err := p.store.EnqueueJob(ctx, nj)
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	p.Notify()
	return id, nil
}

// Notify wakes idle workers to look for jobs now rather than at the next
// poll. It never blocks.
func (p *Pool) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// kinds returns the registered kinds, sorted.
func (p *Pool) kinds() []string {
	kinds := make([]string, 0, len(p.handlers))
	for k := range p.handlers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
