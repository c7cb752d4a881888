package urlread

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

var _ catalog.URLReader = (*Reader)(nil)

// Options tune a Reader. Zero values take the defaults named on each field.
type Options struct {
	Logger     *slog.Logger          // default: discard
	Registerer prometheus.Registerer // nil: metrics are not exported

	// MaxBytes bounds one file, checked while reading. Default 10 MiB.
	MaxBytes int64
	// Timeout bounds one HTTP attempt, from dialling to the last byte of
	// the body. Default 30s.
	Timeout time.Duration
	// ConnectTimeout bounds connecting (and the TLS handshake). Default 10s.
	ConnectTimeout time.Duration
	// AllowPrivateAddresses lets every URL reach loopback, private and
	// link-local addresses. Prefer listing the hosts under
	// backend.reading.allow.
	AllowPrivateAddresses bool
	// UserAgent is sent with every request. Default "Greenroom".
	UserAgent string

	// MaxAttempts bounds the attempts of one read (network errors, timeouts,
	// 408, 429 and 5xx are retried). Default 4; 1 disables retries.
	MaxAttempts int
	// RetryBaseDelay is the first backoff wait; it doubles with every
	// attempt, with jitter. Default 500ms.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps one wait, including a Retry-After or rate limit
	// reset the source names: a longer one fails the read at once (and the
	// host is left alone until then). Default 10s.
	RetryMaxDelay time.Duration

	// BreakerThreshold is how many attempts on one host may fail in a row
	// before its circuit opens. Default 5.
	BreakerThreshold int
	// BreakerOpenFor is how long an open circuit refuses attempts before
	// one probe is let through. Default 30s.
	BreakerOpenFor time.Duration

	// CacheMaxBytes and CacheMaxEntries bound the cache of last good
	// bytes. Defaults 64 MiB and 1024; CacheMaxEntries < 0 disables it.
	CacheMaxBytes   int64
	CacheMaxEntries int
	// MaxStale is the oldest cached copy returned when the source cannot
	// be read. 0 means no limit: a copy in the cache is always better than
	// nothing.
	MaxStale time.Duration

	// Now and Sleep replace the clock and the backoff wait in tests.
	Now   greenroom.Clock
	Sleep func(ctx context.Context, d time.Duration) error
}

// The defaults of Options.
const (
	DefaultMaxBytes         = 10 << 20
	DefaultTimeout          = 30 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
	DefaultMaxAttempts      = 4
	DefaultRetryBaseDelay   = 500 * time.Millisecond
	DefaultRetryMaxDelay    = 10 * time.Second
	DefaultBreakerThreshold = 5
	DefaultBreakerOpenFor   = 30 * time.Second
	DefaultCacheMaxBytes    = 64 << 20
	DefaultCacheMaxEntries  = 1024
)

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	setDefault(&o.MaxBytes, DefaultMaxBytes)
	setDefault(&o.Timeout, DefaultTimeout)
	setDefault(&o.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&o.MaxAttempts, DefaultMaxAttempts)
	setDefault(&o.RetryBaseDelay, DefaultRetryBaseDelay)
	setDefault(&o.RetryMaxDelay, DefaultRetryMaxDelay)
	setDefault(&o.BreakerThreshold, DefaultBreakerThreshold)
	setDefault(&o.BreakerOpenFor, DefaultBreakerOpenFor)
	setDefault(&o.CacheMaxBytes, DefaultCacheMaxBytes)
	setDefault(&o.CacheMaxEntries, DefaultCacheMaxEntries)
	if o.UserAgent == "" {
		o.UserAgent = "Greenroom"
	}
	if o.Now == nil {
		o.Now = greenroom.SystemClock
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
}

func setDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Result is a read with what is known of where its bytes came from.
type Result struct {
	Data []byte
	// FromCache is set when Data is the cached copy: the source answered
	// 304 Not Modified, or it could not be read (Stale).
	FromCache bool
	// Stale is set when the source could not be read and the cached copy
	// was returned instead; Err says why.
	Stale bool
	// Age is, for cached data, how long ago the source last gave or
	// confirmed it; 0 for fresh data and after a 304.
	Age time.Duration
	// Err is, when Stale, the error the read would have returned.
	Err error
	// ETag and LastModified are the validators of the data, if the source
	// sent any.
	ETag         string
	LastModified string
	// FetchURL is the URL requested, after rewriting.
	FetchURL string
}

// Reader reads http(s) URLs for the catalog. It is safe for concurrent use.
type Reader struct {
	opts    Options
	github  []githubHost
	gitlab  []gitlabHost
	allow   []allowRule
	trusted map[string]bool // hosts of configured integrations
	client  *http.Client
	cache   *cache
	breaker *breaker
	limiter *limiter
	metrics *metrics
	jitter  func() float64 // in [0, 1)
}

// New returns a Reader for the configured integrations (Backstage's
// github.com and gitlab.com defaults are added when missing) and
// backend.reading. Configured integration hosts, and the hosts of their
// base URLs, may be on private addresses, as may URLs that
// backend.reading.allow lists; every other URL must resolve to public
// addresses. It does no I/O.
func New(in config.Integrations, reading config.Reading, opts Options) (*Reader, error) {
	opts.defaults()
	r := &Reader{
		opts:    opts,
		trusted: map[string]bool{},
		cache:   newCache(opts.CacheMaxBytes, opts.CacheMaxEntries),
		breaker: newBreaker(opts.BreakerThreshold, opts.BreakerOpenFor),
		limiter: newLimiter(),
		jitter:  rand.Float64,
	}
	// Backstage's per-host defaults, for configs built in code (Load has
	// applied them already); the caller's slices are not modified.
	in = config.Integrations{GitHub: slices.Clone(in.GitHub), GitLab: slices.Clone(in.GitLab)}
	for i, g := range in.GitHub {
		if g.Host == config.GitHubHost && g.APIBaseURL == "" && g.RawBaseURL == "" {
			in.GitHub[i].APIBaseURL, in.GitHub[i].RawBaseURL = config.GitHubAPIBaseURL, config.GitHubRawBaseURL
		}
	}
	for i, g := range in.GitLab {
		if g.Host == config.GitLabHost && g.APIBaseURL == "" {
			in.GitLab[i].APIBaseURL = config.GitLabAPIBaseURL
		}
		if g.BaseURL == "" {
			in.GitLab[i].BaseURL = "https://" + g.Host
		}
	}
	for i, g := range in.GitHub {
		for _, s := range []string{g.APIBaseURL, g.RawBaseURL} {
			if s != "" && hostOf(s) == "" {
				return nil, fmt.Errorf("urlread: integrations.github[%d]: %q is not an absolute URL", i, s)
			}
		}
		r.trust(g.Host, g.APIBaseURL, g.RawBaseURL)
	}
	for i, g := range in.GitLab {
		if hostOf(g.APIBaseURL) == "" {
			return nil, fmt.Errorf("urlread: integrations.gitlab[%d]: apiBaseUrl %q is not an absolute URL", i, g.APIBaseURL)
		}
		r.trust(g.Host, g.APIBaseURL, g.BaseURL)
	}
	for _, g := range in.WithDefaults().GitHub {
		r.github = append(r.github, githubHost{cfg: g})
	}
	for _, g := range in.WithDefaults().GitLab {
		r.gitlab = append(r.gitlab, newGitLabHost(g))
	}
	allow, err := newAllowRules(reading)
	if err != nil {
		return nil, fmt.Errorf("urlread: %w", err)
	}
	r.allow = allow
	r.client = &http.Client{
		Transport: &router{
			open:    newTransport(opts.ConnectTimeout, false),
			guarded: newTransport(opts.ConnectTimeout, true),
			allowed: r.mayReachPrivate,
		},
		CheckRedirect: checkRedirect,
	}
	r.metrics = newMetrics(opts.Registerer, r)
	return r, nil
}

// trust marks the hosts of a configured integration as allowed to be on
// private addresses, as Backstage reads configured integrations without
// consulting backend.reading.allow. The public GitHub and GitLab hosts
// stay guarded even when configured (with a token, say): they are never
// on a private network.
func (r *Reader) trust(host string, baseURLs ...string) {
	public := map[string]bool{config.GitHubHost: true, "api.github.com": true, "raw.githubusercontent.com": true, config.GitLabHost: true}
	hosts := []string{host}
	for _, s := range baseURLs {
		hosts = append(hosts, hostOf(s))
	}
	for _, h := range hosts {
		if h != "" && !public[h] {
			r.trusted[h] = true
		}
	}
}

// mayReachPrivate reports whether a request for u may connect to a
// non-public address.
func (r *Reader) mayReachPrivate(u *url.URL) bool {
	if r.opts.AllowPrivateAddresses || r.trusted[hostKey(u)] {
		return true
	}
	for _, a := range r.allow {
		if a.match(u) {
			return true
		}
	}
	return false
}

func (r *Reader) now() time.Time { return r.opts.Now() }

// ReadURL returns the bytes at rawURL. GitHub and GitLab file URLs are
// read through their integrations. When the source cannot be read for
// a passing reason (it is down, slow, rate limited or its circuit is
// open) and an earlier read is cached, the cached bytes are returned and a
// warning is logged. Errors are *greenroom.Error: not_found for 404 and
// 410, invalid for a URL that cannot be read as given, forbidden for
// refused credentials or addresses, too_large past MaxBytes, unavailable
// otherwise.
func (r *Reader) ReadURL(ctx context.Context, rawURL string) ([]byte, error) {
	res, err := r.ReadURLWithInfo(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if res.Stale {
		r.opts.Logger.Warn("url read failed; serving the cached copy", "url", rawURL,
			"age", res.Age.Round(time.Second), "err", res.Err)
	}
	return res.Data, nil
}

// ReadURLWithInfo is ReadURL that says where the bytes came from and, for
// a cached copy served because the source could not be read, how old it
// is and why the source failed (Result.Stale, Age, Err). It logs nothing.
func (r *Reader) ReadURLWithInfo(ctx context.Context, rawURL string) (Result, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return Result{}, err
	}
	t, err := r.resolve(u)
	if err != nil {
		return Result{}, err
	}
	cached, hasCached := r.cache.get(rawURL)
	var cond *entry
	if hasCached {
		cond = &cached
	}
	got, f := r.fetch(ctx, t, u, cond)
	now := r.now()
	res := Result{FetchURL: t.url.String()}
	switch {
	case f == nil && got.notModified:
		r.cache.confirm(rawURL, now)
		r.metrics.reads.WithLabelValues(t.provider, "not_modified").Inc()
		res.Data, res.FromCache = append([]byte(nil), cached.data...), true
		res.ETag, res.LastModified = cached.etag, cached.lastModified
		return res, nil
	case f == nil:
		r.cache.put(entry{url: rawURL, data: got.data, etag: got.etag, lastModified: got.lastModified, checked: now})
		r.metrics.reads.WithLabelValues(t.provider, "fetched").Inc()
		res.Data, res.ETag, res.LastModified = append([]byte(nil), got.data...), got.etag, got.lastModified
		return res, nil
	case hasCached && !f.canceled && greenroom.ErrorCode(f.err) == greenroom.CodeUnavailable &&
		(r.opts.MaxStale == 0 || now.Sub(cached.checked) <= r.opts.MaxStale):
		r.metrics.reads.WithLabelValues(t.provider, "stale").Inc()
		res.Data, res.FromCache, res.Stale = append([]byte(nil), cached.data...), true, true
		res.Age, res.Err = now.Sub(cached.checked), f.err
		res.ETag, res.LastModified = cached.etag, cached.lastModified
		return res, nil
	}
	if greenroom.IsNotFound(f.err) {
		r.cache.remove(rawURL)
	}
	r.metrics.reads.WithLabelValues(t.provider, "failed").Inc()
	return Result{}, f.err
}

// fetch runs the attempts of one read: it waits out rate limits it knows
// of (when short), respects the host's circuit breaker, and retries
// transient failures with exponential backoff and jitter.
func (r *Reader) fetch(ctx context.Context, t target, orig *url.URL, cached *entry) (fetched, *failure) {
	host := hostKey(t.url)
	for attempt := 1; ; attempt++ {
		now := r.now()
		if lim, ok := r.limiter.wait(host, now); ok {
			wait := lim.until.Sub(now)
			if wait > r.opts.RetryMaxDelay {
				r.metrics.attempt(t.provider, "rate_limited", 0)
				return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeUnavailable,
					"%s: %s on %s; not asking again before %s (in %s)", r.where(t, orig), lim.reason, host,
					lim.until.UTC().Format(time.RFC3339), wait.Round(time.Second)), outcome: "rate_limited"}
			}
			if err := r.opts.Sleep(ctx, wait); err != nil {
				return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: %w", r.where(t, orig), err), canceled: true}
			}
			now = r.now()
		}
		if ok, failures, until := r.breaker.allow(host, now); !ok {
			r.metrics.attempt(t.provider, "breaker_open", 0)
			msg := fmt.Sprintf("%s: %s failed %d times in a row", r.where(t, orig), host, failures)
			if until.IsZero() {
				msg += "; a probe request is under way"
			} else {
				msg += fmt.Sprintf("; not trying again before %s (in %s)", until.UTC().Format(time.RFC3339), until.Sub(now).Round(time.Second))
			}
			return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s", msg), outcome: "breaker_open"}
		}
		start := time.Now()
		got, f := r.attempt(ctx, t, orig, cached)
		took := time.Since(start)
		if f == nil {
			r.breaker.record(host, false, r.now())
			outcome := "ok"
			if got.notModified {
				outcome = "not_modified"
			}
			r.metrics.attempt(t.provider, outcome, took)
			return got, nil
		}
		r.metrics.attempt(t.provider, f.outcome, took)
		if f.canceled {
			r.breaker.release(host)
			return fetched{}, f
		}
		if r.breaker.record(host, f.hostDown, r.now()) {
			r.metrics.opens.WithLabelValues(t.provider).Inc()
			r.opts.Logger.Info("circuit opened", "host", host, "for", r.opts.BreakerOpenFor, "err", f.err)
		}
		if !f.retry || attempt >= r.opts.MaxAttempts {
			return fetched{}, f
		}
		wait := f.wait
		if wait == 0 {
			wait = r.backoff(attempt)
		}
		if wait > r.opts.RetryMaxDelay {
			return fetched{}, f
		}
		if deadline, ok := ctx.Deadline(); ok && r.now().Add(wait).After(deadline) {
			return fetched{}, f
		}
		r.opts.Logger.Debug("url read retry", "url", displayURL(t.url), "attempt", attempt, "wait", wait, "err", f.err)
		if err := r.opts.Sleep(ctx, wait); err != nil {
			return fetched{}, &failure{err: f.err, outcome: f.outcome, canceled: true}
		}
	}
}

// backoff is the wait after the given failed attempt: RetryBaseDelay
// doubled per attempt, capped at RetryMaxDelay, with "equal jitter" (a
// random half on top of a fixed half) so that readers do not retry in step.
func (r *Reader) backoff(attempt int) time.Duration {
	d := r.opts.RetryBaseDelay
	for i := 1; i < attempt && d < r.opts.RetryMaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.opts.RetryMaxDelay)
	return d/2 + time.Duration(r.jitter()*float64(d/2))
}
