package search

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// judged is one query of testdata/judged.tsv.
type judged struct {
	category, term string
	relevant       []string // document keys; empty: nothing should match
}

func readJudged(t testing.TB) []judged {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "judged.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []judged
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		parts := strings.Split(s, "\t")
		if len(parts) != 3 {
			t.Fatalf("judged.tsv:%d: want category, query, relevant", line)
		}
		j := judged{category: parts[0], term: parts[1]}
		if parts[2] != "-" {
			for _, r := range strings.Fields(parts[2]) {
				typ, id, ok := strings.Cut(r, ":")
				if !ok {
					t.Fatalf("judged.tsv:%d: %q: want c:ref or d:page", line, r)
				}
				switch typ {
				case "c":
					j.relevant = append(j.relevant, TypeCatalog+"|"+id)
				case "d":
					j.relevant = append(j.relevant, TypeTechDocs+"|"+id)
				default:
					t.Fatalf("judged.tsv:%d: %q: unknown type", line, r)
				}
			}
		}
		out = append(out, j)
	}
	return out
}

// corpus is the measured corpus: the demo company through the real
// catalog, a generated 10k-entity catalog, the handwritten doc pages and
// 1,000 generated ones.
type corpus struct {
	svc       *Service
	sources   []Source
	buildTime time.Duration
	docs      uint64
}

var (
	corpusOnce sync.Once
	shared     corpus
	corpusErr  error
)

// fullCorpus builds the corpus once per test binary: the quality test and
// the benchmarks share it.
func fullCorpus(t testing.TB) corpus {
	t.Helper()
	corpusOnce.Do(func() {
		_, demo := demoCatalog(&cleanupless{TB: t})
		gen := generatedStore(t, 10_000)
		dir, err := os.MkdirTemp("", "greenroom-search-corpus-")
		if err != nil {
			corpusErr = err
			return
		}
		sources := []Source{NewCatalogSource(demo, nil), NewCatalogSource(gen, nil), docsSource{dir: testdataDocs(), generated: 1000}}
		svc, err := NewService(Options{Dir: dir}, sources...)
		if err != nil {
			corpusErr = err
			return
		}
		if err := svc.Start(context.Background()); err != nil {
			corpusErr = err
			return
		}
		// 11k documents: minutes under the race detector on a loaded
		// machine; the quality figures do not depend on how long.
		waitBuiltWithin(t, svc, 10*time.Minute)
		n, _ := svc.Status().Documents, 0
		shared = corpus{svc: svc, sources: sources, buildTime: svc.Status().BuildTime, docs: n}
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return shared
}

// cleanupless keeps the demo store open past the first test that builds
// the shared corpus (it is read only while the corpus builds).
type cleanupless struct{ testing.TB }

func (c *cleanupless) Cleanup(func()) {}

type scores struct{ n, mrr, recall float64 }

func evaluate(t *testing.T, svc *Service, set []judged) (map[string]*scores, []string) {
	per := map[string]*scores{"all": {}}
	var misses []string
	for _, j := range set {
		res, err := svc.Search(context.Background(), Query{Term: j.term, Limit: 10})
		if err != nil {
			t.Fatalf("%q: %v", j.term, err)
		}
		var rr, rec float64
		if len(j.relevant) == 0 {
			if res.Total == 0 {
				rr, rec = 1, 1
			}
		} else {
			found := 0
			for i, h := range res.Hits {
				for _, r := range j.relevant {
					if h.Document.Key() == r {
						if rr == 0 {
							rr = 1 / float64(i+1)
						}
						found++
					}
				}
			}
			rec = float64(found) / float64(len(j.relevant))
		}
		if rr < 1 || rec < 1 {
			top := titles(res.Hits[:min(3, len(res.Hits))])
			misses = append(misses, fmt.Sprintf("%s %q: rr %.2f recall %.2f, top %v", j.category, j.term, rr, rec, top))
		}
		for _, k := range []string{"all", j.category} {
			if per[k] == nil {
				per[k] = &scores{}
			}
			per[k].n++
			per[k].mrr += rr
			per[k].recall += rec
		}
	}
	return per, misses
}

// TestQualityJudged measures MRR@10 and recall@10 over the judged set.
func TestQualityJudged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 12k-document corpus")
	}
	c := fullCorpus(t)
	set := readJudged(t)
	if len(set) < 60 {
		t.Fatalf("judged set has %d queries, want at least 60", len(set))
	}
	per, misses := evaluate(t, c.svc, set)
	keys := make([]string, 0, len(per))
	for k := range per {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := per[k]
		t.Logf("%-10s n=%2.0f MRR@10=%.3f recall@10=%.3f", k, s.n, s.mrr/s.n, s.recall/s.n)
	}
	for _, m := range misses {
		t.Log("miss:", m)
	}
	t.Logf("corpus: %d documents, built in %v", c.docs, c.buildTime)
	all := per["all"]
	if mrr := all.mrr / all.n; mrr < 0.85 {
		t.Errorf("MRR@10 = %.3f, want >= 0.85", mrr)
	}
	if rec := all.recall / all.n; rec < 0.95 {
		t.Errorf("recall@10 = %.3f, want >= 0.95", rec)
	}
}
