package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
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
	srv := &http.Server{Addr: addr, Handler: pprofHandler(), ReadHeaderTimeout: 5 * time.Second}
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

// pprofHandler serves /debug/pprof/profile?seconds=N (CPU),
// /debug/pprof/trace?seconds=N (an execution trace) and
// /debug/pprof/NAME for runtime/pprof's named profiles (heap, allocs,
// goroutine, …), in the format `go tool pprof` reads, or as text with
// ?debug=1 (2 for goroutine stacks). It does not import
// net/http/pprof, whose init registers the endpoints on
// http.DefaultServeMux for every process; and it is one handler on its own
// listener, not portal routes.
func pprofHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/debug/pprof/")
		if r.Method != http.MethodGet || !ok {
			http.NotFound(w, r)
			return
		}
		debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
		if debug > 0 { // text, as net/http/pprof's ?debug=1 (heap: with runtime.MemStats)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/octet-stream")
		}
		switch name {
		case "profile":
			cpuProfile(w, r)
			return
		case "trace":
			executionTrace(w, r)
			return
		}
		p := pprof.Lookup(name)
		if p == nil {
			http.NotFound(w, r)
			return
		}
		_ = p.WriteTo(w, min(debug, 2))
	})
}

// executionTrace writes a runtime execution trace of ?seconds=N (default
// 5, at most 60), for `go tool trace`: where a pipeline waits, not only
// where it spends CPU.
func executionTrace(w http.ResponseWriter, r *http.Request) {
	record(w, r, 5, 60, trace.Start, trace.Stop)
}

// cpuProfile writes a CPU profile of ?seconds=N (default 30, at most 300).
func cpuProfile(w http.ResponseWriter, r *http.Request) {
	record(w, r, 30, 300, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// record runs start on w for ?seconds=N (def when missing or above most),
// or until the client goes away, then stop.
func record(w http.ResponseWriter, r *http.Request, def, most int, start func(io.Writer) error, stop func()) {
	secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
	if err != nil || secs <= 0 || secs > most {
		secs = def
	}
	if err := start(w); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	select {
	case <-time.After(time.Duration(secs) * time.Second):
	case <-r.Context().Done():
	}
	stop()
}
