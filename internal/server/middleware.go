package server

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"greenroom/internal/greenroom"
)

// ErrorWriter writes an error response; the transports supply one that
// renders their own body shape.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recordKey holds the request's *accessRecord in its context.
type recordKey struct{}

// captureRoute must wrap the ServeMux directly: the mux records the matched
// pattern on the request value it was handed, which is not the one entry
// holds, so it is carried back out through the access record.
func captureRoute(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if rec, ok := r.Context().Value(recordKey{}).(*accessRecord); ok {
			rec.pattern = r.Pattern
		}
	})
}

// accessRecord is what entry keeps of one request.
type accessRecord struct {
	statusWriter
	// pattern is the ServeMux pattern that matched, "" for none.
	pattern string
	// peer is the connection's own peer address when RemoteAddr was
	// replaced by a forwarded client address (Peer), else "".
	peer string
}

// entry is the outermost middleware. It gives the request its id (from a
// valid X-Request-Id or a new one), its client address when a trusted proxy
// forwarded it (trustProxy), its deadline (RequestTimeout, except under
// StreamPrefixes), and after next returns logs one line and observes the
// latency histogram by route pattern (never by raw path, which would
// explode label cardinality).
//
// It hands next one copy of the request carrying all of that: each step
// copying the request with its own r.WithContext, as separate middleware
// do, cost a sixth of the bytes a cached catalog read allocated.
func entry(opts Options, m *httpMetrics, next http.Handler) http.Handler {
	logger := opts.Logger
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		rec := &accessRecord{statusWriter: statusWriter{ResponseWriter: w}} // one allocation for all three
		base := context.WithValue(greenroom.WithRequestID(r.Context(), id), recordKey{}, rec)
		remote := r.RemoteAddr
		if opts.TrustProxy.enabled() {
			if client, forwarded := opts.TrustProxy.ClientAddr(r); forwarded {
				rec.peer = r.RemoteAddr
				remote = net.JoinHostPort(client.String(), "0")
			}
		}
		ctx := base
		if !hasAnyPrefix(r.URL.Path, opts.StreamPrefixes) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(base, opts.RequestTimeout)
			defer cancel()
		}
		r = r.WithContext(ctx)
		r.RemoteAddr = remote
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		sw := &rec.statusWriter
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := rec.pattern
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		m.observer(r.Method, route, status).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if !logger.Enabled(base, level) {
			return
		}
		attrs := [...]slog.Attr{
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", sw.size),
			slog.Duration("duration", elapsed),
			slog.String("remote", r.RemoteAddr),
			{},
		}
		n := len(attrs) - 1
		if rec.peer != "" {
			attrs[n] = slog.String("peer", rec.peer)
			n++
		}
		// The record as logger.LogAttrs makes it, without the caller's
		// program counter, which costs a stack walk per request and is
		// only printed with AddSource, which Greenroom's handlers do not
		// set (and which would name this function anyway). The context
		// is the one without the deadline, which may have passed.
		line := slog.NewRecord(time.Now(), level, "http request", 0)
		line.AddAttrs(attrs[:n]...)
		_ = logger.Handler().Handle(base, line) // as LogAttrs: a handler's error is dropped
	})
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// recoverPanics turns a handler panic into a 500 and one log line with the
// stack; http.ErrAbortHandler is re-raised as net/http expects.
func recoverPanics(logger *slog.Logger, onError ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.Error("handler panic", "request_id", greenroom.RequestID(r.Context()),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			onError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; reading past the cap fails with
// *http.MaxBytesError, which transports map to 413. A declared length over the
// cap is refused before the handler runs.
func limitBody(max int64, onError ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			onError(w, r, greenroom.Errorf(greenroom.CodeTooLarge,
				"request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, max))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // valid level: never fails
	return zw
}}

// gzipWriter compresses lazily: small or already-encoded responses pass
// through untouched.
type gzipWriter struct {
	http.ResponseWriter
	zw      *gzip.Writer
	decided bool
	status  int
}

const gzipMinSize = 1024

func (g *gzipWriter) WriteHeader(code int) {
	if g.status == 0 {
		g.status = code
	}
	// Defer the real header until the first Write, so the encoding can
	// still be chosen; bodiless responses are flushed in finish.
}

func (g *gzipWriter) decide(first []byte) {
	g.decided = true
	h := g.Header()
	status := g.status
	if status == 0 {
		status = http.StatusOK
	}
	if h.Get("Content-Encoding") == "" && len(first) >= gzipMinSize && status != http.StatusNoContent &&
		status != http.StatusNotModified && compressible(h.Get("Content-Type"), first) {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		h.Add("Vary", "Accept-Encoding")
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(g.ResponseWriter)
		g.zw = zw
	}
	g.ResponseWriter.WriteHeader(status)
}

func compressible(ct string, body []byte) bool {
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	ct = strings.ToLower(ct)
	for _, p := range []string{"text/", "application/json", "application/javascript", "application/xml",
		"image/svg+xml", "application/yaml", "application/openmetrics-text", "application/problem+json"} {
		if strings.HasPrefix(ct, p) {
			return true
		}
	}
	return false
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.decide(b)
	}
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

// Flush sends buffered compressed bytes, for streaming handlers.
func (g *gzipWriter) Flush() {
	if !g.decided {
		g.decide(nil)
	}
	if g.zw != nil {
		_ = g.zw.Flush()
	}
	_ = http.NewResponseController(g.ResponseWriter).Flush()
}

// Hijack hands the raw connection to a WebSocket upgrader.
func (g *gzipWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	g.decided = true
	return http.NewResponseController(g.ResponseWriter).Hijack()
}

func (g *gzipWriter) finish() {
	if !g.decided {
		g.decide(nil)
	}
	if g.zw != nil {
		_ = g.zw.Close()
		gzipPool.Put(g.zw)
		g.zw = nil
	}
}

func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) || r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		g := &gzipWriter{ResponseWriter: w}
		defer g.finish()
		next.ServeHTTP(g, r)
	})
}

func acceptsGzip(h string) bool {
	if h == "" {
		return false // most API clients (and the bench's) send none
	}
	for _, part := range strings.Split(h, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		enc = strings.TrimSpace(enc)
		if !strings.EqualFold(enc, "gzip") && enc != "*" {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// DefaultErrorWriter writes the error's safe message as plain text; the
// transports install writers with their own body shapes.
func DefaultErrorWriter(w http.ResponseWriter, r *http.Request, err error) {
	status := greenroom.HTTPStatus(err)
	msg := greenroom.ErrorMessage(err)
	if status >= 500 {
		msg = "internal error (request id " + greenroom.RequestID(r.Context()) + ")"
	}
	http.Error(w, msg, status)
}
