package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"greenroom/internal/store/storetest"
)

// runBenchCatalog runs `greenroom bench catalog args… --out json` in this
// process; the serve child it starts is this test binary acting as
// greenroom (see TestMain).
func runBenchCatalog(t *testing.T, args ...string) catalogReport {
	t.Helper()
	t.Setenv("GREENROOM_CLI_MAIN", "1")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if code := Main(ctx, append([]string{"bench", "catalog", "--out", "json"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("bench catalog exited %d:\n%s%s", code, stderr.String(), stdout.String())
	}
	var rep catalogReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	return rep
}

// checkCases asserts the load rows: every class and case ran, without
// errors, with ordered positive latencies.
func checkCases(t *testing.T, rep catalogReport) {
	t.Helper()
	classes := map[string]int{}
	for _, c := range rep.Cases {
		if c.Name != "" {
			classes[c.Class]++
		}
		if c.Requests <= 0 || c.Errors != 0 || c.PerSec <= 0 {
			t.Errorf("%s/%s: %d requests, %d errors (%s), %.1f/s", c.Class, c.Name, c.Requests, c.Errors, c.FirstErr, c.PerSec)
		}
		if !(c.P50 > 0 && c.P50 <= c.P99 && c.P99 <= c.Max) {
			t.Errorf("%s/%s: latencies p50 %.3f, p99 %.3f, max %.3f ms are not 0 < p50 ≤ p99 ≤ max", c.Class, c.Name, c.P50, c.P99, c.Max)
		}
	}
	if want := map[string]int{"by-name": 1, "by-query": 5, "facets": 3}; !mapsEqual(classes, want) {
		t.Errorf("cases per class = %v, want %v", classes, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestBenchCatalogTiny(t *testing.T) {
	stores := map[string][]string{"sqlite": {"--locations", "2"}}
	if dsn := os.Getenv(storetest.EnvPostgres); dsn != "" {
		stores["postgres"] = []string{"--postgres", dsn}
	}
	for store, extra := range stores {
		t.Run(store, func(t *testing.T) {
			rep := runBenchCatalog(t, append([]string{"--entities", "200", "--per-file", "50", "--duration", "300ms", "--ingest-timeout", "60s"}, extra...)...)
			if rep.Target != "greenroom" || rep.Store != store || rep.Entities != 200 || rep.Concurrency != 8 {
				t.Errorf("report header = %+v", rep)
			}
			// 7 kinds, at most 50 a file: 2 groups, 40 users, 1 domain, 4
			// systems, 30 APIs, 20 resources, 103 components.
			wantLocations := map[string]int{"sqlite": 2, "postgres": 1}[store]
			if rep.Files != 1+1+1+1+1+1+3 || rep.Locations != wantLocations || rep.CatalogBytes < 200*200 {
				t.Errorf("%d files of %d bytes behind %d locations", rep.Files, rep.CatalogBytes, rep.Locations)
			}
			if !(rep.ReadySeconds > 0 && rep.VisibleSeconds >= rep.ReadySeconds && rep.EntitiesPerSecond > 0) ||
				math.Abs(rep.VisibleSeconds-rep.ReadySeconds-rep.AfterReadySeconds) > 1e-6 {
				t.Errorf("ingest figures: ready %.3f s, visible %.3f s (%.3f after ready), %.1f/s",
					rep.ReadySeconds, rep.VisibleSeconds, rep.AfterReadySeconds, rep.EntitiesPerSecond)
			}
			if rep.IngestCPUSeconds <= 0 || (store == "postgres") != (rep.VacuumSeconds > 0) {
				t.Errorf("ingest CPU %.2f s, vacuum %.2f s", rep.IngestCPUSeconds, rep.VacuumSeconds)
			}
			if !(rep.PeakRSSMB > 5 && rep.EndRSSMB > 5 && rep.EndRSSMB <= rep.PeakRSSMB) {
				t.Errorf("RSS: peak %.1f MB, end %.1f MB", rep.PeakRSSMB, rep.EndRSSMB)
			}
			checkCases(t, rep)
			var client float64
			for _, c := range rep.Cases {
				if (c.Name == "") != (c.ServerCPUms > 0) {
					t.Errorf("%s/%s: server CPU %.3f ms a request; want it on the class rows only", c.Class, c.Name, c.ServerCPUms)
				}
				if c.Name != "" && c.ClientCPUms != 0 {
					t.Errorf("%s/%s: client CPU on a case row", c.Class, c.Name)
				}
				client += c.ClientCPUms
			}
			if client <= 0 {
				t.Error("no client CPU time recorded")
			}
			// The read cache answers by-name and by-query (its header), not
			// facets, which the store caches.
			for _, c := range rep.Cases {
				cached := c.Class == "by-name" || c.Class == "by-query"
				if (c.CacheHitRate != nil) != cached || cached && (*c.CacheHitRate < 0 || *c.CacheHitRate > 1) {
					t.Errorf("%s/%s: cache hit rate %v", c.Class, c.Name, c.CacheHitRate)
				}
			}
			if rep.SettleSeconds <= 0 {
				t.Errorf("settle %.2f s: want the wait recorded", rep.SettleSeconds)
			}
		})
	}
}

// TestBenchCatalogAgainstURL runs the load-only mode (--backstage-url) at
// a running Greenroom with the demo company: the same API Backstage
// serves. It discovers the entities through by-query's cursor pages.
func TestBenchCatalogAgainstURL(t *testing.T) {
	p := serve(t, t.TempDir(), nil)
	waitEntities(t, p.base, "?filter=kind=component", 25)
	rep := runBenchCatalog(t, "--target", "backstage", "--backstage-url", p.base, "--requests", "60", "--concurrency", "3")
	if rep.Entities < 100 || rep.VisibleSeconds != 0 || rep.PeakRSSMB != 0 {
		t.Errorf("load-only report: %d entities, visible %.2f s, peak RSS %.1f MB", rep.Entities, rep.VisibleSeconds, rep.PeakRSSMB)
	}
	for _, c := range rep.Cases {
		if c.Name == "" && c.Requests != 60 {
			t.Errorf("%s: %d requests, want --requests 60", c.Class, c.Requests)
		}
	}
	checkCases(t, rep)
}

// TestBenchCatalogKillsGreedyServer checks the --max-rss watchdog: no
// server fits in 16 MB.
func TestBenchCatalogKillsGreedyServer(t *testing.T) {
	t.Setenv("GREENROOM_CLI_MAIN", "1")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"bench", "catalog", "--entities", "200", "--requests", "10", "--max-rss", "16"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "killed when its RSS reached") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

func TestBenchCatalogRejectsFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--entities", "5"}, "--entities 5: want 20 to"},
		{[]string{"--entities", "20000000"}, "--entities 20000000"},
		{[]string{"--concurrency", "0"}, "--concurrency 0"},
		{[]string{"--concurrency", "1000"}, "--concurrency 1000"},
		{[]string{"--duration", "0s"}, "--duration 0s"},
		{[]string{"--duration", "2h"}, "--duration 2h0m0s"},
		{[]string{"--requests", "-1"}, "--requests -1"},
		{[]string{"--per-file", "0"}, "--per-file 0"},
		{[]string{"--per-file", "10001"}, "--per-file 10001"},
		{[]string{"--ingest-timeout", "0s"}, "--ingest-timeout 0s"},
		{[]string{"--max-rss", "1"}, "--max-rss 1"},
		{[]string{"--locations", "0"}, "--locations 0"},
		{[]string{"--target", "backstage", "--postgres", "postgres://x", "--locations", "2"}, "has one location"},
		{[]string{"--target", "gitlab"}, `--target "gitlab"`},
		{[]string{"--target", "backstage"}, "needs --postgres"},
		{[]string{"--backstage-url", "http://localhost:7007"}, "--backstage-url needs --target backstage"},
		{[]string{"--target", "backstage", "--backstage-url", "localhost:7007"}, "want an http:// or https:// URL"},
		{[]string{"--out", "xml"}, `--out "xml"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), append([]string{"bench", "catalog"}, tt.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
		})
	}
	// Every problem at once, not the first only.
	var stderr bytes.Buffer
	Main(context.Background(), []string{"bench", "catalog", "--entities", "1", "--out", "xml"}, &bytes.Buffer{}, &stderr)
	if !strings.Contains(stderr.String(), "--entities 1") || !strings.Contains(stderr.String(), "--out") {
		t.Errorf("stderr %q does not name both bad flags", stderr.String())
	}
}

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one", []time.Duration{7}, 0.99, 7},
		{"p50 of 1..100", hundred, 0.5, 50 * time.Millisecond},
		{"p99 of 1..100", hundred, 0.99, 99 * time.Millisecond},
		{"p100 of 1..100", hundred, 1, 100 * time.Millisecond},
		{"p0 of 1..100", hundred, 0, time.Millisecond},
		{"p99 of 1..10", hundred[:10], 0.99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.samples, tt.q); got != tt.want {
			t.Errorf("%s: percentile(%.2f) = %s, want %s", tt.name, tt.q, got, tt.want)
		}
	}
}

// TestRecorderKeepsBoundedSample adds twice maxSamples latencies and
// checks that the kept ones stay bounded and still represent them all.
func TestRecorderKeepsBoundedSample(t *testing.T) {
	rc := &recorder{r: rand.New(rand.NewPCG(1, 2))}
	n := 2 * maxSamples
	for i := range n {
		rc.add(time.Duration(i), cacheUnknown)
	}
	if rc.count != n || len(rc.samples) != maxSamples || rc.max != time.Duration(n-1) {
		t.Fatalf("count %d, kept %d, max %d", rc.count, len(rc.samples), rc.max)
	}
	row := summarize("c", "", []*recorder{rc}, time.Second)
	// The true median is n/2; a uniform sample of 2^20 is within 1%.
	if got, want := row.P50*1e6, float64(n)/2; math.Abs(got-want) > 0.01*want {
		t.Errorf("p50 of the kept sample = %.0f ns, want about %.0f", got, want)
	}
	if row.Requests != n || row.PerSec != float64(n) {
		t.Errorf("row = %+v", row)
	}
}

// TestNextCursorPath reads the continuation of a by-query walk off the
// page's pageInfo without decoding the page.
func TestNextCursorPath(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"items":[{"metadata":{"name":"a"}}],"totalItems":3,"pageInfo":{"nextCursor":"eyJhIjoxfQ=="}}`,
			"/api/catalog/entities/by-query?limit=20&cursor=eyJhIjoxfQ%3D%3D"},
		{`{"items":[],"totalItems":0,"pageInfo":{}}`, ""},
		{`{"items":[],"pageInfo":{"prevCursor":"x"}}`, ""},
		{`{"pageInfo":{"nextCursor":""}}`, ""},
	} {
		if got := nextCursorPath([]byte(tc.body)); got != tc.want {
			t.Errorf("nextCursorPath(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// TestPageDepth draws walks of 1 to 5 pages, the first most often.
func TestPageDepth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[int]int{}
	for range 10000 {
		counts[pageDepth(r)]++
	}
	if len(counts) != 5 || counts[1] < counts[2] || counts[2] < counts[3] || counts[0] != 0 || counts[6] != 0 {
		t.Errorf("depths drawn: %v", counts)
	}
}

func TestSettleCountsDatabaseProcesses(t *testing.T) {
	if got := cpuSince(map[int]float64{1: 1, 2: 2}, map[int]float64{1: 1.5, 3: 0.25}); got != 0.75 {
		t.Errorf("cpuSince = %v, want 0.75 (0.5 of a process seen twice, 0.25 of a new one, none of one gone)", got)
	}
	if dsn := os.Getenv("GREENROOM_TEST_POSTGRES"); !strings.Contains(dsn, "127.0.0.1") && !strings.Contains(dsn, "localhost") {
		return
	}
	// The test database runs on this machine here and in CI: its server
	// and backends are found.
	if pg := postgresCPU(); len(pg) == 0 {
		t.Error("postgresCPU found no PostgreSQL process, with PostgreSQL running on this machine")
	}
}
