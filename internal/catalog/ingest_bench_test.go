package catalog_test

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// BenchmarkIngest measures a first refresh of a generated catalog (files
// behind one Location file, as `greenroom bench catalog` writes them) into
// an empty store: read, parse, process, store, stitch. Size from
// GREENROOM_BENCH_ENTITIES (default 5000); -benchtime 1x is enough. It
// reports the peak Go heap in use sampled after each GC (heap-MB).
func BenchmarkIngest(b *testing.B) {
	n := 5000
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
	for name, o := range opts {
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := storetest.Open(b, o(b))
				src, err := catalog.FileSource(lay.Root, nil)
				if err != nil {
					b.Fatal(err)
				}
				svc, err := catalog.NewService(s, []catalog.Source{src}, slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				b.StartTimer()
				if err := svc.Refresh(b.Context()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if c, err := s.CountEntities(b.Context()); err != nil || c != n+1 {
					b.Fatalf("stored %d of %d: %v", c, n+1, err)
				}
				b.StartTimer()
			}
		})
	}
}
