package greenroom

import "time"

// Clock returns the current time; tests substitute a fixed one.
type Clock func() time.Time

// SystemClock is the real clock.
func SystemClock() time.Time { return time.Now() }
