package urlread

import (
	"sync"
	"time"
)

// maxTrackedHosts bounds the per-host state of the breaker and the rate
// limiter. Only hosts in trouble are tracked, so the bound is rarely met;
// when it is, new hosts go untracked rather than evicting known trouble.
const maxTrackedHosts = 1024

// breaker is a per-host circuit breaker. A host is closed (requests pass)
// until threshold attempts in a row fail; it is then open (requests fail at
// once) for openFor; after that one probe passes (half-open): success
// closes the host, failure opens it again.
type breaker struct {
	threshold int
	openFor   time.Duration

	mu    sync.Mutex
	hosts map[string]*hostHealth
}

type hostHealth struct {
	failures  int       // consecutive failed attempts
	openUntil time.Time // while failures >= threshold
	probing   bool      // a half-open probe is in flight
}

func newBreaker(threshold int, openFor time.Duration) *breaker {
	return &breaker{threshold: threshold, openFor: openFor, hosts: map[string]*hostHealth{}}
}

// allow reports whether an attempt on host may go ahead now. When it may
// not, it returns how many attempts failed in a row and until when the
// breaker stays open (zero while a half-open probe is in flight).
func (b *breaker) allow(host string, now time.Time) (ok bool, failures int, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hosts[host]
	if h == nil || h.failures < b.threshold {
		return true, 0, time.Time{}
	}
	if now.Before(h.openUntil) {
		return false, h.failures, h.openUntil
	}
	if h.probing {
		return false, h.failures, time.Time{}
	}
	h.probing = true
	return true, 0, time.Time{}
}

// record notes the outcome of an attempt that allow let through: failed
// says the host did not answer usefully (network error, timeout, 5xx). It
// reports whether this attempt opened the breaker.
func (b *breaker) record(host string, failed bool, now time.Time) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hosts[host]
	if !failed {
		delete(b.hosts, host)
		return false
	}
	if h == nil {
		if len(b.hosts) >= maxTrackedHosts {
			return false
		}
		h = &hostHealth{}
		b.hosts[host] = h
	}
	h.failures++
	h.probing = false
	if h.failures >= b.threshold {
		h.openUntil = now.Add(b.openFor)
		return true
	}
	return false
}

// release ends a half-open probe whose outcome says nothing about the host
// (the caller gave up), so that the next attempt may probe.
func (b *breaker) release(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h := b.hosts[host]; h != nil {
		h.probing = false
	}
}

// open reports how many hosts are open now, for metrics.
func (b *breaker) open(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, h := range b.hosts {
		if h.failures >= b.threshold && now.Before(h.openUntil) {
			n++
		}
	}
	return n
}

// limiter remembers hosts that asked Greenroom to wait (rate limits,
// Retry-After), so that nothing is sent to them before the time they named.
type limiter struct {
	mu    sync.Mutex
	hosts map[string]limit
}

type limit struct {
	until  time.Time
	reason string // e.g. "GitHub rate limit exhausted"
}

func newLimiter() *limiter { return &limiter{hosts: map[string]limit{}} }

// wait returns the limit in force on host at now, if any.
func (l *limiter) wait(host string, now time.Time) (limit, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.hosts[host]
	if !ok {
		return limit{}, false
	}
	if !now.Before(lim.until) {
		delete(l.hosts, host)
		return limit{}, false
	}
	return lim, true
}

// set records that host must not be asked again before until.
func (l *limiter) set(host string, until time.Time, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.hosts[host]; !ok && len(l.hosts) >= maxTrackedHosts {
		for h, lim := range l.hosts {
			if !lim.until.After(until) {
				delete(l.hosts, h)
				break
			}
		}
		if len(l.hosts) >= maxTrackedHosts {
			return
		}
	}
	if cur, ok := l.hosts[host]; ok && cur.until.After(until) {
		return
	}
	l.hosts[host] = limit{until: until, reason: reason}
}
