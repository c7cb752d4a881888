package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"greenroom/internal/greenroom"
)

// DefaultProcessingInterval is how often the whole catalog is refreshed
// when catalog.processingInterval is not set. Each refresh skips the
// sources whose content is unchanged, so it is cheap.
const DefaultProcessingInterval = 60 * time.Second

// processingJitter varies each scheduled refresh by up to ±10 % of the
// interval, so that catalogs started together do not refresh together.
const processingJitter = 0.1

// ScheduledRefreshJobKind is the job kind of scheduled full refreshes. It is
// apart from RefreshJobKind because refresh requests coalesce every queued
// job of their kind, and a scheduled job waits in the queue for its time.
const ScheduledRefreshJobKind = "catalog.scheduled-refresh"

// ScheduleFunc durably queues a job of kind with payload to run at runAt,
// unless a queued or running job already has dedupeKey (then it does
// nothing and returns nil).
type ScheduleFunc func(ctx context.Context, kind string, payload any, runAt time.Time, dedupeKey string) error

// Schedule is catalog.processingInterval put to work.
type Schedule struct {
	// Interval between full refreshes; zero disables them
	// (catalog.processingInterval: false).
	Interval time.Duration
	Enqueue  ScheduleFunc
	// Now and Rand default to time.Now and math/rand/v2's Float64; tests
	// replace them.
	Now  func() time.Time
	Rand func() float64
}

// scheduledRefresh is the payload of a ScheduledRefreshJobKind job.
type scheduledRefresh struct {
	// Slot numbers the job's interval since the Unix epoch:
	// it ran at Slot·Interval, jittered.
	Slot int64 `json:"slot"`
	// IntervalMS is the interval Slot counts; a job queued before the
	// interval was changed does not carry its slot over.
	IntervalMS int64 `json:"intervalMs"`
}

// SetSchedule enables scheduled refreshes.
func (s *Service) SetSchedule(sc Schedule) {
	if sc.Now == nil {
		sc.Now = time.Now
	}
	if sc.Rand == nil {
		sc.Rand = rand.Float64
	}
	s.schedule = sc
}

// ScheduleRefresh queues the next scheduled full refresh, unless one is
// already queued. Every replica may call it at start-up: slots are counted
// from the Unix epoch, so replicas agree on the next one and its dedupe key,
// and the jobs table keeps one job for it. It does nothing when no schedule
// is set or the interval is zero.
func (s *Service) ScheduleRefresh(ctx context.Context) error {
	sc := s.schedule
	if sc.Enqueue == nil || sc.Interval <= 0 {
		return nil
	}
	return s.scheduleAfter(ctx, slotOf(sc.Now(), sc.Interval))
}

// scheduleAfter queues the job for the first slot after slot (and after
// now).
func (s *Service) scheduleAfter(ctx context.Context, slot int64) error {
	sc := s.schedule
	next, at := nextRun(sc.Now(), sc.Interval, slot, sc.Rand())
	key := fmt.Sprintf("%s:%d:%d", ScheduledRefreshJobKind, sc.Interval.Milliseconds(), next)
	job := scheduledRefresh{Slot: next, IntervalMS: sc.Interval.Milliseconds()}
	if err := sc.Enqueue(ctx, ScheduledRefreshJobKind, job, at, key); err != nil {
		return fmt.Errorf("catalog: schedule refresh: %w", err)
	}
	return nil
}

// slotOf returns the slot t falls in.
func slotOf(t time.Time, interval time.Duration) int64 {
	return t.UnixMilli() / interval.Milliseconds()
}

// nextRun returns the slot after both after and the one now falls in, and
// when its job runs: the slot's start moved by r (in [0, 1)) across ±10 %
// of the interval, never before now.
func nextRun(now time.Time, interval time.Duration, after int64, r float64) (int64, time.Time) {
	next := max(after, slotOf(now, interval)) + 1
	start := time.UnixMilli(next * interval.Milliseconds())
	jitter := time.Duration((2*r - 1) * processingJitter * float64(interval))
	at := start.Add(jitter)
	if at.Before(now) {
		at = now
	}
	return next, at
}

// RunScheduledRefresh is the handler of ScheduledRefreshJobKind jobs: it
// queues the next scheduled refresh first, so that a failing refresh does
// not break the chain, then refreshes the whole catalog. A payload that is
// not a scheduled refresh is greenroom.CodeInvalid.
func (s *Service) RunScheduledRefresh(ctx context.Context, payload []byte) error {
	var job scheduledRefresh
	if err := json.Unmarshal(payload, &job); err != nil {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "scheduled refresh payload is not valid", Err: err}
	}
	if sc := s.schedule; sc.Enqueue != nil && sc.Interval > 0 {
		after := job.Slot
		if job.IntervalMS != sc.Interval.Milliseconds() {
			after = slotOf(sc.Now(), sc.Interval)
		}
		if err := s.scheduleAfter(ctx, after); err != nil {
			return err
		}
	}
	return s.Refresh(ctx)
}

// RunRefreshJob is the handler of RefreshJobKind jobs. A request for one
// entity refreshes the source that supplied it (an entity gone since is
// not an error: there is nothing to refresh); any other request first calls
// coalesce, which marks done the full requests queued before this one,
// since this refresh answers them, and then refreshes the whole catalog.
func (s *Service) RunRefreshJob(ctx context.Context, payload []byte, coalesce func(context.Context) (int, error)) error {
	var req RefreshRequest
	if len(payload) > 0 && string(payload) != "null" {
		if err := json.Unmarshal(payload, &req); err != nil {
			return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "refresh payload is not valid", Err: err}
		}
	}
	if req.EntityRef != "" {
		err := s.RefreshEntity(ctx, req.EntityRef)
		if greenroom.IsNotFound(err) {
			s.logger.Info("refresh of a missing entity skipped", "entity_ref", req.EntityRef, "err", err)
			return nil
		}
		return err
	}
	if coalesce != nil {
		n, err := coalesce(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			s.logger.Debug("refresh requests coalesced", "count", n)
		}
	}
	return s.Refresh(ctx)
}
