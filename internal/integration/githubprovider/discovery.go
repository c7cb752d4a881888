package githubprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
)

// Job kinds. Scans and webhook deliveries are apart so that a delivery
// never waits behind a queued scan's dedupe key.
const (
	ScanJobKind    = "github-provider.scan"
	WebhookJobKind = "github-provider.webhook"
)

// scanJob is the payload of a ScanJobKind job: the slot of the provider's
// schedule it runs for (counted from the Unix epoch, so replicas agree on
// the dedupe key), or Initial for the run after start-up.
type scanJob struct {
	Provider   string `json:"provider"`
	Slot       int64  `json:"slot"`
	IntervalMS int64  `json:"intervalMs"`
	Initial    bool   `json:"initial,omitempty"`
}

// scanJitter varies each scheduled scan by up to ±10 % of the frequency.
const scanJitter = 0.1

// scanAttempts bounds the retries of one failed scan (with the pool's
// exponential backoff); the next slot's scan is queued regardless.
const scanAttempts = 5

// OrgEventHandler receives the organization, membership and team webhook
// events the org provider follows. HandleOrgEvent is called from a durable
// job once per delivery (again when it returned an error, with backoff); it
// must be idempotent. payload is the delivery's verified JSON body.
type OrgEventHandler interface {
	HandleOrgEvent(ctx context.Context, event string, payload []byte) error
}

// Discovery runs the configured GitHub providers: their schedules, the
// webhook receiver and their states.
type Discovery struct {
	providers []*Provider
	deps      Deps
	secrets   [][]byte

	mu  sync.Mutex
	org OrgEventHandler

	recent *recentSet
}

// NewDiscovery returns a Discovery of providers, verifying webhook
// deliveries with secrets (any of them). Call Register before the pool
// starts, then Start.
func NewDiscovery(providers []*Provider, secrets [][]byte, deps Deps) (*Discovery, error) {
	deps = deps.withDefaults()
	if deps.Catalog == nil || deps.Queue == nil || deps.Sources == nil {
		return nil, fmt.Errorf("githubprovider: Catalog, Queue and Sources are required")
	}
	seen := map[string]bool{}
	for _, p := range providers {
		if seen[p.name] {
			return nil, fmt.Errorf("githubprovider: provider %s configured twice", p.name)
		}
		seen[p.name] = true
	}
	return &Discovery{providers: providers, deps: deps, secrets: secrets, recent: newRecentSet(10000)}, nil
}

// SetOrgEventHandler routes organization, membership and team events to h
// (the GitHub org provider). Without one they are acknowledged and dropped.
func (d *Discovery) SetOrgEventHandler(h OrgEventHandler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.org = h
}

func (d *Discovery) orgHandler() OrgEventHandler {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.org
}

// Register registers the job handlers with the queue and each provider's
// refresher with the catalog.
func (d *Discovery) Register() {
	d.deps.Queue.Register(ScanJobKind, func(ctx context.Context, job store.Job) error { return d.runScanJob(ctx, job.Payload) })
	d.deps.Queue.Register(WebhookJobKind, func(ctx context.Context, job store.Job) error { return d.runWebhookJob(ctx, job.Payload) })
	for _, p := range d.providers {
		d.deps.Catalog.RegisterProvider(p.name, func(ctx context.Context, source string) error {
			return d.refreshSource(ctx, p, source)
		})
	}
}

// Start queues each provider's first scan (after its initialDelay) and its
// scheduled chain. Every replica may call it: the dedupe keys make one job
// of each.
func (d *Discovery) Start(ctx context.Context) error {
	for _, p := range d.providers {
		sc := p.cfg.Schedule
		at := d.deps.Now().Add(sc.InitialDelay)
		job := scanJob{Provider: p.name, IntervalMS: sc.Frequency.Milliseconds(), Initial: true}
		if _, err := d.deps.Queue.Enqueue(ctx, ScanJobKind, job, jobs.RunAt(at), jobs.DedupeKey(ScanJobKind+":"+p.name+":initial"),
			jobs.MaxAttempts(scanAttempts)); err != nil {
			return fmt.Errorf("githubprovider: queue first scan of %s: %w", p.name, err)
		}
		p.update(func(s *Status) { s.NextRun = at })
		if err := d.scheduleAfter(ctx, p, slotOf(d.deps.Now(), sc.Frequency)); err != nil {
			return err
		}
	}
	return nil
}

func slotOf(t time.Time, interval time.Duration) int64 {
	return t.UnixMilli() / interval.Milliseconds()
}

// scheduleAfter queues the provider's scan of the first slot after slot
// (and after now), at the slot's start moved by the jitter.
func (d *Discovery) scheduleAfter(ctx context.Context, p *Provider, slot int64) error {
	interval := p.cfg.Schedule.Frequency
	now := d.deps.Now()
	next := max(slot, slotOf(now, interval)) + 1
	at := time.UnixMilli(next * interval.Milliseconds()).Add(time.Duration((2*d.deps.Rand() - 1) * scanJitter * float64(interval)))
	if at.Before(now) {
		at = now
	}
	key := fmt.Sprintf("%s:%s:%d:%d", ScanJobKind, p.name, interval.Milliseconds(), next)
	job := scanJob{Provider: p.name, Slot: next, IntervalMS: interval.Milliseconds()}
	if _, err := d.deps.Queue.Enqueue(ctx, ScanJobKind, job, jobs.RunAt(at), jobs.DedupeKey(key), jobs.MaxAttempts(scanAttempts)); err != nil {
		return fmt.Errorf("githubprovider: schedule scan of %s: %w", p.name, err)
	}
	p.update(func(s *Status) {
		if s.NextRun.IsZero() || s.NextRun.Before(now) || at.Before(s.NextRun) {
			s.NextRun = at
		}
	})
	return nil
}

func (d *Discovery) provider(name string) *Provider {
	for _, p := range d.providers {
		if p.name == name {
			return p
		}
	}
	return nil
}

// runScanJob queues the provider's next scan first, so that a failing scan
// does not break the chain, then scans within the schedule's timeout.
func (d *Discovery) runScanJob(ctx context.Context, payload []byte) error {
	var job scanJob
	if err := json.Unmarshal(payload, &job); err != nil {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "github scan payload is not valid", Err: err}
	}
	p := d.provider(job.Provider)
	if p == nil {
		d.deps.Logger.Info("scan of a provider no longer configured skipped", "provider", job.Provider)
		return nil
	}
	interval := p.cfg.Schedule.Frequency
	after := job.Slot
	if job.Initial || job.IntervalMS != interval.Milliseconds() {
		after = slotOf(d.deps.Now(), interval)
	}
	if err := d.scheduleAfter(ctx, p, after); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Schedule.Timeout)
	defer cancel()
	return d.Scan(ctx, p)
}

// refreshSource re-reads one source of p, for a refresh of an entity it
// supplied.
func (d *Discovery) refreshSource(ctx context.Context, p *Provider, source string) error {
	key := strings.TrimPrefix(source, catalog.ProviderSourceName(p.name, ""))
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return greenroom.Errorf(greenroom.CodeInvalid, "source %q is not a GitHub file source", source)
	}
	ctx = github.WithPriority(ctx, github.Urgent)
	p.scanMu.Lock()
	defer p.scanMu.Unlock()
	data, err := p.client.File(ctx, parts[0], parts[1], parts[2], p.cfg.Filters.Branch)
	if greenroom.IsNotFound(err) {
		_, err = d.deps.Catalog.ApplyProviderDelta(ctx, p.name, nil, []string{source})
		return err
	}
	if err != nil {
		return fmt.Errorf("github provider %s: refresh %s: %w", p.name, key, err)
	}
	srcs := p.repoSources(ctx, parts[0]+"/"+parts[1], p.cfg.Filters.Branch, p.cfg.Filters.Branch, []found{{path: parts[2], data: data}})
	_, err = d.deps.Catalog.ApplyProviderDelta(ctx, p.name, srcs, nil)
	return err
}

// recentSet remembers the last n delivery ids processed, so that a replay
// after its job finished is still recognised (jobs dedupe only queued and
// running jobs).
type recentSet struct {
	mu   sync.Mutex
	n    int
	ids  map[string]bool
	ring []string
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{n: n, ids: map[string]bool{}, ring: make([]string, n)}
}

func (r *recentSet) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

func (r *recentSet) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids[id] {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.next] = id
	r.ids[id] = true
	r.next = (r.next + 1) % r.n
}
