package cli

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestApplyMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name  string
		env   string // GOMEMLIMIT
		limit int64
		want  int64
	}{
		{name: "configured", limit: 200 << 20, want: 200 << 20},
		{name: "off", limit: 0, want: math.MaxInt64},
		// The runtime applied GOMEMLIMIT at start (here: the limit set
		// just before); the configuration must not replace it.
		{name: "GOMEMLIMIT wins", env: "77MiB", limit: 200 << 20, want: 77 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tt.env)
			debug.SetMemoryLimit(77 << 20)
			if got := applyMemoryLimit(tt.limit, logger); got != tt.want {
				t.Errorf("applyMemoryLimit = %d, want %d", got, tt.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Errorf("limit in force = %d, want %d", got, tt.want)
			}
		})
	}
}
