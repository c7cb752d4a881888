package github

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"greenroom/internal/greenroom"
)

// The rate-limit resources the client meets (X-RateLimit-Resource).
const (
	ResourceCore    = "core"
	ResourceGraphQL = "graphql"
)

// RateLimit is one resource's primary rate limit as GitHub last reported it.
type RateLimit struct {
	Resource  string
	Limit     int
	Remaining int
	Used      int
	Reset     time.Time
	// Seen is when the headers were read; zero when never.
	Seen time.Time
}

// parseRateLimit reads the X-RateLimit-* headers; ok is false when they are
// absent or malformed (GitHub omits them on some errors).
func parseRateLimit(h http.Header, now time.Time) (RateLimit, bool) {
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return RateLimit{}, false
	}
	used, err := strconv.Atoi(h.Get("X-RateLimit-Used"))
	if err != nil {
		used = limit - remaining
	}
	res := h.Get("X-RateLimit-Resource")
	if res == "" {
		res = ResourceCore
	}
	return RateLimit{Resource: res, Limit: limit, Remaining: remaining, Used: used, Reset: time.Unix(reset, 0).UTC(), Seen: now}, true
}

// RateLimitError says a request was not sent (or not retried) because a
// rate limit would make it wait longer than allowed.
type RateLimitError struct {
	Resource string
	// Reset is when GitHub said the limit resets (or Retry-After ends).
	Reset time.Time
	// Secondary is true for a secondary (abuse) limit.
	Secondary bool
}

func (e *RateLimitError) Error() string {
	kind := "rate limit"
	if e.Secondary {
		kind = "secondary rate limit"
	}
	return fmt.Sprintf("github: %s for %s exhausted; it resets at %s", kind, e.Resource, e.Reset.UTC().Format(time.RFC3339))
}

func rateLimitErr(e *RateLimitError) error {
	return &greenroom.Error{Code: greenroom.CodeUnavailable, Message: e.Error(), Err: e}
}

// limiter holds the last rate-limit state per credential and resource
// (GitHub counts each token and each installation apart) and makes requests
// wait for resets.
type limiter struct {
	mu      sync.Mutex
	state   map[string]RateLimit // by scope + "|" + resource
	reserve int
	maxWait time.Duration
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
}

func limitKey(scope, resource string) string { return scope + "|" + resource }

func (l *limiter) update(scope string, rl RateLimit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == nil {
		l.state = map[string]RateLimit{}
	}
	l.state[limitKey(scope, rl.Resource)] = rl
}

func (l *limiter) getScoped(scope, resource string) RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	rl, ok := l.state[limitKey(scope, resource)]
	if !ok {
		rl.Resource = resource
	}
	return rl
}

// get returns the most constrained state of resource over all credentials.
func (l *limiter) get(resource string) RateLimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := RateLimit{Resource: resource}
	for k, rl := range l.state {
		if !strings.HasSuffix(k, "|"+resource) {
			continue
		}
		if out.Seen.IsZero() || rl.Remaining < out.Remaining {
			out = rl
		}
	}
	return out
}

// exhaust records that resource has no requests left for scope until reset.
func (l *limiter) exhaust(scope, resource string, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == nil {
		l.state = map[string]RateLimit{}
	}
	k := limitKey(scope, resource)
	rl := l.state[k]
	rl.Resource, rl.Remaining, rl.Reset, rl.Seen = resource, 0, reset, l.now()
	l.state[k] = rl
}

// floor is the Remaining at which a request of priority p must wait.
func (l *limiter) floor(rl RateLimit, p Priority) int {
	if p == Urgent || l.reserve < 0 {
		return 0
	}
	if l.reserve > 0 {
		return l.reserve
	}
	return rl.Limit / 50
}

// wait blocks until scope may use resource for a request of priority p: at
// once when requests remain above the floor, otherwise until the reset. It
// returns a *RateLimitError (code unavailable) without waiting when the reset
// is further than maxWait or past ctx's deadline. waited reports whether it
// slept.
func (l *limiter) wait(ctx context.Context, scope, resource string, p Priority) (waited bool, err error) {
	rl := l.getScoped(scope, resource)
	now := l.now()
	if rl.Seen.IsZero() || rl.Remaining > l.floor(rl, p) || !now.Before(rl.Reset) {
		return false, nil
	}
	// One second of slack: GitHub's reset is whole seconds and clocks drift.
	until := rl.Reset.Add(time.Second)
	if err := l.sleepUntil(ctx, until, &RateLimitError{Resource: resource, Reset: rl.Reset}); err != nil {
		return false, err
	}
	l.mu.Lock()
	// The budget is fresh after the reset; the next response tells its size.
	k := limitKey(scope, resource)
	if cur := l.state[k]; cur.Reset.Equal(rl.Reset) {
		cur.Remaining = cur.Limit
		l.state[k] = cur
	}
	l.mu.Unlock()
	return true, nil
}

// sleepUntil sleeps until t unless that is beyond maxWait or ctx's
// deadline, in which case it returns limitErr at once.
func (l *limiter) sleepUntil(ctx context.Context, t time.Time, limitErr *RateLimitError) error {
	d := t.Sub(l.now())
	if d <= 0 {
		return nil
	}
	if d > l.maxWait {
		return rateLimitErr(limitErr)
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return rateLimitErr(limitErr)
	}
	if err := l.sleep(ctx, d); err != nil {
		return fmt.Errorf("github: waiting for %s rate limit: %w", limitErr.Resource, err)
	}
	return nil
}

// isSecondaryLimit reports whether a 403/429 answer is a secondary rate
// limit: a Retry-After header, or GitHub's message naming it.
func isSecondaryLimit(status int, h http.Header, message string) bool {
	if status != http.StatusForbidden && status != http.StatusTooManyRequests {
		return false
	}
	if h.Get("Retry-After") != "" {
		return true
	}
	m := strings.ToLower(message)
	return strings.Contains(m, "secondary rate limit") || strings.Contains(m, "abuse detection")
}

// isPrimaryLimit reports whether a 403/429 answer says the primary limit is
// exhausted.
func isPrimaryLimit(status int, h http.Header) bool {
	return (status == http.StatusForbidden || status == http.StatusTooManyRequests) &&
		h.Get("X-RateLimit-Remaining") == "0"
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
