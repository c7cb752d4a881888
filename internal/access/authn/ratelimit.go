package authn

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// RateLimitOptions is greenroom.rateLimit. Zero values take the defaults.
//
// Counters are kept in memory unless Options.SharedLimits is set (the
// PostgreSQL store, which several replicas share): then every count is one
// UPSERT … RETURNING on a fixed window aligned to the clock, so that the
// budget holds over all replicas together.
type RateLimitOptions struct {
	Disabled       bool
	PerUser        int           // default 1000 per Window
	PerTeam        int           // default 10000 per Window
	Window         time.Duration // default 1h
	SignInFailures int           // default 20 per SignInWindow, per client address
	SignInWindow   time.Duration // default 10m
}

// Defaults of RateLimitOptions.
const (
	DefaultPerUser        = 1000
	DefaultPerTeam        = 10000
	DefaultWindow         = time.Hour
	DefaultSignInFailures = 20
	DefaultSignInWindow   = 10 * time.Minute
	// maxWindows bounds the counters kept; beyond it expired ones are
	// dropped, and if none are, the oldest half.
	maxWindows = 100_000
)

// limits holds fixed-window counters: per user, per team and per client
// address for failed authentication.
type limits struct {
	o   RateLimitOptions
	now func() time.Time
	mu  sync.Mutex
	w   map[string]*window
	// shared, when set, holds the counters instead of w; on its failure
	// the request is counted in w (fail open to this replica's budget).
	shared SharedCounter
	logger *slog.Logger
	warned time.Time // last logged failure of shared, under mu
}

type window struct {
	start time.Time
	n     int
}

func newLimits(o RateLimitOptions, now func() time.Time) *limits {
	if o.PerUser <= 0 {
		o.PerUser = DefaultPerUser
	}
	if o.PerTeam <= 0 {
		o.PerTeam = DefaultPerTeam
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.SignInFailures <= 0 {
		o.SignInFailures = DefaultSignInFailures
	}
	if o.SignInWindow <= 0 {
		o.SignInWindow = DefaultSignInWindow
	}
	return &limits{o: o, now: now, w: map[string]*window{}}
}

// quota is the state of one counter after a request.
type quota struct {
	limit, remaining int
	reset            time.Time
	ok               bool
}

// take counts one request against key and reports whether it is within
// limit per period.
func (l *limits) take(ctx context.Context, key string, limit int, period time.Duration, n int) quota {
	now := l.now()
	if l.shared != nil {
		start := now.Truncate(period)
		total, err := l.shared.AddRateCount(ctx, key, start, start.Add(period), n)
		if err == nil {
			return quota{limit: limit, remaining: max(0, limit-total), reset: start.Add(period), ok: total <= limit}
		}
		l.sharedFailed(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.w[key]
	if w == nil || !now.Before(w.start.Add(period)) {
		if w == nil && len(l.w) >= maxWindows {
			l.prune(now, period)
		}
		w = &window{start: now}
		l.w[key] = w
	}
	w.n += n
	return quota{limit: limit, remaining: max(0, limit-w.n), reset: w.start.Add(period), ok: w.n <= limit}
}

// sharedFailed logs a failure of the shared counters, at most once a
// minute.
func (l *limits) sharedFailed(err error) {
	l.mu.Lock()
	log := l.now().Sub(l.warned) > time.Minute
	if log {
		l.warned = l.now()
	}
	l.mu.Unlock()
	if log && l.logger != nil {
		l.logger.Warn("shared rate-limit counters unavailable; counting per replica", "err", err)
	}
}

// peek reports a counter without counting.
func (l *limits) peek(ctx context.Context, key string, limit int, period time.Duration) quota {
	now := l.now()
	if l.shared != nil {
		start := now.Truncate(period)
		total, err := l.shared.RateCount(ctx, key, start)
		if err == nil {
			return quota{limit: limit, remaining: max(0, limit-total), reset: start.Add(period), ok: total < limit}
		}
		l.sharedFailed(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.w[key]
	if w == nil || !now.Before(w.start.Add(period)) {
		return quota{limit: limit, remaining: limit, reset: now.Add(period), ok: true}
	}
	return quota{limit: limit, remaining: max(0, limit-w.n), reset: w.start.Add(period), ok: w.n < limit}
}

func (l *limits) prune(now time.Time, period time.Duration) {
	longest := max(period, l.o.Window, l.o.SignInWindow)
	for k, w := range l.w {
		if now.Sub(w.start) > longest {
			delete(l.w, k)
		}
	}
	if len(l.w) < maxWindows {
		return
	}
	i := 0
	for k := range l.w { // map order is random: drops an arbitrary half
		if i%2 == 0 {
			delete(l.w, k)
		}
		i++
	}
}

// request counts a request of a user and its teams; the quota returned is
// the one that refused it, else the user's.
func (l *limits) request(ctx context.Context, userRef string, teams []string) quota {
	if l.shared != nil {
		if q, ok := l.requestShared(ctx, userRef, teams); ok {
			return q
		}
	}
	q := l.take(ctx, "user:"+userRef, l.o.PerUser, l.o.Window, 1)
	if !q.ok {
		return q
	}
	for _, t := range teams {
		if tq := l.take(ctx, "team:"+t, l.o.PerTeam, l.o.Window, 1); !tq.ok {
			return tq
		}
	}
	return q
}

// requestShared counts a request's user and team counters in one round
// trip to the shared store; ok is false when the store failed.
func (l *limits) requestShared(ctx context.Context, userRef string, teams []string) (quota, bool) {
	keys := make([]string, 0, 1+len(teams))
	keys = append(keys, "user:"+userRef)
	for _, t := range teams {
		if k := "team:" + t; !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	start := l.now().Truncate(l.o.Window)
	reset := start.Add(l.o.Window)
	totals, err := l.shared.AddRateCounts(ctx, keys, start, reset, 1)
	if err != nil {
		l.sharedFailed(err)
		return quota{}, false
	}
	user := quota{limit: l.o.PerUser, remaining: max(0, l.o.PerUser-totals[0]), reset: reset, ok: totals[0] <= l.o.PerUser}
	if !user.ok {
		return user, true
	}
	for _, n := range totals[1:] {
		if n > l.o.PerTeam {
			return quota{limit: l.o.PerTeam, remaining: 0, reset: reset}, true
		}
	}
	return user, true
}

// blocked reports whether a client address has failed authentication too
// often.
// With rate limits disabled, nothing is blocked.
func (l *limits) blocked(ctx context.Context, ip string) quota {
	if l.o.Disabled {
		return quota{ok: true}
	}
	return l.peek(ctx, "fail:"+ip, l.o.SignInFailures, l.o.SignInWindow)
}

// startsPerFailure sizes the budget of sign-in starts per client address:
// each start stores a flow row until it expires, so starts are bounded
// too, more loosely than failures.
const startsPerFailure = 10

// started counts a sign-in start from a client address and reports
// whether it is within budget.
func (l *limits) started(ctx context.Context, ip string) quota {
	if l.o.Disabled {
		return quota{ok: true}
	}
	return l.take(ctx, "start:"+ip, l.o.SignInFailures*startsPerFailure, l.o.SignInWindow, 1)
}

// failed counts a failed authentication from a client address.
func (l *limits) failed(ctx context.Context, ip string) {
	if !l.o.Disabled {
		l.take(ctx, "fail:"+ip, l.o.SignInFailures, l.o.SignInWindow, 1)
	}
}

// setHeaders writes X-RateLimit-Limit, -Remaining and -Reset (Unix
// seconds, as GitHub's API), and Retry-After when refused.
func (q quota) setHeaders(w http.ResponseWriter, now time.Time) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(q.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(q.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(q.reset.Unix(), 10))
	if !q.ok {
		secs := int(q.reset.Sub(now).Round(time.Second) / time.Second)
		h.Set("Retry-After", strconv.Itoa(max(1, secs)))
	}
}
