package catalog_test

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// BenchmarkIngest measures a first refresh of a generated catalog (files
// behind one Location file, as `greenroom bench catalog` writes them) into
// an empty store: read, parse, process, store, stitch. Size from
// GREENROOM_BENCH_ENTITIES (default 5000); -benchtime 1x is enough. It
// reports the peak Go heap in use (peak-heap-MB).
func BenchmarkIngest(b *testing.B) {
	n, lay, opts := benchCatalog(b, 5000)
	for name, o := range opts {
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s, svc := benchService(b, o, lay)
				peak := watchPeakHeap()
				b.StartTimer()
				if err := svc.Refresh(b.Context()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(peak(), "peak-heap-MB")
				if c, err := s.CountEntities(b.Context()); err != nil || c != n+1 {
					b.Fatalf("stored %d of %d: %v", c, n+1, err)
				}
				b.StartTimer()
			}
		})
	}
}

// benchCatalog writes a generated catalog of GREENROOM_BENCH_ENTITIES
// entities (def when unset) as `greenroom bench catalog` does, and returns
// its size, its layout and the stores to run on: SQLite, and PostgreSQL
// when the test database is configured.
func benchCatalog(b *testing.B, def int) (int, catalogtest.Layout, map[string]func(testing.TB) store.Options) {
	b.Helper()
	n := def
	if v := os.Getenv("GREENROOM_BENCH_ENTITIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ents, err := catalogtest.Generate(n, 1)
	if err != nil {
		b.Fatal(err)
	}
	lay, err := catalogtest.Write(b.TempDir(), ents, 1000)
	if err != nil {
		b.Fatal(err)
	}
	opts := map[string]func(testing.TB) store.Options{store.DriverSQLite: storetest.SQLiteOptions}
	if os.Getenv(storetest.EnvPostgres) != "" {
		opts[store.DriverPostgres] = storetest.PostgresOptions
	}
	return n, lay, opts
}

// benchService opens a store with o and a catalog service of one file
// source, the layout's root.
func benchService(b *testing.B, o func(testing.TB) store.Options, lay catalogtest.Layout) (*store.Store, *catalog.Service) {
	b.Helper()
	s := storetest.Open(b, o(b))
	src, err := catalog.FileSource(lay.Root, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := catalog.NewService(s, []catalog.Source{src}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return s, svc
}

// watchPeakHeap collects the garbage, then samples the Go heap until the
// returned function is called, which returns the peak in MiB.
func watchPeakHeap() func() float64 {
	runtime.GC()
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() { peak <- peakHeap(stop) }()
	return func() float64 {
		close(stop)
		return float64(<-peak) / (1 << 20)
	}
}

// peakHeap samples the Go heap in use (live and not yet collected
// objects) every 20 ms until stop is closed, and returns the most seen.
func peakHeap(stop <-chan struct{}) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var most uint64
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(sample)
		most = max(most, sample[0].Value.Uint64())
		select {
		case <-stop:
			return most
		case <-t.C:
		}
	}
}
