package startgc

import (
	"runtime/debug"
	"testing"
	"time"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestStartGC: the collector is off from initialisation until Release,
// Restore or the grace period, and Restore brings back the start's
// percent once.
func TestStartGC(t *testing.T) {
	if !off {
		t.Skip("GOGC was set for the test binary")
	}
	if p := gcPercent(); p != -1 {
		t.Fatalf("GC percent %d during start-up, want -1 (off)", p)
	}
	Restore()
	if p := gcPercent(); p != percent || p < 0 {
		t.Fatalf("GC percent %d after Restore, want %d", p, percent)
	}
	if _, wasOff := Release(); wasOff {
		t.Error("Release after Restore reports the collector off")
	}
	debug.SetGCPercent(250)
	Restore() // does nothing now
	if p := gcPercent(); p != 250 {
		t.Errorf("a second Restore changed the GC percent to %d", p)
	}
	debug.SetGCPercent(percent)
}

// TestGrace: a process that never calls Restore gets the collector back.
func TestGrace(t *testing.T) {
	mu.Lock()
	was := debug.SetGCPercent(-1)
	off = true
	timer = time.AfterFunc(10*time.Millisecond, Restore)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() == -1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p := gcPercent(); p != percent {
		t.Errorf("GC percent %d after the grace period, want %d", p, percent)
	}
	debug.SetGCPercent(was)
}
