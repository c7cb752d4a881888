package opensearch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"

	"greenroom/internal/greenroom"
	"greenroom/internal/search"
)

// maxResponseBytes bounds one answer.
const maxResponseBytes = 64 << 20

// Signer signs a request (AWS SigV4 for provider aws); bodyHash is the
// hex SHA-256 of the body.
type Signer interface {
	Sign(ctx context.Context, req *http.Request, bodyHash string) error
}

// Client sends requests to the cluster: authenticated, each attempt
// bounded by a timeout, 429/5xx answers and transport errors retried with
// exponential backoff and jitter, behind a circuit breaker that fails fast
// while the cluster keeps failing, nodes tried in turn.
type Client struct {
	opts    Options
	http    *http.Client
	breaker *gobreaker.CircuitBreaker[[]byte]
	next    atomic.Uint32 // round-robin over nodes
	log     *slog.Logger
	// sleep waits between retries (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) error
}

// StatusError is an answer with an HTTP error status.
type StatusError struct {
	Method, Path string
	Status       int
	Type         string // the error type OpenSearch names (index_not_found_exception…)
	Reason       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("opensearch: %s %s: HTTP %d %s: %s", e.Method, e.Path, e.Status, e.Type, e.Reason)
}

// NotFound reports an answer saying the index or alias does not exist.
func (e *StatusError) NotFound() bool { return e.Status == http.StatusNotFound }

func (e *StatusError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// NewClient checks opts (no I/O) and returns a client.
func NewClient(opts Options) (*Client, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	hc := opts.HTTP
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		if opts.InsecureSkipVerify {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // clientOptions.ssl.rejectUnauthorized: false, the operator's choice
		}
		hc = &http.Client{Transport: tr}
	}
	c := &Client{opts: opts, http: hc, log: opts.Logger, sleep: sleepContext}
	c.breaker = gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{
		Name:    "opensearch",
		Timeout: opts.BreakerTimeout,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.ConsecutiveFailures >= opts.BreakerFailures
		},
		// Only unavailability trips the breaker: a 400 or a 404 says the
		// cluster is answering.
		IsSuccessful: func(err error) bool { return err == nil || !unavailable(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			c.log.Warn("opensearch circuit breaker", "from", from.String(), "to", to.String())
		},
	})
	return c, nil
}

// transient marks an error of a cluster that is down or overloaded (after
// the retries, or with the circuit open) as search.ErrTransient.
type transient struct{ err error }

func (t transient) Error() string   { return t.err.Error() }
func (t transient) Unwrap() []error { return []error{t.err, search.ErrTransient} }

func unavailable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.retryable()
	}
	return !errors.Is(err, context.Canceled)
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

// Do sends one request (body: nil, []byte as is, or a value as JSON) with
// retries and returns the answer body.
func (c *Client) Do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("opensearch: %s %s: encode: %w", method, path, err)
		}
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.opts.InitialBackoff, c.opts.MaxBackoff
	bo.Reset()
	for attempt := 0; ; attempt++ {
		out, err := c.breaker.Execute(func() ([]byte, error) { return c.once(ctx, method, path, raw) })
		if err == nil {
			return out, nil
		}
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return nil, transient{greenroom.Errorf(greenroom.CodeUnavailable, "opensearch: %s %s: the cluster keeps failing; not trying for a while: %v", method, path, err)}
		}
		if ctx.Err() != nil || !unavailable(err) {
			return nil, err
		}
		if attempt >= c.opts.MaxRetries {
			return nil, transient{err}
		}
		wait := bo.NextBackOff()
		c.log.Warn("opensearch request retried", "method", method, "path", path, "attempt", attempt+1, "wait", wait, "err", err)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	node := c.opts.Nodes[int(c.next.Add(1))%len(c.opts.Nodes)]
	if rest, ok := strings.CutPrefix(path, "/.."); ok {
		// A path beside the node's base path (ZincSearch's /api next to
		// its /es).
		if i := strings.LastIndexByte(node, '/'); i > len("https://") {
			node = node[:i]
		}
		path = rest
	}
	req, err := http.NewRequestWithContext(ctx, method, node+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("opensearch: %s %s: %w", method, path, err)
	}
	if body != nil {
		ct := "application/json"
		if strings.HasSuffix(strings.SplitN(path, "?", 2)[0], "/_bulk") {
			ct = "application/x-ndjson"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case c.opts.Signer != nil:
		sum := sha256.Sum256(body)
		if err := c.opts.Signer.Sign(ctx, req, hex.EncodeToString(sum[:])); err != nil {
			return nil, fmt.Errorf("opensearch: sign request: %w", err)
		}
	case c.opts.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+c.opts.APIKey.Reveal())
	case c.opts.Username != "":
		req.SetBasicAuth(c.opts.Username, c.opts.Password.Reveal())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("opensearch: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("opensearch: %s %s: read answer: %w", method, path, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("opensearch: %s %s: answer over %d bytes", method, path, maxResponseBytes)
	}
	if resp.StatusCode >= 300 {
		return nil, statusError(method, path, resp.StatusCode, data)
	}
	return data, nil
}

// statusError reads OpenSearch's error body ({"error":{"type","reason"}},
// or a string as older servers and ZincSearch send).
func statusError(method, path string, status int, data []byte) *StatusError {
	e := &StatusError{Method: method, Path: path, Status: status}
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && len(body.Error) > 0 {
		var obj struct{ Type, Reason string }
		if json.Unmarshal(body.Error, &obj) == nil && (obj.Type != "" || obj.Reason != "") {
			e.Type, e.Reason = obj.Type, obj.Reason
		} else {
			var s string
			_ = json.Unmarshal(body.Error, &s)
			e.Reason = s
		}
	}
	if e.Reason == "" {
		e.Reason = strings.TrimSpace(string(data[:min(len(data), 300)]))
	}
	return e
}

// cloudURL decodes an Elastic Cloud id (name:base64(host$es$kibana)) into
// the Elasticsearch URL.
func cloudURL(id string) (string, error) {
	_, enc, ok := strings.Cut(id, ":")
	if !ok {
		enc = id
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(enc); err != nil {
			return "", errors.New("opensearch: cloudId is not an Elastic Cloud id (name:base64)")
		}
	}
	parts := strings.Split(string(raw), "$")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return "", errors.New("opensearch: cloudId does not name a host and an Elasticsearch id")
	}
	host, port, _ := strings.Cut(parts[0], ":")
	u := "https://" + parts[1] + "." + host
	if port != "" && port != "443" {
		u += ":" + port
	}
	return u, nil
}
