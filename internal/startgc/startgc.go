// Package startgc keeps the garbage collector off while the binary's
// packages initialise. Their initialisation allocates several megabytes
// that stay live (compiled schemas, regular expressions, registries):
// with the collector on, every process start ran two collections over
// them (a quarter of `greenroom version`'s CPU time). The command then
// turns the collector back on, as GOGC says, with Restore, or takes it
// over with Release; a process that does neither (a test binary) gets it
// back after a short grace period. Nothing changes when GOGC is set.
//
// The package imports only the standard library's runtime/debug, os, sync
// and time, so that Go initialises it before the heavy packages: it must
// stay that small.
package startgc

import (
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// grace is how long after initialisation the collector stays off at most.
const grace = 200 * time.Millisecond

var (
	mu      sync.Mutex
	percent = 100 // the GC percent the process was started with
	off     bool  // the collector is off because of this package
	timer   *time.Timer
)

func init() {
	if os.Getenv("GOGC") != "" {
		return
	}
	percent = debug.SetGCPercent(-1)
	off = true
	timer = time.AfterFunc(grace, Restore)
}

// Restore turns the collector back on with the process's GC percent if it
// is still off since start-up. Later calls do nothing.
func Restore() {
	if p, ok := Release(); ok {
		debug.SetGCPercent(p)
	}
}

// Release ends the start-up period without turning the collector on: the
// caller sets the GC percent itself. It reports the process's GC percent
// (GOGC's, default 100) and whether the collector was still off since
// start-up; once it or Restore has been called it reports false.
func Release() (gcPercent int, wasOff bool) {
	mu.Lock()
	defer mu.Unlock()
	if !off {
		return percent, false
	}
	off = false
	timer.Stop()
	return percent, true
}
