package github

import (
	"context"
	"sync"
	"testing"
	"time"

	"greenroom/internal/config"
	"greenroom/internal/integration/github/githubfake"
)

// testClock is a clock that only moves when a sleep advances it, so rate
// limit waits of an hour take no time.
type testClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newTestClock() *testClock {
	// Real time, so that context deadlines (real time) compare sensibly.
	return &testClock{t: time.Now().Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *testClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// fixture is a fake GitHub and a token client for it sharing one clock.
type fixture struct {
	fake   *githubfake.Server
	client *Client
	clock  *testClock
}

func newFixture(t *testing.T, cfg githubfake.Config, edit func(*Options, *githubfake.Server)) *fixture {
	t.Helper()
	clock := newTestClock()
	cfg.Now = clock.Now
	fake := githubfake.New(t, cfg)
	opts := Options{Host: fake.Host(), APIBaseURL: fake.APIBaseURL(), GraphQLURL: fake.GraphQLURL(), Token: config.Secret(githubfake.DefaultToken)}
	if edit != nil {
		edit(&opts, fake)
	}
	c, err := New(opts, Deps{HTTP: fake.Client(), Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{fake: fake, client: c, clock: clock}
}

// useApp authenticates as the fake's GitHub App instead of the token.
func useApp(o *Options, fake *githubfake.Server) {
	o.Token = ""
	o.App = &AppCredentials{AppID: fake.AppID(), PrivateKeyPEM: config.Secret(fake.AppPrivateKeyPEM()), WebhookSecret: config.Secret(fake.WebhookSecret())}
}
