package githuborg

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
)

// Job kinds, one pair per provider (the provider id follows the colon):
// a scheduled read queues the next slot and reads; a read job reads once,
// for org events, start-up and per-entity refreshes.
const (
	ScheduledReadJobKind = "githuborg.scheduled-read"
	ReadJobKind          = "githuborg.read"
)

// scheduleJitter varies each scheduled read by up to ±10 % of the
// frequency, as the catalog's own schedule.
const scheduleJitter = 0.1

// ScheduledJobKind is the kind of this provider's scheduled reads.
func (p *Provider) ScheduledJobKind() string { return ScheduledReadJobKind + ":" + p.opts.Config.ID }

// ReadJobKind is the kind of this provider's one-off reads.
func (p *Provider) ReadJobKind() string { return ReadJobKind + ":" + p.opts.Config.ID }

// scheduledRead is the payload of a scheduled read: its slot counts
// frequencies from the Unix epoch, so that every replica agrees on the
// next slot and its dedupe key.
type scheduledRead struct {
	Slot        int64 `json:"slot"`
	FrequencyMS int64 `json:"frequencyMs"`
}

// readRequest is the payload of a read job.
type readRequest struct {
	Reason string `json:"reason"` // "start", "event:team.edited", "refresh", …
	Urgent bool   `json:"urgent,omitempty"`
}

// Start queues the first read (after schedule.initialDelay) and the next
// scheduled read. Every replica may call it at start-up: both jobs are
// deduplicated by slot.
func (p *Provider) Start(ctx context.Context) error {
	if p.opts.Enqueue == nil {
		return fmt.Errorf("githuborg: %s: no job queue", p.name)
	}
	if err := p.requestRead(ctx, readRequest{Reason: "start"}, p.opts.Config.Schedule.InitialDelay); err != nil {
		return err
	}
	f := p.opts.Config.Schedule.Frequency
	if f <= 0 {
		return nil
	}
	return p.scheduleAfter(ctx, slotOf(p.opts.Now(), f))
}

func (p *Provider) scheduleAfter(ctx context.Context, slot int64) error {
	f := p.opts.Config.Schedule.Frequency
	r := rand.Float64
	if p.opts.Rand != nil {
		r = p.opts.Rand
	}
	next, at := nextRun(p.opts.Now(), f, slot, r())
	key := fmt.Sprintf("%s:%d:%d", p.ScheduledJobKind(), f.Milliseconds(), next)
	if err := p.opts.Enqueue(ctx, p.ScheduledJobKind(), scheduledRead{Slot: next, FrequencyMS: f.Milliseconds()}, at, key); err != nil {
		return fmt.Errorf("githuborg: %s: schedule read: %w", p.name, err)
	}
	p.mu.Lock()
	p.state.NextRun = at
	p.mu.Unlock()
	return nil
}

func slotOf(t time.Time, d time.Duration) int64 { return t.UnixMilli() / d.Milliseconds() }

// nextRun returns the slot after both after and now's, and its run time:
// the slot's start moved by r in [0, 1) across ±10 %, never before now.
func nextRun(now time.Time, d time.Duration, after int64, r float64) (int64, time.Time) {
	next := max(after, slotOf(now, d)) + 1
	at := time.UnixMilli(next * d.Milliseconds()).Add(time.Duration((2*r - 1) * scheduleJitter * float64(d)))
	if at.Before(now) {
		at = now
	}
	return next, at
}

// requestRead queues a read after delay, coalesced with every request of
// the same debounce window: the dedupe key names the window, so a request
// made while a read runs (a later window) queues another read, which sees
// the change, instead of joining the running one, which may not.
func (p *Provider) requestRead(ctx context.Context, req readRequest, delay time.Duration) error {
	d := p.opts.Debounce
	at := p.opts.Now().Add(delay)
	slot := slotOf(at, d)
	runAt := time.UnixMilli((slot + 1) * d.Milliseconds())
	key := fmt.Sprintf("%s:%d", p.ReadJobKind(), slot)
	if err := p.opts.Enqueue(ctx, p.ReadJobKind(), req, runAt, key); err != nil {
		return fmt.Errorf("githuborg: %s: queue read: %w", p.name, err)
	}
	return nil
}

// RunScheduledRead is the handler of ScheduledJobKind jobs: it queues the
// next slot first, so that a failing read does not break the chain, then
// reads within schedule.timeout. A failed read is retried by the jobs
// pool with backoff; the catalog keeps the last good data meanwhile.
func (p *Provider) RunScheduledRead(ctx context.Context, payload []byte) error {
	var job scheduledRead
	if err := json.Unmarshal(payload, &job); err != nil {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "github org scheduled read payload is not valid", Err: err}
	}
	if f := p.opts.Config.Schedule.Frequency; f > 0 && p.opts.Enqueue != nil {
		after := job.Slot
		if job.FrequencyMS != f.Milliseconds() {
			after = slotOf(p.opts.Now(), f)
		}
		if err := p.scheduleAfter(ctx, after); err != nil {
			return err
		}
	}
	return p.readWithTimeout(ctx)
}

// RunReadJob is the handler of ReadJobKind jobs. Reads caused by webhooks
// go before scheduled GitHub work.
func (p *Provider) RunReadJob(ctx context.Context, payload []byte) error {
	var req readRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "github org read payload is not valid", Err: err}
	}
	if req.Urgent {
		ctx = github.WithPriority(ctx, github.Urgent)
	}
	p.log.Debug("github org read requested", "reason", req.Reason)
	return p.readWithTimeout(ctx)
}

func (p *Provider) readWithTimeout(ctx context.Context) error {
	if t := p.opts.Config.Schedule.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	return p.Read(ctx)
}

// RefreshSource is the catalog's ProviderRefresher for this provider: a
// refresh of one of its entities queues a read of the organizations
// (users and teams depend on each other, so the whole set is read).
func (p *Provider) RefreshSource(ctx context.Context, sourceName string) error {
	return p.requestRead(ctx, readRequest{Reason: "refresh " + sourceName}, 0)
}
