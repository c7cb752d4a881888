package cli

import (
	"context"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"greenroom/internal/startgc"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestLightGC: a docs build's GC settings are lighter only while the live
// heap is small, come back to the defaults when it grows (so a large
// site's peak memory is what the defaults give) and when the build ends,
// and are left alone when GOGC is set.
func TestLightGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	startgc.Restore() // the test binary may still be in its start-up period
	base, baseLimit := gcPercent(), debug.SetMemoryLimit(-1)
	stop := lightGC(context.Background())
	if p := gcPercent(); p != gcLightPercent {
		t.Fatalf("GC percent %d during a small build, want %d", p, gcLightPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != gcLightLimit {
		t.Errorf("memory limit %d, want %d", l, gcLightLimit)
	}
	big := make([][]byte, 0, 64)
	for range 24 {
		big = append(big, make([]byte, 1<<20))
	}
	runtime.GC() // the live heap is now over gcLightLive
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() != base && time.Now().Before(deadline) {
		time.Sleep(gcLightPoll)
	}
	if p := gcPercent(); p != base {
		t.Errorf("GC percent %d with a large live heap, want the default %d back", p, base)
	}
	runtime.KeepAlive(big)
	stop()
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != base || l != baseLimit {
		t.Errorf("after the build: percent %d limit %d, want %d %d", p, l, base, baseLimit)
	}

	t.Setenv("GOGC", "150")
	stop = lightGC(context.Background())
	if p := gcPercent(); p != base {
		t.Errorf("GOGC set: percent changed to %d", p)
	}
	stop()
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 && l != baseLimit {
		t.Errorf("limit %d", l)
	}
}

// TestStartGC: only the commands that set the collector up themselves
// (lightGC) skip turning it back on after start-up.
func TestStartGC(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard)
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"docs", "build", "dir", "--out", "site"}, true},
		{[]string{"docs", "serve", "dir"}, false},
		{[]string{"version"}, false},
		{[]string{"serve"}, false},
		{[]string{"no-such-command"}, false},
		{nil, false},
	} {
		if got := setsGCItself(root, tt.args); got != tt.want {
			t.Errorf("%q: sets the collector up itself %v, want %v", tt.args, got, tt.want)
		}
	}
}
