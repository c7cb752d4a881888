package cli

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestSettleMemory drives settleMemory with scripted allocation and
// ticks: memory is released once per burst, only after the burst has
// been quiet for settleQuiet ticks, never while allocation goes on, and
// not for a trickle of small allocations after a release.
func TestSettleMemory(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name  string
		start uint64   // allocated before the first tick
		steps []uint64 // allocated during each tick interval
		want  []int    // ticks (1-based) at which release ran
	}{
		{"start-up burst then quiet", 20 * mb, []uint64{0, 0, 0, 0, 0, 0}, []int{4}},
		{"busy, then quiet", 20 * mb, []uint64{8 * mb, 8 * mb, 8 * mb, 0, 0, 0, 0, 0}, []int{7}},
		{"two bursts", 10 * mb, []uint64{0, 0, 0, 0, 30 * mb, 0, 0, 0, 0, 0}, []int{4, 9}},
		{"a trickle after a release is no burst", 10 * mb, []uint64{0, 0, 0, 0, mb / 2, mb / 2, mb / 2, mb / 2, mb / 2, mb / 2, mb / 2}, []int{4}},
		{"slow allocation keeps counting as quiet", 10 * mb, []uint64{0, 0, 0, 0, mb - 1, mb - 1, mb - 1, mb - 1, mb - 1}, []int{4, 9}},
		{"nothing worth releasing", 1 * mb, []uint64{0, 0, 0, 0, 0, 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter, tick := tt.start, 0
			allocated := func() uint64 { // called once at start and once per tick
				if tick > 0 {
					counter += tt.steps[tick-1]
				}
				return counter
			}
			var got []int
			ticks := make(chan time.Time)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				settleMemory(ctx, ticks, func() uint64 { v := allocated(); tick++; return v }, func() { got = append(got, tick-1) })
			}()
			for range tt.steps {
				ticks <- time.Time{}
			}
			cancel()
			<-done
			if !slices.Equal(got, tt.want) {
				t.Errorf("released after ticks %v, want %v", got, tt.want)
			}
		})
	}
}
