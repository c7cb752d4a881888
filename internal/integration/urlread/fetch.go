package urlread

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"greenroom/internal/greenroom"
)

// maxErrorBody bounds what is read of an error response for its message.
const maxErrorBody = 4 << 10

// fetched is a successful attempt.
type fetched struct {
	data         []byte
	etag         string
	lastModified string
	notModified  bool // 304: the cached bytes are current
}

// failure is a failed attempt, with what the retry loop needs to know.
type failure struct {
	err      error  // a *greenroom.Error for the user
	outcome  string // metric label
	retry    bool   // another attempt may succeed
	hostDown bool   // counts against the host's circuit breaker
	// wait is how long the source asked Greenroom to wait (Retry-After or a
	// rate limit reset); 0 when it named no time.
	wait time.Duration
	// canceled is set when the caller's context ended: nothing is wrong
	// with the source.
	canceled bool
}

// attempt sends one request for t. cached, when not nil, makes it
// conditional.
func (r *Reader) attempt(ctx context.Context, t target, orig *url.URL, cached *entry) (fetched, *failure) {
	actx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeInvalid, "%s: %w", r.where(t, orig), err), outcome: "client_error"}
	}
	for k, v := range t.header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("User-Agent", r.opts.UserAgent)
	if cached != nil {
		if cached.etag != "" {
			req.Header.Set("If-None-Match", cached.etag)
		}
		if cached.lastModified != "" {
			req.Header.Set("If-Modified-Since", cached.lastModified)
		}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fetched{}, r.transportFailure(ctx, t, orig, err)
	}
	defer resp.Body.Close()
	return r.response(ctx, t, orig, resp, cached != nil)
}

// where names a read in messages: the URL asked for and, when it was
// rewritten, the URL requested.
func (r *Reader) where(t target, orig *url.URL) string {
	s := "urlread: " + displayURL(orig)
	if f := displayURL(t.url); f != displayURL(orig) {
		s += " (read as " + f + ")"
	}
	return s
}

// response turns an HTTP answer into bytes or a failure.
func (r *Reader) response(ctx context.Context, t target, orig *url.URL, resp *http.Response, conditional bool) (fetched, *failure) {
	where := r.where(t, orig)
	code := resp.StatusCode
	switch {
	case code == http.StatusNotModified && conditional:
		return fetched{notModified: true}, nil
	case code >= 200 && code < 300:
		data, f := r.readBody(ctx, t, orig, resp)
		if f != nil {
			return fetched{}, f
		}
		return fetched{data: data, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
	}
	detail := upstreamMessage(resp)
	status := strconv.Itoa(code)
	if detail != "" {
		status += " " + strconv.Quote(detail)
	}
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		msg := fmt.Sprintf("%s: not found (%s)", where, status)
		switch {
		case t.integration != "" && t.hasToken:
			msg += fmt.Sprintf("; check the URL, and that the integrations.%s token for %s can read the repository", t.provider, t.integration)
		case t.integration != "":
			msg += fmt.Sprintf("; check the URL (a private repository answers 404 without a token: set one under integrations.%s for %s)", t.provider, t.integration)
		}
		return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeNotFound, "%s", msg), outcome: "not_found"}
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if f := r.rateLimited(t, where, resp, detail); f != nil {
			return fetched{}, f
		}
		if code == http.StatusTooManyRequests {
			return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: too many requests (%s)", where, status),
				outcome: "rate_limited", retry: true}
		}
		return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeForbidden, "%s: access denied (%s)%s", where, status, r.credentialHint(t)),
			outcome: "client_error"}
	case code == http.StatusUnauthorized:
		return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeForbidden, "%s: the credentials were refused (%s)%s", where, status, r.credentialHint(t)),
			outcome: "client_error"}
	case code == http.StatusRequestTimeout || code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported:
		f := &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: the server failed (%s)", where, status),
			outcome: "server_error", retry: true, hostDown: true}
		if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), r.now()); ok {
			f.wait = wait
			r.limiter.set(hostKey(t.url), r.now().Add(wait), "the server asked to retry later")
		}
		return fetched{}, f
	case code >= 400 && code < 500:
		return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeInvalid, "%s: the server rejected the request (%s)", where, status),
			outcome: "client_error"}
	}
	return fetched{}, &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: unexpected answer (%s)", where, status),
		outcome: "server_error"}
}

// credentialHint says which token to check, for integrations.
func (r *Reader) credentialHint(t target) string {
	switch {
	case t.integration == "":
		return ""
	case t.hasToken:
		return fmt.Sprintf("; check the integrations.%s token for %s and what it may read", t.provider, t.integration)
	default:
		return fmt.Sprintf("; set a token under integrations.%s for %s", t.provider, t.integration)
	}
}

// rateLimited recognises the rate limit answers of GitHub (403 or 429 with
// x-ratelimit-remaining: 0 and x-ratelimit-reset, or a secondary limit with
// Retry-After or without any header) and GitLab (429 with Retry-After or
// RateLimit-Reset). It remembers the host's limit, so nothing is sent there
// before it resets, and returns nil for other 403 and 429 answers.
func (r *Reader) rateLimited(t target, where string, resp *http.Response, detail string) *failure {
	now := r.now()
	h := resp.Header
	var until time.Time
	reason := "rate limit reached"
	if h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0" {
		reason = "rate limit exhausted"
		until = now.Add(time.Minute)
		for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
			if s, err := strconv.ParseInt(strings.TrimSpace(h.Get(k)), 10, 64); err == nil && s > 0 {
				until = time.Unix(s, 0)
				break
			}
		}
	}
	if wait, ok := parseRetryAfter(h.Get("Retry-After"), now); ok && now.Add(wait).After(until) {
		until = now.Add(wait)
	}
	if until.IsZero() && resp.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(detail), "rate limit") {
		// GitHub's secondary limits without Retry-After: GitHub asks for
		// at least a minute.
		reason, until = "secondary rate limit reached", now.Add(time.Minute)
	}
	if until.IsZero() {
		return nil
	}
	if !until.After(now) {
		until = now.Add(time.Second)
	}
	host := hostKey(t.url)
	r.limiter.set(host, until, reason)
	wait := until.Sub(now)
	msg := fmt.Sprintf("%s: %s on %s; it resets at %s (in %s)", where, reason, host,
		until.UTC().Format(time.RFC3339), wait.Round(time.Second))
	if t.provider != providerURL && !t.hasToken {
		msg += fmt.Sprintf("; a token under integrations.%s for %s raises the limit", t.provider, t.integration)
	}
	return &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s", msg), outcome: "rate_limited", retry: true, wait: wait}
}

// readBody reads a successful body within the size limit.
func (r *Reader) readBody(ctx context.Context, t target, orig *url.URL, resp *http.Response) ([]byte, *failure) {
	limit := r.opts.MaxBytes
	tooLarge := func() *failure {
		return &failure{err: greenroom.Errorf(greenroom.CodeTooLarge, "%s: larger than the limit of %s", r.where(t, orig), formatBytes(limit)),
			outcome: "too_large"}
	}
	if resp.ContentLength > limit {
		return nil, tooLarge()
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, r.transportFailure(ctx, t, orig, err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge()
	}
	return data, nil
}

// transportFailure classifies an error from the client or from reading
// the body.
func (r *Reader) transportFailure(ctx context.Context, t target, orig *url.URL, err error) *failure {
	where := r.where(t, orig)
	hop := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.URL != t.url.String() {
			if u, perr := url.Parse(ue.URL); perr == nil {
				hop = " (after a redirect to " + displayURL(u) + ")"
			}
		}
		err = ue.Err
	}
	var be *blockedError
	var re *redirectError
	var ne net.Error
	switch {
	case errors.As(err, &be):
		return &failure{err: greenroom.Errorf(greenroom.CodeForbidden,
			"%s: %s%s; to read it, allow its host under backend.reading.allow", where, be.Error(), hop), outcome: "blocked"}
	case errors.As(err, &re):
		return &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: %s", where, re.msg), outcome: "client_error"}
	case ctx.Err() != nil:
		return &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: %w", where, context.Cause(ctx)), outcome: "canceled", canceled: true}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: no answer within %s%s", where, r.opts.Timeout, hop),
			outcome: "timeout", retry: true, hostDown: true}
	}
	return &failure{err: greenroom.Errorf(greenroom.CodeUnavailable, "%s: cannot read%s: %w", where, hop, err),
		outcome: "network", retry: true, hostDown: true}
}

// upstreamMessage returns a short, printable message from an error body:
// the "message" of a JSON body (GitHub and GitLab both use that key), else
// the first line of a text body.
func upstreamMessage(resp *http.Response) string {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var j struct {
		Message any `json:"message"`
		Error   any `json:"error"`
	}
	s := ""
	if json.Unmarshal(body, &j) == nil {
		switch m := j.Message.(type) {
		case string:
			s = m
		case nil:
			if e, ok := j.Error.(string); ok {
				s = e
			}
		default:
			b, _ := json.Marshal(m)
			s = string(b)
		}
	} else if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		s, _, _ = strings.Cut(string(body), "\n")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > 365*24*3600 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// formatBytes renders a size for messages: "10 MiB", "512 KiB", "100 bytes".
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
