package catalog_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRefreshUnchanged measures a refresh of a generated catalog
// (files behind one Location file, as `greenroom bench catalog` writes
// them) that has not changed since the last one: what the scheduled
// refresh costs every processing interval. Size from
// GREENROOM_BENCH_ENTITIES (default 10000). It reports the process's CPU
// time per refresh (cpu-ms/op, user and system, all goroutines) besides
// the allocations of -benchmem, and the most Go heap in use while the
// refreshes ran (peak-heap-MB).
func BenchmarkRefreshUnchanged(b *testing.B) {
	n, lay, opts := benchCatalog(b, 10000)
	for name, o := range opts {
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			s, svc := benchService(b, o, lay)
			if err := svc.Refresh(b.Context()); err != nil {
				b.Fatal(err)
			}
			peak := watchPeakHeap()
			start := cpuTime(b)
			for b.Loop() {
				if err := svc.Refresh(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-start).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(peak(), "peak-heap-MB")
			if c, err := s.CountEntities(b.Context()); err != nil || c != n+1 {
				b.Fatalf("stored %d of %d: %v", c, n+1, err)
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
