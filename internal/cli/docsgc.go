package cli

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/startgc"
)

// A docs build is a short process whose garbage is mostly small: with
// Go's default GC percent most of a small build's collector work is spent
// on a heap of a few megabytes. lightGC lets the heap grow further between
// collections (GC percent 400, at most gcLightLimit of Go memory) while
// the live heap is small, and gives the defaults back as soon as it
// is not (a large site), so peak memory stays what the default gives. It
// does nothing when GOGC or GOMEMLIMIT is set. The returned stop restores
// the defaults.
const (
	gcLightPercent = 400
	gcLightLimit   = 64 << 20
	gcLightLive    = 8 << 20 // live heap above which the defaults return (1,000 pages pass it early)
	gcLightPoll    = 5 * time.Millisecond
)

func lightGC(ctx context.Context) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		startgc.Restore()
		return func() {}
	}
	oldPercent := debug.SetGCPercent(gcLightPercent)
	if p, wasOff := startgc.Release(); wasOff {
		oldPercent = p // the collector was off since start-up (startgc): give back GOGC's percent
	}
	oldLimit := debug.SetMemoryLimit(gcLightLimit)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	restore := func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}
	go func() {
		defer close(done)
		t := time.NewTicker(gcLightPoll)
		defer t.Stop()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(s)
			if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() > gcLightLive {
				restore()
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
		restore()
	}
}

// lightGCAnnotation marks a command that sets the collector up itself
// with lightGC: startGC leaves the collector off for it until then.
const lightGCAnnotation = "greenroom/light-gc"

// startGC turns the garbage collector back on after start-up (see
// startgc) before the command in args runs, except for a command that
// sets it up itself: turned on here, the collector would at once run a
// collection over the heap that initialisation left.
func startGC(root *cobra.Command, args []string) {
	if !setsGCItself(root, args) {
		startgc.Restore()
	}
}

func setsGCItself(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	return err == nil && c.Annotations[lightGCAnnotation] != ""
}
