package authn

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimitOptions is greenroom.rateLimit. Zero values take the defaults.
//
// Counters are kept in memory, per replica: with N replicas behind a load
// balancer a user gets up to N times the budget. That keeps the check off
// the database on every request; the budgets guard against runaway
// scripts, not precise quotas.
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
func (l *limits) take(key string, limit int, period time.Duration, n int) quota {
	now := l.now()
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

// peek reports a counter without counting.
func (l *limits) peek(key string, limit int, period time.Duration) quota {
	now := l.now()
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
func (l *limits) request(userRef string, teams []string) quota {
	q := l.take("user:"+userRef, l.o.PerUser, l.o.Window, 1)
	if !q.ok {
		return q
	}
	for _, t := range teams {
		if tq := l.take("team:"+t, l.o.PerTeam, l.o.Window, 1); !tq.ok {
			return tq
		}
	}
	return q
}

// blocked reports whether a client address has failed authentication too
// often.
// With rate limits disabled, nothing is blocked.
func (l *limits) blocked(ip string) quota {
	if l.o.Disabled {
		return quota{ok: true}
	}
	return l.peek("fail:"+ip, l.o.SignInFailures, l.o.SignInWindow)
}

// startsPerFailure sizes the budget of sign-in starts per client address:
// each start stores a flow row until it expires, so starts are bounded
// too, more loosely than failures.
const startsPerFailure = 10

// started counts a sign-in start from a client address and reports
// whether it is within budget.
func (l *limits) started(ip string) quota {
	if l.o.Disabled {
		return quota{ok: true}
	}
	return l.take("start:"+ip, l.o.SignInFailures*startsPerFailure, l.o.SignInWindow, 1)
}

// failed counts a failed authentication from a client address.
func (l *limits) failed(ip string) {
	if !l.o.Disabled {
		l.take("fail:"+ip, l.o.SignInFailures, l.o.SignInWindow, 1)
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
