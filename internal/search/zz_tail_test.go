package search

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestZZTail(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	c := fullCorpus(t)
	var terms []string
	for _, j := range readJudged(t) {
		terms = append(terms, j.term)
	}
	type rec struct {
		term       string
		start, dur time.Duration
		gc         uint32
	}
	var mu sync.Mutex
	var recs []rec
	tf, _ := os.Create("/tmp/zz.trace")
	trace.Start(tf)
	defer func() { trace.Stop(); tf.Close() }()
	t0 := time.Now()
	var wg sync.WaitGroup
	var next int
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= 4000 {
					return
				}
				var ms runtime.MemStats
				_ = ms
				s := time.Now()
				c.svc.Search(context.Background(), Query{Term: terms[i%len(terms)], Facets: []string{"kind"}})
				d := time.Since(s)
				mu.Lock()
				recs = append(recs, rec{terms[i%len(terms)], s.Sub(t0), d, 0})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(recs, func(i, j int) bool { return recs[i].dur > recs[j].dur })
	for _, r := range recs[:40] {
		fmt.Printf("%8.1fms at %8.1fms  %s\n", float64(r.dur.Microseconds())/1000, float64(r.start.Microseconds())/1000, r.term)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("NumGC %d PauseTotal %v HeapAlloc %dMB\n", ms.NumGC, time.Duration(ms.PauseTotalNs), ms.HeapAlloc>>20)
}
