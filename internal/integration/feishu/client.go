// Package feishu is a typed client for the Feishu (Lark) Open API endpoints
// the document migration reads: tenant access tokens, Drive folder
// listings, docx documents and blocks, media downloads, user names and
// permission members. It retries rate limits (HTTP 429, Feishu code
// 99991400 and the other frequency-limit codes) with backoff, fails fast
// behind a circuit breaker when Feishu keeps failing, and follows
// has_more/page_token to the end of every listing.
//
// It must not hold migration rules: it implements feishu.Source for the
// domain package and nothing more.
package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// DefaultBaseURL is the Open API host of Feishu (Lark's is
// https://open.larksuite.com).
const DefaultBaseURL = "https://open.feishu.cn"

// Options configure a Client. Zero values take the defaults named.
type Options struct {
	// BaseURL is the Open API base, without /open-apis. Default
	// DefaultBaseURL.
	BaseURL   string
	AppID     string
	AppSecret config.Secret
	// Timeout bounds one HTTP request. Default 30 s.
	Timeout time.Duration
	// MaxRetries bounds retries of one request after rate limits, 5xx
	// answers and transport errors. Default 5.
	MaxRetries int
	// InitialBackoff is the first wait before a retry; it grows
	// exponentially with jitter up to MaxBackoff. Defaults 500 ms and 30 s.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// PageSize of block listings (1–500). Default 500.
	PageSize int
	// MaxPages bounds the pages one listing follows. Default 10000.
	MaxPages int
	// MaxResponseBytes bounds a JSON answer, MaxMediaBytes a media
	// download. Defaults 64 MiB and 20 MiB.
	MaxResponseBytes int64
	MaxMediaBytes    int64
	// BreakerFailures consecutive failures open the circuit breaker for
	// BreakerTimeout. Defaults 5 and 30 s.
	BreakerFailures uint32
	BreakerTimeout  time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("feishu: baseUrl %q: want an absolute http(s) URL", o.BaseURL)
	}
	if o.AppID == "" || o.AppSecret == "" {
		return o, errors.New("feishu: an app id and an app secret are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 30*time.Second)
	def(&o.InitialBackoff, 500*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.BreakerTimeout, 30*time.Second)
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	if o.PageSize <= 0 || o.PageSize > 500 {
		o.PageSize = 500
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 10000
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.MaxMediaBytes <= 0 {
		o.MaxMediaBytes = 20 << 20
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 5
	}
	return o, nil
}

// Deps are the client's collaborators; nil fields take defaults.
type Deps struct {
	HTTP   *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	// Sleep waits for d or until ctx ends; tests inject a fast one.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one Feishu tenant as one app. It is safe for concurrent
// use.
type Client struct {
	opts    Options
	http    *http.Client
	log     *slog.Logger
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	breaker *gobreaker.CircuitBreaker[*http.Response]

	mu          sync.Mutex
	token       string
	tokenExpiry time.Time

	statsMu sync.Mutex
	stats   Stats
}

// Stats count what the client did.
type Stats struct {
	Requests   int // HTTP requests sent
	Retries    int // of which retries
	RateLimits int // answers that were rate limits
	Tokens     int // tenant access tokens fetched
}

// New returns a client; it does no I/O.
func New(opts Options, deps Deps) (*Client, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "%w", err)
	}
	c := &Client{opts: opts, http: deps.HTTP, log: deps.Logger, now: deps.Now, sleep: deps.Sleep}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	c.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:    "feishu " + opts.BaseURL,
		Timeout: opts.BreakerTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= opts.BreakerFailures
		},
		// Only 5xx answers, timeouts and transport errors trip the
		// breaker: a 403, a 404 or a rate limit says Feishu is answering.
		IsSuccessful: func(err error) bool { return err == nil || !isUnavailable(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			c.log.Warn("feishu circuit breaker", "from", from.String(), "to", to.String())
		},
	})
	return c, nil
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

func (c *Client) count(f func(*Stats)) {
	c.statsMu.Lock()
	f(&c.stats)
	c.statsMu.Unlock()
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// APIError is an answer with a non-zero Feishu code or an HTTP error.
type APIError struct {
	Op     string // e.g. "docx blocks"
	Status int    // HTTP status
	Code   int    // Feishu code, 0 when the body had none
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("feishu: %s: HTTP %d, code %d: %s", e.Op, e.Status, e.Code, e.Msg)
}

// Rate-limit codes: 99991400 is the gateway's "request trigger frequency
// limit"; 1254290 and 1061045 are the frequency limits of the bitable and
// drive services.
var rateLimitCodes = map[int]bool{99991400: true, 1254290: true, 1061045: true}

// Token codes: the tenant access token is invalid or expired; fetch a new
// one and try again once.
var tokenCodes = map[int]bool{99991661: true, 99991663: true, 99991668: true, 99991664: true}

// Permission codes: the app may not read the document or folder.
var forbiddenCodes = map[int]bool{1770032: true, 1061004: true, 1063002: true, 91204: true, 99991672: true, 99991679: true}

// Not-found codes.
var notFoundCodes = map[int]bool{1770002: true, 1061007: true, 1063005: true, 1061003: true}

func (e *APIError) rateLimited() bool {
	return e.Status == http.StatusTooManyRequests || rateLimitCodes[e.Code]
}

// greenroomCode classifies the error for the domain.
func (e *APIError) greenroomCode() greenroom.Code {
	switch {
	case forbiddenCodes[e.Code] || e.Status == http.StatusForbidden:
		return greenroom.CodeForbidden
	case notFoundCodes[e.Code] || e.Status == http.StatusNotFound:
		return greenroom.CodeNotFound
	case tokenCodes[e.Code] || e.Status == http.StatusUnauthorized:
		return greenroom.CodeUnauthorized
	case e.rateLimited() || e.Status >= 500:
		return greenroom.CodeUnavailable
	case e.Status == http.StatusBadRequest:
		return greenroom.CodeInvalid
	}
	return greenroom.CodeInternal
}

func isUnavailable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.rateLimited() || ae.Status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errAttemptTimeout)
}

var errAttemptTimeout = errors.New("request timed out")

// wrap turns err into a greenroom.Error with the code the domain acts on.
func wrap(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return &greenroom.Error{Code: ae.greenroomCode(), Message: fmt.Sprintf("Feishu %s: %s (code %d)", ae.Op, ae.Msg, ae.Code), Err: err}
	}
	var ge *greenroom.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "Feishu is failing; requests are paused for a while", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "Feishu could not be reached", Err: err}
}

// envelope is every Open API answer.
type envelope struct {
	Code int             `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// request is one API call.
type request struct {
	op     string
	method string
	path   string // under /open-apis
	query  url.Values
	body   any
	auth   bool
}

// do sends r (with retries) and returns the raw answer body of a
// successful call; the caller closes nothing.
func (c *Client) do(ctx context.Context, r request) ([]byte, http.Header, error) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.opts.InitialBackoff, c.opts.MaxBackoff
	bo.Reset()
	refreshed := false
	for attempt := 0; ; attempt++ {
		body, hdr, err := c.once(ctx, r)
		if err == nil {
			return body, hdr, nil
		}
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if isAPI && r.auth && !refreshed && ae.greenroomCode() == greenroom.CodeUnauthorized {
			// The cached token went stale before its announced expiry.
			refreshed = true
			c.dropToken()
			continue
		}
		var ge *greenroom.Error
		transport := !isAPI && !errors.As(err, &ge) && ctx.Err() == nil &&
			!errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests)
		retryable := (isAPI && (ae.rateLimited() || ae.Status >= 500)) || transport
		if !retryable || attempt >= c.opts.MaxRetries {
			return nil, nil, wrap(err)
		}
		wait := bo.NextBackOff()
		if isAPI && ae.rateLimited() {
			c.count(func(s *Stats) { s.RateLimits++ })
			if d := resetAfter(hdr); d > 0 {
				wait = min(d, c.opts.MaxBackoff)
			}
		}
		c.count(func(s *Stats) { s.Retries++ })
		c.log.Warn("feishu request retried", "op", r.op, "attempt", attempt+1, "wait", wait, "err", err)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, err
		}
	}
}

// resetAfter reads how long the gateway asks us to wait: Feishu sends
// x-ogw-ratelimit-reset (seconds); Retry-After is honoured too.
func resetAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	for _, k := range []string{"X-Ogw-Ratelimit-Reset", "Retry-After"} {
		if v := h.Get(k); v != "" {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

func (c *Client) once(ctx context.Context, r request) ([]byte, http.Header, error) {
	u := c.opts.BaseURL + "/open-apis/" + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, nil, err
		}
		body = bytes.NewReader(b)
	}
	actx, cancel := context.WithTimeoutCause(ctx, c.opts.Timeout, errAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return nil, nil, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if r.auth {
		tok, err := c.tenantToken(ctx)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c.count(func(s *Stats) { s.Requests++ })
	resp, err := c.breaker.Execute(func() (*http.Response, error) {
		resp, err := c.http.Do(req)
		if err != nil {
			if context.Cause(actx) == errAttemptTimeout && ctx.Err() == nil {
				return nil, fmt.Errorf("feishu: %s: %w", r.op, errAttemptTimeout)
			}
			return nil, err
		}
		if resp.StatusCode >= 500 {
			// Counted as failures by the breaker; the body is read below.
			// Rate limits are not: backoff handles them, and an open
			// breaker would fail documents that only had to wait.
			return resp, &APIError{Op: r.op, Status: resp.StatusCode}
		}
		return resp, nil
	})
	if resp == nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	limit := c.opts.MaxResponseBytes
	if r.op == "media download" {
		limit = c.opts.MaxMediaBytes
	}
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if rerr != nil {
		return nil, resp.Header, rerr
	}
	if int64(len(data)) > limit {
		return nil, resp.Header, &greenroom.Error{Code: greenroom.CodeTooLarge,
			Message: fmt.Sprintf("Feishu %s: answer larger than %d bytes", r.op, limit)}
	}
	isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	media := r.op == "media download"
	if !media || isJSON || resp.StatusCode >= 300 {
		// Every answer but a media body is an envelope; an error on a
		// download is one too.
		var env envelope
		jerr := json.Unmarshal(data, &env)
		if resp.StatusCode >= 300 || jerr != nil || env.Code != 0 {
			ae := &APIError{Op: r.op, Status: resp.StatusCode, Code: env.Code, Msg: env.Msg}
			if jerr != nil && ae.Msg == "" && resp.StatusCode < 300 {
				ae.Msg = "answer is not a JSON envelope"
			}
			if ae.Msg == "" {
				ae.Msg = http.StatusText(resp.StatusCode)
			}
			return nil, resp.Header, ae
		}
	}
	return data, resp.Header, nil
}

// call sends r and decodes the envelope's data into out.
func (c *Client) call(ctx context.Context, r request, out any) error {
	body, _, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return wrap(&APIError{Op: r.op, Status: 200, Msg: "answer is not a JSON envelope: " + err.Error()})
	}
	if out == nil || len(env.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return wrap(&APIError{Op: r.op, Status: 200, Msg: "unexpected data: " + err.Error()})
	}
	return nil
}

// tenantToken returns a cached tenant_access_token, fetching a new one
// when it is missing or about to expire.
func (c *Client) tenantToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.tokenExpiry) {
		return c.token, nil
	}
	body, _, err := c.do(ctx, request{op: "tenant access token", method: http.MethodPost,
		path: "auth/v3/tenant_access_token/internal",
		body: map[string]string{"app_id": c.opts.AppID, "app_secret": c.opts.AppSecret.Reveal()}})
	if err != nil {
		return "", err
	}
	var tok struct {
		Code   int    `json:"code"`
		Msg    string `json:"msg"`
		Token  string `json:"tenant_access_token"`
		Expire int64  `json:"expire"` // seconds
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
		return "", wrap(&APIError{Op: "tenant access token", Status: 200, Code: tok.Code, Msg: "no token in the answer"})
	}
	c.count(func(s *Stats) { s.Tokens++ })
	// Renew five minutes early (Feishu hands out a new token in the last
	// 30 minutes), and never cache a token for less than a second.
	ttl := time.Duration(tok.Expire)*time.Second - 5*time.Minute
	if ttl < time.Second {
		ttl = time.Duration(tok.Expire) * time.Second / 2
	}
	c.token, c.tokenExpiry = tok.Token, c.now().Add(ttl)
	return c.token, nil
}

func (c *Client) dropToken() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}

// Check fetches a tenant access token: it proves the app id and secret.
func (c *Client) Check(ctx context.Context) error {
	c.dropToken()
	_, err := c.tenantToken(ctx)
	return err
}
