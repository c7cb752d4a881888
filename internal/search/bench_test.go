package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"greenroom/internal/catalog/catalogtest"
)

// latencies records per-operation durations from parallel workers.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

func judgedTerms(b *testing.B) []string {
	var out []string
	for _, j := range readJudged(b) {
		out = append(out, j.term)
	}
	return out
}

// runConcurrent8 runs op from 8 goroutines, as the targets say, and
// reports wall-clock p50/p99 and the process CPU per operation. With
// GREENROOM_BENCH_OPCPU=1 it also reports the p50/p99 of each operation's
// own CPU time (its goroutine pinned to a thread for the call, read with
// RUSAGE_THREAD): figures that hold on a shared, loaded machine, where
// wall-clock percentiles are mostly waits for a core. Pinning costs
// ≈0.2 ms an operation and changes the scheduling, so it is off by
// default. Work done off the caller's thread (background GC marking) is in
// cpu-ms/op but not in the per-operation figures.
func runConcurrent8(b *testing.B, op func(i int)) *latencies {
	l, own := &latencies{}, &latencies{}
	pin := os.Getenv("GREENROOM_BENCH_OPCPU") == "1"
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
	var n int64
	var mu sync.Mutex
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := int(n)
			n++
			mu.Unlock()
			if pin {
				runtime.LockOSThread()
			}
			t0 := threadCPU()
			start := time.Now()
			op(i)
			l.add(time.Since(start))
			if pin {
				own.add(threadCPU() - t0)
				runtime.UnlockOSThread()
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(l.quantile(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(l.quantile(0.99).Microseconds())/1000, "p99-ms")
	if pin {
		b.ReportMetric(float64(own.quantile(0.50).Microseconds())/1000, "op-cpu-p50-ms")
		b.ReportMetric(float64(own.quantile(0.99).Microseconds())/1000, "op-cpu-p99-ms")
	}
	return l
}

// threadCPU returns the calling thread's user and system CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQuery: the judged queries over 10k entities + 1,000 doc pages,
// at concurrency 8. Target p99 < 20 ms.
func BenchmarkQuery(b *testing.B) {
	c := fullCorpus(b)
	terms := judgedTerms(b)
	runConcurrent8(b, func(i int) {
		if _, err := c.svc.Search(context.Background(), Query{Term: terms[i%len(terms)], Facets: []string{"kind"}}); err != nil {
			b.Fatal(err)
		}
	})
}

// variedTerms are n queries beyond the judged set, over the generated
// catalog's vocabulary (so nearly every word is in thousands of
// documents): single words, two words, a word with two letters swapped
// (a typo), a 3- to 6-letter prefix, a word and a number.
func variedTerms(n int) []string {
	w := catalogtest.Words()
	r := rand.New(rand.NewPCG(7, 10))
	word := func() string { return w[r.IntN(len(w))] }
	out := make([]string, 0, n)
	for len(out) < n {
		switch k := r.IntN(20); {
		case k < 6:
			out = append(out, word())
		case k < 12:
			out = append(out, word()+" "+word())
		case k < 15:
			x := []rune(word())
			if i := r.IntN(max(1, len(x)-1)); i+1 < len(x) {
				x[i], x[i+1] = x[i+1], x[i]
			}
			out = append(out, string(x))
		case k < 18:
			x := word()
			out = append(out, x[:min(len(x), 3+r.IntN(4))])
		default:
			out = append(out, fmt.Sprintf("%s-%d", word(), r.IntN(10000)))
		}
	}
	return out
}

// BenchmarkQueryVaried: 500 queries beyond the judged set (variedTerms)
// at concurrency 8, so that the figures do not rest on 73 terms.
func BenchmarkQueryVaried(b *testing.B) {
	c := fullCorpus(b)
	terms := variedTerms(500)
	runConcurrent8(b, func(i int) {
		if _, err := c.svc.Search(context.Background(), Query{Term: terms[i%len(terms)], Facets: []string{"kind"}}); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSuggest: as-you-type prefixes (1 to 8 characters of the judged
// queries) at concurrency 8. Target p99 < 10 ms.
func BenchmarkSuggest(b *testing.B) {
	c := fullCorpus(b)
	var prefixes []string
	for _, t := range judgedTerms(b) {
		r := []rune(t)
		for n := 1; n <= min(8, len(r)); n++ {
			if p := strings.TrimSpace(string(r[:n])); p != "" {
				prefixes = append(prefixes, p)
			}
		}
	}
	runConcurrent8(b, func(i int) {
		if _, err := c.svc.Suggest(context.Background(), prefixes[i%len(prefixes)], nil, SuggestLimit); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkReindex: a full rebuild of the corpus, built aside and swapped
// in. Target < 10 s.
func BenchmarkReindex(b *testing.B) {
	c := fullCorpus(b)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if err := c.svc.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	st := c.svc.Status()
	b.ReportMetric(float64(st.Documents), "docs")
	b.ReportMetric(float64(st.SizeBytes)/(1<<20), "index-MiB")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	if rss := readRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
	}
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readRSS returns the process's resident set size from /proc (Linux).
func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			for _, f := range strings.Fields(rest) {
				for _, c := range f {
					if c < '0' || c > '9' {
						return kb << 10
					}
					kb = kb*10 + int64(c-'0')
				}
				return kb << 10
			}
		}
	}
	return 0
}
