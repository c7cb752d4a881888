package cli

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
)

// applyMemoryLimit sets the Go runtime's soft memory limit from
// greenroom.server.memoryLimitBytes (0: none) unless the operator set
// GOMEMLIMIT, which the runtime has applied already and which wins. It
// returns the limit in force (math.MaxInt64 for none).
//
// With the limit, a burst of garbage (a catalog refresh decoding and
// writing thousands of entities, a search rebuild) is collected when the
// heap nears the limit rather than when it has doubled, and freed pages go
// back to the OS at once. It is soft: a live heap above it is not an
// error, the collector's CPU share is capped by the runtime.
func applyMemoryLimit(limit int64, logger *slog.Logger) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		cur := debug.SetMemoryLimit(-1)
		logger.Debug("memory limit from GOMEMLIMIT", "bytes", cur)
		return cur
	}
	if limit <= 0 {
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
	logger.Debug("memory limit", "bytes", limit)
	return limit
}
