package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// envPprof names a loopback address (host:port) on which serve exposes Go's
// profiling endpoints (/debug/pprof/...) for performance work; unset, none
// is opened. It is an operator's switch, not configuration: the endpoints
// are unauthenticated, so a non-loopback address is refused.
const envPprof = "GREENROOM_DEBUG_PPROF"

// startPprof opens the profiling listener named by GREENROOM_DEBUG_PPROF
// until ctx ends.
func startPprof(ctx context.Context, logger *slog.Logger) {
	addr := os.Getenv(envPprof)
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		logger.Warn("profiling listener refused: not a loopback host:port", "env", envPprof, "addr", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		logger.Info("profiling listener open", "addr", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("profiling listener stopped", "err", err)
		}
	}()
}
