package cli

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Start-up leaves garbage behind: the catalog's first load, the demo's
// TechDocs builds and the first search index allocate tens of megabytes
// that are dead once they finish (a build retains under 0.2 MB). The Go
// runtime returns freed heap to the OS only gradually (its background
// scavenger), so a server that then idles keeps that memory resident for
// minutes. releaseStartupMemory returns the free heap to the OS each time
// a burst of start-up work has ended, during the first minutes.
const (
	settlePoll   = 250 * time.Millisecond
	settleQuiet  = 4       // consecutive quiet polls (1 s) end a burst
	settleRate   = 1 << 20 // allocation per poll below which the process is quiet
	settleBurst  = 4 << 20 // allocation since the last release worth releasing
	settleWindow = 2 * time.Minute
)

func releaseStartupMemory(ctx context.Context, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, settleWindow)
	defer cancel()
	t := time.NewTicker(settlePoll)
	defer t.Stop()
	settleMemory(ctx, t.C, heapAllocated, func() {
		start := time.Now()
		debug.FreeOSMemory()
		logger.Debug("start-up memory released", "took", time.Since(start).Round(time.Millisecond))
	})
}

// settleMemory calls release whenever allocated() has grown by at least
// settleBurst since the last release (or since the process started) and
// then by less than settleRate on each of settleQuiet consecutive ticks.
// It returns when ctx ends.
func settleMemory(ctx context.Context, ticks <-chan time.Time, allocated func() uint64, release func()) {
	var released uint64 // the process's own start counts as a burst
	last, quiet := allocated(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		now := allocated()
		if now-last < settleRate {
			quiet++
		} else {
			quiet = 0
		}
		last = now
		if quiet >= settleQuiet && now-released >= settleBurst {
			release()
			released = now
		}
	}
}

// heapAllocated is the cumulative number of bytes allocated on the heap.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
