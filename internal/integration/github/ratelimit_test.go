package github

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github/githubfake"
)

func TestParseRateLimit(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4990")
	h.Set("X-RateLimit-Reset", "1700003600")
	h.Set("X-RateLimit-Used", "10")
	h.Set("X-RateLimit-Resource", "graphql")
	rl, ok := parseRateLimit(h, now)
	want := RateLimit{Resource: "graphql", Limit: 5000, Remaining: 4990, Used: 10, Reset: time.Unix(1700003600, 0).UTC(), Seen: now}
	if !ok || rl != want {
		t.Errorf("parseRateLimit = %+v, %v; want %+v", rl, ok, want)
	}
	h.Del("X-RateLimit-Resource")
	h.Del("X-RateLimit-Used")
	if rl, ok := parseRateLimit(h, now); !ok || rl.Resource != ResourceCore || rl.Used != 10 {
		t.Errorf("defaults = %+v", rl)
	}
	h.Set("X-RateLimit-Remaining", "lots")
	if _, ok := parseRateLimit(h, now); ok {
		t.Error("malformed Remaining accepted")
	}
}

func TestRetryAfterAndSecondaryDetection(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"30", 30 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"soon", 0, false},
		{"-5", 0, false},
	}
	for _, tt := range tests {
		h := http.Header{"Retry-After": {tt.value}}
		if got, ok := retryAfter(h, now); got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
	secondary := []struct {
		status int
		header http.Header
		msg    string
		want   bool
	}{
		{403, http.Header{"Retry-After": {"60"}}, "", true},
		{429, http.Header{}, "You have exceeded a secondary rate limit. Please wait", true},
		{403, http.Header{}, "Resource not accessible by integration", false},
		{404, http.Header{"Retry-After": {"60"}}, "", false},
	}
	for _, tt := range secondary {
		if got := isSecondaryLimit(tt.status, tt.header, tt.msg); got != tt.want {
			t.Errorf("isSecondaryLimit(%d, %v, %q) = %v", tt.status, tt.header, tt.msg, got)
		}
	}
}

func TestPrimaryLimitWaitsForReset(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 2)
	ctx := context.Background()
	f.fake.ExhaustRateLimit("core", 10*time.Minute)
	start := f.clock.Now()

	repos, err := f.client.OrgRepos(ctx, "acme")
	if err != nil || len(repos) != 2 {
		t.Fatalf("OrgRepos after waiting: %d, %v", len(repos), err)
	}
	sleeps := f.clock.Sleeps()
	if len(sleeps) != 1 || sleeps[0] < 10*time.Minute || sleeps[0] > 10*time.Minute+2*time.Second {
		t.Errorf("sleeps = %v, want one wait of about 10m until the reset", sleeps)
	}
	if f.clock.Now().Sub(start) < 10*time.Minute {
		t.Errorf("no time passed")
	}
	st := f.client.Stats()
	if st.RateLimitWaits != 1 || st.Requests != 2 {
		t.Errorf("stats = %+v, want one wait, the refused request and its retry", st)
	}
	// Known exhaustion is waited for before sending anything.
	f.fake.ExhaustRateLimit("core", 10*time.Minute)
	if _, err := f.client.Repo(ctx, "acme", "svc-001"); err != nil {
		t.Fatal(err)
	}
	before := f.client.Stats()
	f.fake.ExhaustRateLimit("core", 10*time.Minute)
	f.client.limits.exhaust("token", ResourceCore, f.clock.Now().Add(10*time.Minute).Truncate(time.Second))
	if _, err := f.client.Repo(ctx, "acme", "svc-001"); err != nil {
		t.Fatal(err)
	}
	if d := f.client.Stats().Sub(before); d.Requests != 1 || d.RateLimitWaits != 1 {
		t.Errorf("pre-emptive wait: %+v, want one request after one wait", d)
	}
}

func TestPrimaryLimitTooLongFailsAtOnce(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 1)
	f.fake.ExhaustRateLimit("core", 2*time.Hour)
	_, err := f.client.OrgRepos(context.Background(), "acme")
	var rle *RateLimitError
	if !errors.As(err, &rle) || rle.Resource != "core" || rle.Secondary {
		t.Fatalf("err = %v, want a core *RateLimitError", err)
	}
	if greenroom.ErrorCode(err) != greenroom.CodeUnavailable || !strings.Contains(err.Error(), "resets at "+rle.Reset.UTC().Format(time.RFC3339)) {
		t.Errorf("err = %v, want unavailable naming the reset", err)
	}
	if len(f.clock.Sleeps()) != 0 {
		t.Errorf("slept %v though the wait exceeds MaxWait", f.clock.Sleeps())
	}

	// The caller's deadline bounds the wait too.
	f.fake.ExhaustRateLimit("core", 5*time.Minute)
	f.client.limits.exhaust("token", ResourceCore, f.clock.Now().Add(5*time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := f.client.Repo(ctx, "acme", "svc-000"); !errors.As(err, &rle) {
		t.Errorf("err = %v, want *RateLimitError as the wait passes the deadline", err)
	}
}

func TestSecondaryLimitBackoff(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter time.Duration
		check      func(t *testing.T, sleeps []time.Duration)
	}{
		{"403 with Retry-After", http.StatusForbidden, 7 * time.Second, func(t *testing.T, sleeps []time.Duration) {
			if len(sleeps) != 2 || sleeps[0] != 7*time.Second || sleeps[1] != 7*time.Second {
				t.Errorf("sleeps = %v, want Retry-After twice", sleeps)
			}
		}},
		{"429 without Retry-After backs off exponentially", http.StatusTooManyRequests, 0, func(t *testing.T, sleeps []time.Duration) {
			if len(sleeps) != 2 {
				t.Fatalf("sleeps = %v", sleeps)
			}
			if sleeps[0] < time.Minute || sleeps[0] > 75*time.Second || sleeps[1] < 2*time.Minute || sleeps[1] > 150*time.Second {
				t.Errorf("sleeps = %v, want 1m..1m15s then 2m..2m30s", sleeps)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, githubfake.Config{}, nil)
			seedOrg(f.fake, "acme", 1)
			f.fake.SecondaryLimitNext(2, tt.status, tt.retryAfter)
			if _, err := f.client.Repo(context.Background(), "acme", "svc-000"); err != nil {
				t.Fatal(err)
			}
			tt.check(t, f.clock.Sleeps())
			if st := f.client.Stats(); st.SecondaryLimits != 2 || st.Retries != 2 || st.Requests != 3 {
				t.Errorf("stats = %+v", st)
			}
		})
	}

	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 1)
	f.fake.SecondaryLimitNext(10, http.StatusForbidden, time.Second)
	_, err := f.client.Repo(context.Background(), "acme", "svc-000")
	var rle *RateLimitError
	if !errors.As(err, &rle) || !rle.Secondary || !strings.Contains(err.Error(), "secondary rate limit") {
		t.Fatalf("err = %v, want a secondary *RateLimitError after MaxRetries", err)
	}
	if n := f.client.Stats().Requests; n != 5 {
		t.Errorf("requests = %d, want 1 + MaxRetries(4)", n)
	}
}

func TestServerErrorsRetried(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 1)
	f.fake.FailNext(2, http.StatusBadGateway)
	if _, err := f.client.Repo(context.Background(), "acme", "svc-000"); err != nil {
		t.Fatal(err)
	}
	sleeps := f.clock.Sleeps()
	if len(sleeps) != 2 || sleeps[0] < time.Second || sleeps[0] > 1250*time.Millisecond || sleeps[1] < 2*time.Second || sleeps[1] > 2500*time.Millisecond {
		t.Errorf("sleeps = %v, want ~1s then ~2s", sleeps)
	}
	f.fake.FailNext(5, http.StatusServiceUnavailable) // the first attempt and MaxRetries retries
	_, err := f.client.Repo(context.Background(), "acme", "svc-000")
	if greenroom.ErrorCode(err) != greenroom.CodeUnavailable || !strings.Contains(err.Error(), "503") {
		t.Errorf("err = %v, want unavailable 503 after the retries", err)
	}
	f.fake.FailNext(1, http.StatusNotFound) // a 4xx is an answer, not a failure
	before := f.client.Stats()
	if _, err := f.client.Repo(context.Background(), "acme", "svc-000"); !greenroom.IsNotFound(err) {
		t.Errorf("err = %v", err)
	}
	if d := f.client.Stats().Sub(before); d.Retries != 0 {
		t.Errorf("a 404 was retried: %+v", d)
	}
}

func TestGraphQLRateLimited(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 3)
	f.fake.ExhaustRateLimit("graphql", 10*time.Minute)
	repos, err := f.client.OrgReposWithFile(context.Background(), "acme", "catalog-info.yaml", "")
	if err != nil || len(repos) != 3 {
		t.Fatalf("%d repos, %v", len(repos), err)
	}
	if s := f.clock.Sleeps(); len(s) != 1 || s[0] < 10*time.Minute {
		t.Errorf("sleeps = %v, want a wait for the GraphQL reset", s)
	}
	if rl := f.client.RateLimit(ResourceGraphQL); rl.Remaining != 4999 || rl.Resource != "graphql" {
		t.Errorf("graphql rate limit = %+v", rl)
	}
}

func TestReserveKeptForUrgentWork(t *testing.T) {
	f := newFixture(t, githubfake.Config{CoreLimit: 20}, func(o *Options, _ *githubfake.Server) {
		o.Reserve = 5
		o.CacheEntries = -1 // every request charged
		o.MaxWait = 2 * time.Hour
	})
	seedOrg(f.fake, "acme", 1)
	ctx := context.Background()
	for i := range 15 {
		if _, err := f.client.Repo(ctx, "acme", "svc-000"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if rl := f.client.RateLimit(ResourceCore); rl.Remaining != 5 {
		t.Fatalf("remaining = %d", rl.Remaining)
	}
	urgent := WithPriority(ctx, Urgent)
	if _, err := f.client.Repo(urgent, "acme", "svc-000"); err != nil {
		t.Fatal(err)
	}
	if s := f.clock.Sleeps(); len(s) != 0 {
		t.Errorf("urgent request waited %v", s)
	}
	if _, err := f.client.Repo(ctx, "acme", "svc-000"); err != nil {
		t.Fatal(err)
	}
	if s := f.clock.Sleeps(); len(s) != 1 || s[0] < 59*time.Minute {
		t.Errorf("background request inside the reserve: sleeps %v, want a wait for the reset", s)
	}
}
