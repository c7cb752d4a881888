package search

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
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

// batchRecorder is the real engine, noting the size of each batch it is
// given.
type batchRecorder struct {
	Engine
	docs, bytes []int
}

func (r *batchRecorder) Index(ctx context.Context, docs []Document) error {
	n := 0
	for _, d := range docs {
		n += docBytes(d)
	}
	r.docs, r.bytes = append(r.docs, len(docs)), append(r.bytes, n)
	return r.Engine.Index(ctx, docs)
}

// TestApplyBoundsBatches: a change is indexed in batches of at most
// indexBatch documents and about maxBatchBytes of text (a batch ends with
// the document that reaches it), and every document is found after.
func TestApplyBoundsBatches(t *testing.T) {
	big := strings.Repeat("lorem ipsum dolor ", MaxTextBytes/18)
	tests := []struct {
		name      string
		n         int
		text      string
		batches   int
		wantBytes bool // some batch reaches maxBatchBytes
	}{
		{"small documents, cut by count", indexBatch*2 + 3, "small text", 3, false},
		{"large documents, cut by bytes", 40, big, (40*len(big) + maxBatchBytes - 1) / maxBatchBytes, true},
		{"one document", 1, big, 1, false},
		{"nothing", 0, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, err := NewBleve(t.TempDir() + "/idx")
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			rec := &batchRecorder{Engine: eng}
			var ch Change
			for i := range tt.n {
				ch.Upsert = append(ch.Upsert, Document{Type: TypeCatalog, ID: fmt.Sprintf("component:default/batch-%d", i),
					Name: fmt.Sprintf("batch-%d", i), Title: "Batch", Text: tt.text, Namespace: "default", Ref: fmt.Sprintf("component:default/batch-%d", i)})
			}
			if err := apply(context.Background(), rec, ch); err != nil {
				t.Fatal(err)
			}
			if len(rec.docs) != tt.batches {
				t.Fatalf("%d batches %v (%v bytes), want %d", len(rec.docs), rec.docs, rec.bytes, tt.batches)
			}
			reached, total := false, 0
			for i := range rec.docs {
				total += rec.docs[i]
				last := docBytes(ch.Upsert[total-1].normalise())
				if rec.docs[i] > indexBatch || rec.bytes[i]-last >= maxBatchBytes {
					t.Fatalf("batch %d: %d documents, %d bytes", i, rec.docs[i], rec.bytes[i])
				}
				reached = reached || rec.bytes[i] >= maxBatchBytes
			}
			if total != tt.n || reached != tt.wantBytes {
				t.Fatalf("%d documents indexed of %d; reached the byte bound %v, want %v", total, tt.n, reached, tt.wantBytes)
			}
			if got, err := eng.Count(); err != nil || got != uint64(tt.n) {
				t.Fatalf("count %d, %v; want %d", got, err, tt.n)
			}
		})
	}
}
