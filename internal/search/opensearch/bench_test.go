package opensearch

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/search"
)

// These benchmarks measure the engine against ZincSearch, which is not
// OpenSearch: read the figures as the engine's own cost plus a Go server's,
// not as what an OpenSearch cluster gives.

var (
	benchOnce sync.Once
	benchDocs []search.Document
)

// generated is the 10,000-entity catalog of the embedded engine's
// benchmarks (catalogtest.Generate(10000, 7)) as search documents.
func generated(b *testing.B) []search.Document {
	benchOnce.Do(func() {
		ents, err := catalogtest.Generate(10_000, 7)
		if err != nil {
			b.Fatal(err)
		}
		at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		for _, e := range ents {
			body, err := json.Marshal(e)
			if err != nil {
				b.Fatal(err)
			}
			d, err := search.EntityDocument(body, at)
			if err != nil {
				b.Fatal(err)
			}
			benchDocs = append(benchDocs, search.Normalise(d))
		}
	})
	return benchDocs
}

func judgedTerms(b *testing.B) []string {
	f, err := os.Open(filepath.Join("..", "testdata", "judged.tsv"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := sc.Text(); s != "" && !strings.HasPrefix(s, "#") {
			if parts := strings.Split(s, "\t"); len(parts) == 3 {
				out = append(out, parts[1])
			}
		}
	}
	return out
}

func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuZinc is the ZincSearch process's user+system CPU time.
func cpuZinc() time.Duration {
	if zinc.cmd == nil || zinc.cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(zinc.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * (time.Second / 100) // USER_HZ
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

// BenchmarkZincBulk indexes the 10,000 generated entities into a fresh
// index per iteration, in bulk requests of BatchSize (1000).
func BenchmarkZincBulk(b *testing.B) {
	docs := generated(b)
	bk := zincBackend(b)
	ctx := context.Background()
	c0, z0 := cpuSelf(), cpuZinc()
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		eng, err := bk.New(ctx)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := eng.Index(ctx, docs); err != nil {
			b.Fatal(err)
		}
		bk.settle(ctx, eng.(*Engine))
		wall += time.Since(start)
		b.StopTimer()
		bk.Discard(eng)
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N * len(docs))
	b.ReportMetric(n/wall.Seconds(), "docs/s")
	b.ReportMetric(float64((cpuSelf()-c0).Microseconds())/n, "client-cpu-µs/doc")
	b.ReportMetric(float64((cpuZinc()-z0).Microseconds())/n, "server-cpu-µs/doc")
}

var (
	liveOnce sync.Once
	liveEng  *Engine
)

func benchEngine(b *testing.B) *Engine {
	liveOnce.Do(func() {
		bk := zincBackend(b)
		ctx := context.Background()
		eng, err := bk.New(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := eng.Index(ctx, generated(b)); err != nil {
			b.Fatal(err)
		}
		if err := bk.Commit(ctx, eng); err != nil {
			b.Fatal(err)
		}
		liveEng = eng.(*Engine)
	})
	if liveEng == nil {
		b.Fatal("no engine")
	}
	return liveEng
}

// concurrent8 runs op from 8 goroutines and reports p50/p99 and CPU per
// operation, client and server.
func concurrent8(b *testing.B, op func(i int) error) {
	var mu sync.Mutex
	var lat []time.Duration
	var n int
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
	c0, z0 := cpuSelf(), cpuZinc()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := n
			n++
			mu.Unlock()
			start := time.Now()
			if err := op(i); err != nil {
				b.Error(err)
				return
			}
			d := time.Since(start)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuSelf()-c0).Microseconds())/1000/float64(b.N), "client-cpu-ms/op")
	b.ReportMetric(float64((cpuZinc()-z0).Microseconds())/1000/float64(b.N), "server-cpu-ms/op")
	b.ReportMetric(float64(quantile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(quantile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkZincQuery runs the judged terms with a kind facet over the
// 10,000 generated entities, concurrency 8.
func BenchmarkZincQuery(b *testing.B) {
	eng := benchEngine(b)
	terms := judgedTerms(b)
	ctx := context.Background()
	concurrent8(b, func(i int) error {
		q, err := search.Query{Term: terms[i%len(terms)], Facets: []string{"kind"}}.Validate()
		if err != nil {
			return err
		}
		_, err = eng.Search(ctx, q, search.Everything)
		return err
	})
}

// BenchmarkZincSuggest completes 1–8-character prefixes of the judged
// terms, concurrency 8.
func BenchmarkZincSuggest(b *testing.B) {
	eng := benchEngine(b)
	terms := judgedTerms(b)
	ctx := context.Background()
	concurrent8(b, func(i int) error {
		t := []rune(terms[i%len(terms)])
		p := string(t[:min(len(t), 1+i%8)])
		_, err := eng.Suggest(ctx, p, nil, search.Everything, search.SuggestLimit)
		return err
	})
}
