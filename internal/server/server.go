package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	Logger *slog.Logger
	// RequestTimeout bounds each handler through its context (default 30s).
	RequestTimeout time.Duration
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after its context ends (default 20s).
	ShutdownTimeout time.Duration
	// MaxBodyBytes caps request bodies (default 10 MiB).
	MaxBodyBytes int64
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	// OnError renders errors raised by the middleware (413, panics);
	// default DefaultErrorWriter.
	OnError ErrorWriter
	// StreamPrefixes are path prefixes exempt from RequestTimeout
	// (long-lived event streams).
	StreamPrefixes []string
	// Middleware are the features' handlers around the routes
	// (authentication, rate limits), outermost first. They run inside the
	// request id, access log, recovery, body limit and timeout, and outside
	// the route capture, so the access log still sees the matched pattern.
	Middleware []func(http.Handler) http.Handler
	// TrustProxy says which peers may forward the client's address
	// (backend.trustProxy); the zero value trusts none.
	TrustProxy TrustProxy
}

// Server is an http.Server with Greenroom's middleware and lifecycle.
type Server struct {
	opts Options
	srv  *http.Server
}

// New wraps routes (normally an *http.ServeMux) in the middleware chain.
func New(routes http.Handler, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 20 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.OnError == nil {
		opts.OnError = DefaultErrorWriter
	}
	m := newHTTPMetrics(opts.Registerer)
	// Outermost first: the id must exist before anything logs; recovery
	// sits inside the access log so a panic is logged with its 500.
	var h http.Handler = captureRoute(routes)
	for i := len(opts.Middleware) - 1; i >= 0; i-- {
		h = opts.Middleware[i](h)
	}
	h = compress(h)
	h = limitBody(opts.MaxBodyBytes, opts.OnError, h)
	h = recoverPanics(opts.Logger, opts.OnError, h)
	h = entry(opts, m, h) // id, client address, deadline, access log
	s := &Server{opts: opts}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the full middleware chain, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Serve accepts connections on ln until ctx ends, then stops accepting,
// waits up to ShutdownTimeout for in-flight requests and returns. A clean
// shutdown returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("server: serve: %w", serr)
	}
	if err != nil {
		// Deadline passed with requests still running: cut them off.
		_ = s.srv.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
