package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// apiVersion is the REST API version the client's shapes follow.
const apiVersion = "2022-11-28"

// Client talks to one GitHub host. It is safe for concurrent use.
type Client struct {
	opts    Options
	http    *http.Client
	log     *slog.Logger
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	apiBase *url.URL
	app     *appAuth
	cache   *etagCache
	limits  *limiter
	gate    *gate
	stats   counters
}

// New returns a client for the host opts describe. It does no I/O; a bad
// option or an unreadable App private key is an error naming the field.
func New(opts Options, deps Deps) (*Client, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "%w", err)
	}
	c := &Client{opts: opts, http: deps.HTTP, log: deps.Logger, now: deps.Now, sleep: deps.Sleep}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
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
	c.apiBase, _ = url.Parse(opts.APIBaseURL) // checked by withDefaults
	c.cache = newETagCache(opts.CacheEntries, opts.CacheBytes)
	c.limits = &limiter{reserve: opts.Reserve, maxWait: opts.MaxWait, now: c.now, sleep: c.sleep}
	c.gate = newGate(opts.MaxConcurrent)
	if opts.App != nil {
		if c.app, err = newAppAuth(c, *opts.App); err != nil {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "github %s: apps[%d]: %w", opts.Host, opts.App.AppID, err)
		}
	}
	return c, nil
}

// Host returns the web host the client serves, e.g. "github.com".
func (c *Client) Host() string { return c.opts.Host }

// Stats returns the counters so far.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

// RateLimit returns the last state GitHub reported for resource
// (ResourceCore, ResourceGraphQL), for the credential (token or
// installation) with the least left; Seen is zero before the first answer.
func (c *Client) RateLimit(resource string) RateLimit { return c.limits.get(resource) }

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

type kind int

const (
	kindREST kind = iota
	kindGraphQL
	kindApp // authenticated with the App's JWT
)

type request struct {
	method string
	url    string // absolute, under the API base
	// owner selects the credentials: that owner's installation token when an
	// App is configured, else the token.
	owner  string
	kind   kind
	accept string
	body   []byte
	// maxBytes bounds the body; 0 means Options.MaxResponseBytes.
	maxBytes int64
}

type response struct {
	status int
	header http.Header
	body   []byte
	// fromCache is true when GitHub answered 304 and body came from the
	// ETag cache.
	fromCache bool
}

// APIError is an answer GitHub gave with an error status.
type APIError struct {
	Method string
	Path   string
	Status int
	// Message and DocumentationURL are GitHub's error body fields.
	Message          string
	DocumentationURL string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("github: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" && e.Message != http.StatusText(e.Status) {
		s += ": " + e.Message
	}
	return s
}

func codeForStatus(status int) greenroom.Code {
	switch {
	case status == http.StatusUnauthorized:
		return greenroom.CodeUnauthorized
	case status == http.StatusForbidden:
		return greenroom.CodeForbidden
	case status == http.StatusNotFound, status == http.StatusGone:
		return greenroom.CodeNotFound
	case status == http.StatusConflict:
		return greenroom.CodeConflict
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return greenroom.CodeInvalid
	case status >= 500, status == http.StatusTooManyRequests:
		return greenroom.CodeUnavailable
	}
	return greenroom.CodeInternal
}

func newAPIError(req request, resp *response) error {
	e := &APIError{Method: req.method, Path: pathOf(req.url), Status: resp.status}
	var body struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.Message, e.DocumentationURL = body.Message, body.DocumentationURL
	}
	return &greenroom.Error{Code: codeForStatus(resp.status), Message: e.Error(), Err: e}
}

func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}

// credential is the Authorization a request carries.
type credential struct {
	header string // "" for anonymous
	// scope keys the ETag cache, so one credential never sees another's
	// cached answers.
	scope        string
	installation int64 // the installation whose token this is, or 0
}

func (c *Client) credentialFor(ctx context.Context, req request) (credential, error) {
	if req.kind == kindApp {
		jwt, err := c.app.jwt()
		if err != nil {
			return credential{}, err
		}
		return credential{header: "Bearer " + jwt, scope: "app"}, nil
	}
	if c.app != nil && req.owner != "" {
		tok, id, ok, err := c.app.installationToken(ctx, req.owner)
		if err != nil {
			return credential{}, err
		}
		if ok {
			return credential{header: "Bearer " + tok, scope: fmt.Sprintf("installation:%d", id), installation: id}, nil
		}
	}
	if c.opts.Token != "" {
		return credential{header: "Bearer " + c.opts.Token.Reveal(), scope: "token"}, nil
	}
	return credential{scope: "anonymous"}, nil
}

// do sends req, waiting for rate limits and retrying as GitHub asks, and
// returns a 2xx answer (or a cached one after a 304). Any other answer is a
// *greenroom.Error wrapping an *APIError or a *RateLimitError.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	if req.method == "" {
		req.method = http.MethodGet
	}
	p := priorityOf(ctx)
	resource := ResourceCore
	if req.kind == kindGraphQL {
		resource = ResourceGraphQL
	}
	var serverErrors, secondary int
	reauthorized := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.stats.retries.Add(1)
		}
		if attempt > c.opts.MaxRetries+1 {
			return nil, greenroom.Errorf(greenroom.CodeUnavailable, "github: %s %s: gave up after %d attempts", req.method, pathOf(req.url), attempt)
		}
		cred, err := c.credentialFor(ctx, req)
		if err != nil {
			return nil, err
		}
		waited, err := c.limits.wait(ctx, cred.scope, resource, p)
		if err != nil {
			return nil, err
		}
		if waited {
			c.stats.waits.Add(1)
		}
		resp, err := c.roundTrip(ctx, req, cred, p)
		if err != nil {
			var permanent *permanentError
			if errors.As(err, &permanent) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("github: %s %s: %w", req.method, pathOf(req.url), err)
			}
			serverErrors++
			if serverErrors > c.opts.MaxRetries {
				return nil, greenroom.Errorf(greenroom.CodeUnavailable, "github: %s %s: %w", req.method, pathOf(req.url), err)
			}
			if err := c.backoff(ctx, req, c.opts.ServerErrorBackoff, serverErrors, err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status == http.StatusOK && req.kind == kindGraphQL {
			if reset, limited := graphQLRateLimited(resp); limited {
				resp.status, resp.header = http.StatusForbidden, resp.header.Clone()
				resp.header.Set("X-RateLimit-Remaining", "0")
				resp.header.Set("X-RateLimit-Reset", fmt.Sprint(reset.Unix()))
			}
		}
		switch {
		case resp.status < 300:
			return resp, nil
		case resp.status == http.StatusUnauthorized && cred.installation != 0 && !reauthorized:
			// The installation token was revoked or expired early: mint anew once.
			c.app.forgetToken(cred.installation)
			reauthorized = true
			continue
		case isPrimaryLimit(resp.status, resp.header):
			rl, ok := parseRateLimit(resp.header, c.now())
			if !ok || !rl.Reset.After(c.now()) {
				// No usable reset: treat as a secondary limit.
				break
			}
			c.limits.exhaust(cred.scope, resource, rl.Reset)
			c.log.Warn("github rate limit exhausted", "host", c.opts.Host, "resource", resource, "reset", rl.Reset, "path", pathOf(req.url))
			continue
		}
		if isSecondaryLimit(resp.status, resp.header, apiMessage(resp.body)) || isPrimaryLimit(resp.status, resp.header) {
			c.stats.secondary.Add(1)
			secondary++
			wait, ok := retryAfter(resp.header, c.now())
			if !ok {
				wait = jittered(c.opts.SecondaryBackoff, secondary-1, c.opts.MaxWait)
			}
			limitErr := &RateLimitError{Resource: resource, Reset: c.now().Add(wait), Secondary: true}
			if secondary > c.opts.MaxRetries {
				return nil, rateLimitErr(limitErr)
			}
			c.log.Warn("github secondary rate limit", "host", c.opts.Host, "path", pathOf(req.url), "wait", wait)
			if err := c.limits.sleepUntil(ctx, limitErr.Reset, limitErr); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status >= 500 {
			serverErrors++
			if serverErrors > c.opts.MaxRetries {
				return nil, newAPIError(req, resp)
			}
			if err := c.backoff(ctx, req, c.opts.ServerErrorBackoff, serverErrors, fmt.Sprint(resp.status)); err != nil {
				return nil, err
			}
			continue
		}
		return nil, newAPIError(req, resp)
	}
}

// backoff sleeps before retry n (1-based) of req after a failure.
func (c *Client) backoff(ctx context.Context, req request, base time.Duration, n int, why string) error {
	d := jittered(base, n-1, c.opts.MaxWait)
	c.log.Warn("github request retry", "host", c.opts.Host, "path", pathOf(req.url), "cause", why, "wait", d)
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("github: %s %s: retry wait: %w", req.method, pathOf(req.url), err)
	}
	return nil
}

// jittered is base·2^n, capped at limit, plus up to a quarter more at
// random so that clients hit by the same failure do not retry in step. It
// never returns less than base: GitHub asks for at least that.
func jittered(base time.Duration, n int, limit time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + rand.N(d/4+1)
}

func apiMessage(body []byte) string {
	var b struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &b) // a body that is not GitHub's error shape has no message
	return b.Message
}

// permanentError is a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// roundTrip sends req once, holding a slot of the gate while it does.
func (c *Client) roundTrip(ctx context.Context, req request, cred credential, p Priority) (*response, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, &permanentError{fmt.Errorf("github: %s %s: %w", req.method, pathOf(req.url), err)}
	}
	accept := req.accept
	if accept == "" {
		accept = "application/vnd.github+json"
	}
	hreq.Header.Set("Accept", accept)
	hreq.Header.Set("User-Agent", c.opts.UserAgent)
	hreq.Header.Set("X-GitHub-Api-Version", apiVersion)
	if cred.header != "" {
		hreq.Header.Set("Authorization", cred.header)
	}
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	var key string
	var hit *cached
	if req.method == http.MethodGet && c.cache != nil {
		key = cred.scope + " " + accept + " " + req.url
		if e, ok := c.cache.get(key); ok {
			hit = e
			hreq.Header.Set("If-None-Match", e.etag)
		}
	}

	if err := c.gate.acquire(ctx, p); err != nil {
		return nil, err
	}
	defer c.gate.release()
	c.stats.requests.Add(1)
	switch req.kind {
	case kindGraphQL:
		c.stats.graphql.Add(1)
	case kindApp:
		c.stats.app.Add(1)
	default:
		c.stats.rest.Add(1)
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	limit := req.maxBytes
	if limit <= 0 {
		limit = c.opts.MaxResponseBytes
	}
	if hresp.StatusCode >= 300 {
		limit = 64 << 10 // error bodies are small JSON; the bound is for content
	}
	data, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, &permanentError{greenroom.Errorf(greenroom.CodeTooLarge, "github: %s %s: answer larger than %d bytes", req.method, pathOf(req.url), limit)}
	}
	if rl, ok := parseRateLimit(hresp.Header, c.now()); ok {
		c.limits.update(cred.scope, rl)
	}
	resp := &response{status: hresp.StatusCode, header: hresp.Header, body: data}
	switch {
	case hresp.StatusCode == http.StatusNotModified && hit != nil:
		c.stats.notModified.Add(1)
		h := hit.header.Clone()
		for k, v := range hresp.Header {
			if strings.HasPrefix(k, "X-Ratelimit-") {
				h[k] = v
			}
		}
		return &response{status: http.StatusOK, header: h, body: hit.body, fromCache: true}, nil
	case hresp.StatusCode == http.StatusNotModified:
		// We sent no If-None-Match, so a 304 is GitHub misbehaving.
		resp.status = http.StatusBadGateway
	case hresp.StatusCode == http.StatusOK && key != "":
		if etag := hresp.Header.Get("ETag"); etag != "" {
			h := http.Header{}
			for _, k := range []string{"Link", "Content-Type"} {
				if v := hresp.Header.Values(k); len(v) > 0 {
					h[k] = v
				}
			}
			c.cache.put(&cached{key: key, etag: etag, header: h, body: data})
		} else if hit != nil {
			c.cache.drop(key)
		}
	case hresp.StatusCode == http.StatusNotFound && hit != nil:
		c.cache.drop(key)
	}
	return resp, nil
}

// restURL joins path (already escaped) and query onto the API base.
func (c *Client) restURL(path string, query url.Values) string {
	s := c.opts.APIBaseURL + path
	if len(query) > 0 {
		s += "?" + query.Encode()
	}
	return s
}

// getJSON GETs one REST resource into out.
func (c *Client) getJSON(ctx context.Context, owner, path string, query url.Values, out any) error {
	req := request{url: c.restURL(path, query), owner: owner}
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("github: GET %s: decode: %w", pathOf(req.url), err)
	}
	return nil
}

// listAll GETs every page of a REST listing (per_page=100, following
// Link rel="next") and decodes each page's array into T.
func listAll[T any](ctx context.Context, c *Client, k kind, owner, path string, query url.Values) ([]T, error) {
	if query == nil {
		query = url.Values{}
	}
	query.Set("per_page", "100")
	next := c.restURL(path, query)
	var out []T
	for page := 0; next != ""; page++ {
		if page >= c.opts.MaxPages {
			return out, greenroom.Errorf(greenroom.CodeTooLarge, "github: GET %s: more than %d pages", path, c.opts.MaxPages)
		}
		resp, err := c.do(ctx, request{url: next, owner: owner, kind: k})
		if err != nil {
			return out, err
		}
		var items []T
		if err := json.Unmarshal(resp.body, &items); err != nil {
			return out, fmt.Errorf("github: GET %s: page %d: decode: %w", pathOf(next), page+1, err)
		}
		out = append(out, items...)
		link, err := c.nextLink(resp.header)
		if err != nil {
			return out, fmt.Errorf("github: GET %s: %w", pathOf(next), err)
		}
		next = link
	}
	return out, nil
}

// nextLink returns the rel="next" URL of a Link header, or "". A link off
// the API host is refused, so credentials never follow it elsewhere.
func (c *Client) nextLink(h http.Header) (string, error) {
	for _, v := range h.Values("Link") {
		for part := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			isNext := false
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.TrimSpace(k) == "rel" && strings.Contains(" "+strings.Trim(val, `"`)+" ", " next ") {
					isNext = true
				}
			}
			if !isNext {
				continue
			}
			raw := target[1 : len(target)-1]
			u, err := url.Parse(raw)
			if err != nil {
				return "", fmt.Errorf("link header: next %q: %w", raw, err)
			}
			if u.Scheme != c.apiBase.Scheme || u.Host != c.apiBase.Host {
				return "", fmt.Errorf("link header: next %q is not on %s", raw, c.apiBase.Host)
			}
			return raw, nil
		}
	}
	return "", nil
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
