package gitprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitsource"
)

// JobKind is the job kind of every git and directory provider run; the
// payload names the provider.
const JobKind = "catalog.provider.git"

// Kinds of provider, as State.Kind.
const (
	KindGit       = "git"
	KindDirectory = "directory"
)

// jitter varies each run by up to ±10 % of the frequency, so providers
// configured together do not run together.
const jitter = 0.1

// MaxAttempts is how often the jobs queue tries one run: a failed run is
// retried with the queue's backoff, and the next slot comes anyway.
const MaxAttempts = 3

// Catalog is what the providers need of the catalog service.
type Catalog interface {
	// ApplyProvider makes sources the provider's complete set; see
	// catalog.Service.ApplyProvider. Its error means nothing was applied
	// past the failing source; per-file problems are in the result.
	ApplyProvider(ctx context.Context, provider string, sources []catalog.Source) (catalog.ProviderResult, error)
	// RegisterProvider lets the catalog ask for a re-read when an entity
	// the provider supplied is refreshed.
	RegisterProvider(provider string, refresh catalog.ProviderRefresher)
}

var _ Catalog = (*catalog.Service)(nil)

// Options are what New needs besides the configuration.
type Options struct {
	Catalog Catalog
	// Enqueue durably queues a job with a dedupe key (the jobs pool with
	// jobs.RunAt, jobs.DedupeKey and jobs.MaxAttempts(MaxAttempts)).
	Enqueue catalog.ScheduleFunc
	// CacheDir holds the git clones, e.g. <dataDir>/git; required when a
	// git provider is configured.
	CacheDir string
	// Git tunes the git cache; its Timeout defaults to the longest
	// provider timeout.
	Git    gitsource.Options
	Logger *slog.Logger
	// Now and Rand default to time.Now and math/rand/v2's Float64.
	Now  func() time.Time
	Rand func() float64
}

// Providers are the configured git and directory providers.
type Providers struct {
	opts  Options
	log   *slog.Logger
	list  []*Provider
	byKey map[string]*Provider
}

// Provider is one configured provider.
type Provider struct {
	name      string
	frequency time.Duration
	timeout   time.Duration
	delay     time.Duration
	log       *slog.Logger
	set       *Providers
	state     stateBox

	// run serialises runs (a job, its retry, a refresh) of the provider.
	run  chan struct{}
	scan func(ctx context.Context, force bool) (outcome, error)
}

// outcome is what one scan did.
type outcome struct {
	skipped bool
	commit  string
	files   int
	res     catalog.ProviderResult
}

// New checks the providers' settings (without I/O, except creating the
// git cache directory) and returns them; nothing runs until Start. Errors
// have code invalid and name the provider's config entry.
func New(git []config.GitProvider, dirs []config.DirectoryProvider, opts Options) (*Providers, error) {
	if opts.Catalog == nil || opts.Enqueue == nil {
		return nil, errors.New("gitprovider: New needs a Catalog and an Enqueue function")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	ps := &Providers{opts: opts, log: opts.Logger, byKey: map[string]*Provider{}}
	var problems []error
	if len(git) > 0 {
		cache, err := ps.newCache(git)
		if err != nil {
			return nil, err
		}
		for _, g := range git {
			p, err := ps.newGit(g, cache)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			ps.add(p)
		}
	}
	for _, d := range dirs {
		p, err := ps.newDirectory(d)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		ps.add(p)
	}
	if len(problems) > 0 {
		return nil, &greenroom.Error{Code: greenroom.CodeInvalid, Message: errors.Join(problems...).Error()}
	}
	return ps, nil
}

func (ps *Providers) newCache(git []config.GitProvider) (*gitsource.Cache, error) {
	if ps.opts.CacheDir == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "gitprovider: git providers need a cache directory")
	}
	o := ps.opts.Git
	if o.Logger == nil {
		o.Logger = ps.log.With("component", "gitsource")
	}
	if o.Timeout <= 0 {
		for _, g := range git {
			o.Timeout = max(o.Timeout, g.Schedule.Timeout)
		}
	}
	return gitsource.NewCache(ps.opts.CacheDir, o)
}

func (ps *Providers) newProvider(name string, sched config.ProviderSchedule) *Provider {
	if sched.Frequency < time.Second {
		sched.Frequency = config.DefaultProviderFrequency
	}
	if sched.Timeout <= 0 {
		sched.Timeout = config.DefaultProviderTimeout
	}
	return &Provider{
		name:      name,
		frequency: sched.Frequency,
		timeout:   sched.Timeout,
		delay:     max(sched.InitialDelay, 0),
		log:       ps.log.With("provider", name),
		set:       ps,
		run:       make(chan struct{}, 1),
	}
}

func (ps *Providers) add(p *Provider) {
	ps.list = append(ps.list, p)
	ps.byKey[p.name] = p
}

// located prefixes a config problem with where the entry was declared.
func located(file string, line int, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if file != "" {
		return fmt.Errorf("%s:%d: %s: %s", file, line, path, msg)
	}
	return fmt.Errorf("%s: %s", path, msg)
}

// Names returns the provider names, as the catalog knows them.
func (ps *Providers) Names() []string {
	out := make([]string, len(ps.list))
	for i, p := range ps.list {
		out[i] = p.name
	}
	return out
}

// Provider returns the provider of a name, or nil.
func (ps *Providers) Provider(name string) *Provider { return ps.byKey[name] }

// States returns every provider's State, in configuration order (git
// first).
func (ps *Providers) States() []State {
	out := make([]State, len(ps.list))
	for i, p := range ps.list {
		out[i] = p.State()
	}
	return out
}

// Start registers each provider with the catalog (for refreshes of their
// entities) and queues its first run, after its initialDelay. Every
// replica may call it: the first run is deduplicated by slot too. The
// first run in a process always applies, so the catalog has the
// repository's files after a restart even when its commit is unchanged.
func (ps *Providers) Start(ctx context.Context) error {
	var errs []error
	for _, p := range ps.list {
		ps.opts.Catalog.RegisterProvider(p.name, func(ctx context.Context, _ string) error {
			return p.Run(ctx, true)
		})
		now := ps.opts.Now()
		slot := slotOf(now, p.frequency)
		if err := p.enqueue(ctx, slot, now.Add(p.delay)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// job is the payload of a JobKind job.
type job struct {
	Provider string `json:"provider"`
	// Slot numbers the run's frequency interval since the Unix epoch.
	Slot int64 `json:"slot"`
	// FrequencyMS is the frequency Slot counts; a job queued before the
	// frequency changed does not carry its slot over.
	FrequencyMS int64 `json:"frequencyMs"`
}

// RunJob is the handler of JobKind jobs: it queues the provider's next run
// first, so a failing run does not break the chain, then runs it. A job of
// a provider no longer configured is dropped; a payload that is not a
// provider run is greenroom.CodeInvalid.
func (ps *Providers) RunJob(ctx context.Context, payload []byte) error {
	var j job
	if err := json.Unmarshal(payload, &j); err != nil || j.Provider == "" {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "git provider job payload is not valid", Err: err}
	}
	p := ps.byKey[j.Provider]
	if p == nil {
		ps.log.Info("job of an unconfigured provider dropped", "provider", j.Provider)
		return nil
	}
	after := j.Slot
	if j.FrequencyMS != p.frequency.Milliseconds() {
		after = slotOf(ps.opts.Now(), p.frequency)
	}
	if err := p.scheduleAfter(ctx, after); err != nil {
		return err
	}
	return p.Run(ctx, false)
}

// Name returns the provider's catalog name: "git-<id>" or
// "directory-<id>".
func (p *Provider) Name() string { return p.name }

// State returns what the provider's runs in this process found.
func (p *Provider) State() State { return p.state.get() }

// Run runs the provider now: a sync or scan and, when something changed
// since the last apply (or force is set), an apply of its catalog files.
// Runs of one provider never overlap. A failed run changes nothing in the
// catalog; its error is returned and kept in the State.
func (p *Provider) Run(ctx context.Context, force bool) error {
	select {
	case p.run <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("gitprovider: %s: waiting for the running scan: %w", p.name, context.Cause(ctx))
	}
	defer func() { <-p.run }()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := p.set.opts.Now()
	out, err := p.scan(ctx, force)
	end := p.set.opts.Now()
	p.state.update(func(s *State) {
		s.LastRun = end
		if err != nil {
			s.LastError = err.Error()
			return
		}
		s.LastError, s.LastSuccess, s.Skipped = "", end, out.skipped
		if out.skipped {
			return
		}
		s.Commit, s.Files = out.commit, out.files
		s.Problems = problemTexts(out.res.Problems)
		s.Retired, s.Orphaned = out.res.Retired, out.res.Orphaned
	})
	if err != nil {
		p.log.Warn("provider run failed", "err", err, "duration", end.Sub(start))
		return err
	}
	if !out.skipped {
		p.log.Info("provider applied", "commit", out.commit, "files", out.files, "problems", len(out.res.Problems),
			"retired", out.res.Retired, "duration", end.Sub(start))
	}
	return nil
}

// scheduleAfter queues the run of the first slot after slot (and after
// now).
func (p *Provider) scheduleAfter(ctx context.Context, slot int64) error {
	next, at := nextRun(p.set.opts.Now(), p.frequency, slot, p.set.opts.Rand())
	return p.enqueue(ctx, next, at)
}

func (p *Provider) enqueue(ctx context.Context, slot int64, at time.Time) error {
	ms := p.frequency.Milliseconds()
	key := fmt.Sprintf("%s:%s:%d:%d", JobKind, p.name, ms, slot)
	if err := p.set.opts.Enqueue(ctx, JobKind, job{Provider: p.name, Slot: slot, FrequencyMS: ms}, at, key); err != nil {
		return fmt.Errorf("gitprovider: %s: schedule: %w", p.name, err)
	}
	p.state.update(func(s *State) { s.NextRun = at })
	return nil
}

// slotOf returns the slot t falls in.
func slotOf(t time.Time, frequency time.Duration) int64 {
	return t.UnixMilli() / frequency.Milliseconds()
}

// nextRun returns the slot after both after and the one now falls in, and
// when its job runs: the slot's start moved by r (in [0, 1)) across ±10 %
// of the frequency, never before now.
func nextRun(now time.Time, frequency time.Duration, after int64, r float64) (int64, time.Time) {
	next := max(after, slotOf(now, frequency)) + 1
	start := time.UnixMilli(next * frequency.Milliseconds())
	at := start.Add(time.Duration((2*r - 1) * jitter * float64(frequency)))
	if at.Before(now) {
		at = now
	}
	return next, at
}
