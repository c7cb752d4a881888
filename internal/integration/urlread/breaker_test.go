package urlread

import (
	"fmt"
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBreaker(3, 30*time.Second)
	const h = "api.github.com"

	for i := range 2 {
		if ok, _, _ := b.allow(h, t0); !ok {
			t.Fatalf("attempt %d refused while closed", i+1)
		}
		if b.record(h, true, t0) {
			t.Fatalf("opened after %d failures, threshold 3", i+1)
		}
	}
	if b.record(h, false, t0); b.hosts[h] != nil {
		t.Fatal("a success must reset the count")
	}
	for range 2 {
		b.allow(h, t0)
		b.record(h, true, t0)
	}
	b.allow(h, t0)
	if !b.record(h, true, t0) {
		t.Fatal("third failure in a row did not open the breaker")
	}
	if ok, failures, until := b.allow(h, t0.Add(29*time.Second)); ok || failures != 3 || !until.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("open breaker: allow = %v, %d, %v", ok, failures, until)
	}
	if n := b.open(t0); n != 1 {
		t.Errorf("open hosts = %d, want 1", n)
	}
	if ok, _, _ := b.allow("other.host", t0); !ok {
		t.Error("another host is affected")
	}

	// Half-open: one probe at a time.
	t1 := t0.Add(30 * time.Second)
	if ok, _, _ := b.allow(h, t1); !ok {
		t.Fatal("no probe after openFor")
	}
	if ok, _, until := b.allow(h, t1); ok || !until.IsZero() {
		t.Fatal("a second request passed while the probe is in flight")
	}
	if !b.record(h, true, t1) {
		t.Fatal("a failed probe must open the breaker again")
	}
	if ok, _, _ := b.allow(h, t1.Add(time.Second)); ok {
		t.Fatal("passed right after a failed probe")
	}
	t2 := t1.Add(31 * time.Second)
	if ok, _, _ := b.allow(h, t2); !ok {
		t.Fatal("no second probe")
	}
	b.release(h) // the caller gave up: the next one may probe
	if ok, _, _ := b.allow(h, t2); !ok {
		t.Fatal("no probe after release")
	}
	b.record(h, false, t2)
	if ok, _, _ := b.allow(h, t2); !ok || b.open(t2) != 0 {
		t.Fatal("a successful probe must close the breaker")
	}
}

func TestBreakerBounded(t *testing.T) {
	t0 := time.Now()
	b := newBreaker(1, time.Minute)
	for i := range maxTrackedHosts + 10 {
		b.record(fmt.Sprintf("h%d", i), true, t0)
	}
	if len(b.hosts) != maxTrackedHosts {
		t.Errorf("tracked %d hosts, want at most %d", len(b.hosts), maxTrackedHosts)
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter()
	l.set("api.github.com", t0.Add(time.Minute), "rate limit exhausted")
	l.set("api.github.com", t0.Add(time.Second), "shorter")
	lim, ok := l.wait("api.github.com", t0)
	if !ok || !lim.until.Equal(t0.Add(time.Minute)) || lim.reason != "rate limit exhausted" {
		t.Fatalf("wait = %+v, %v; a shorter limit must not replace a longer one", lim, ok)
	}
	if _, ok := l.wait("api.github.com", t0.Add(time.Minute)); ok {
		t.Error("limit still in force at its reset time")
	}
	if len(l.hosts) != 0 {
		t.Error("an expired limit is kept")
	}
	for i := range maxTrackedHosts + 10 {
		l.set(fmt.Sprintf("h%d", i), t0.Add(time.Hour), "x")
	}
	if len(l.hosts) > maxTrackedHosts {
		t.Errorf("tracked %d hosts, want at most %d", len(l.hosts), maxTrackedHosts)
	}
}

func TestCache(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache(40, 3)
	c.put(entry{url: "a", data: []byte("0123456789"), etag: `"a"`, checked: t0})
	c.put(entry{url: "b", data: []byte("0123456789"), checked: t0})
	c.put(entry{url: "c", data: []byte("0123456789"), checked: t0})
	if _, ok := c.get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	c.put(entry{url: "d", data: []byte("0123456789"), checked: t0})
	if _, ok := c.get("b"); ok {
		t.Error("b, the least recently used, was not evicted at 3 entries")
	}
	if n, bytes := c.size(); n != 3 || bytes != 30 {
		t.Errorf("size = %d entries, %d bytes", n, bytes)
	}
	c.put(entry{url: "big", data: make([]byte, 11), checked: t0})
	if _, ok := c.get("big"); ok {
		t.Error("an entry over a quarter of the budget was kept")
	}
	c.put(entry{url: "a", data: []byte("xy"), checked: t0})
	if e, _ := c.get("a"); string(e.data) != "xy" || e.etag != "" {
		t.Errorf("replaced entry = %+v", e)
	}
	if _, bytes := c.size(); bytes != 22 {
		t.Errorf("bytes = %d after replacing a, want 22", bytes)
	}
	c.confirm("a", t0.Add(time.Hour))
	if e, _ := c.get("a"); !e.checked.Equal(t0.Add(time.Hour)) {
		t.Errorf("confirm did not move checked: %v", e.checked)
	}
	c.remove("a")
	if _, ok := c.get("a"); ok {
		t.Error("a still cached after remove")
	}
	off := newCache(40, -1)
	off.put(entry{url: "a", data: []byte("x")})
	if _, ok := off.get("a"); ok {
		t.Error("a disabled cache kept an entry")
	}
}

func TestBackoff(t *testing.T) {
	r, err := New(noIntegrations, noReading, Options{RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		jitter float64
		want   []time.Duration
	}{
		{0, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
		{0.999999, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}},
	} {
		r.jitter = func() float64 { return tt.jitter }
		for i, want := range tt.want {
			if got := r.backoff(i + 1).Round(time.Millisecond); got != want {
				t.Errorf("jitter %v: backoff(%d) = %v, want %v", tt.jitter, i+1, got, want)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},
		{"99999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
