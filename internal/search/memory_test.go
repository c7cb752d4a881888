package search

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"
)

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// writeHeapProfile writes the heap profile to GREENROOM_BENCH_HEAPPROF when
// set, for a look at what is live (go tool pprof -sample_index=inuse_space).
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("GREENROOM_BENCH_HEAPPROF")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// benchMemN is the number of generated entities the memory benchmarks
// index: GREENROOM_BENCH_MEM_N, else def.
func benchMemN(b *testing.B, def int) int {
	if v := os.Getenv("GREENROOM_BENCH_MEM_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("GREENROOM_BENCH_MEM_N=%q", v)
		}
		return n
	}
	return def
}

// BenchmarkSuggesterMemory: the suggester's live heap per document over
// 100k generated catalog entities, fed in the engine's batches as the
// catalog source turns them into documents (so that a document's strings
// are kept only when the suggester keeps them). Reports live bytes per
// document and in all (MiB).
func BenchmarkSuggesterMemory(b *testing.B) {
	n := benchMemN(b, 100_000)
	st := generatedStore(b, n)
	b.ResetTimer()
	for range b.N {
		base := liveHeap()
		s := newSuggester()
		s.ready = true
		batch := make([]Document, 0, indexBatch)
		for _, r := range st.recs {
			d, err := EntityDocument(r.Body, r.UpdatedAt)
			if err != nil {
				b.Fatal(err)
			}
			if batch = append(batch, d.normalise()); len(batch) == indexBatch {
				s.upsert(batch)
				clear(batch)
				batch = batch[:0]
			}
		}
		s.upsert(batch)
		batch = nil
		live := liveHeap() - base
		if got := s.len(); got != len(st.recs) {
			b.Fatalf("suggester holds %d documents, want %d", got, len(st.recs))
		}
		writeHeapProfile(b)
		runtime.KeepAlive(s)
		b.ReportMetric(float64(live)/float64(len(st.recs)), "live-B/doc")
		b.ReportMetric(float64(live)/(1<<20), "live-MiB")
	}
}

// BenchmarkIndexMemory: the whole embedded engine's heap over generated
// catalog entities indexed as the catalog source's catch-up after a bulk
// load does (every entity, a batch at a time): the live heap per document
// once done (bleve's in-memory state and the suggester), and the peak of
// the live heap the collections found while indexing, above what was live
// before (the suggester so far and the batches in flight: the heap grows
// to twice it under GOGC=100), sampled every millisecond. GREENROOM_BENCH_MEM_N sets the
// count (default 20k: a 100k run takes minutes here).
func BenchmarkIndexMemory(b *testing.B) {
	n := benchMemN(b, 20_000)
	st := generatedStore(b, n)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		base := liveHeap()
		eng, err := NewBleve(b.TempDir() + "/idx" + strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		stop, peak := samplePeakHeap()
		cpu0 := cpuTime()
		src := NewCatalogSource(st, nil)
		err = src.catchUp(ctx, func(ctx context.Context, ch Change) error { return apply(ctx, eng, ch) }, map[string]bool{}, true)
		cpu := cpuTime() - cpu0
		stop()
		if err != nil {
			b.Fatal(err)
		}
		live := liveHeap() - base
		writeHeapProfile(b)
		b.ReportMetric(float64(live)/float64(len(st.recs)), "live-B/doc")
		b.ReportMetric(float64(live)/(1<<20), "live-MiB")
		b.ReportMetric(float64(*peak-base)/(1<<20), "peak-live-MiB")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		if err := eng.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// samplePeakHeap samples the live heap the last collection found every
// millisecond until stop is called; *peak is the most
// seen once stop returns.
func samplePeakHeap() (stop func(), peak *uint64) {
	peak = new(uint64)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }, peak
}
