package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/config"
)

// BenchmarkHTTPCatalog measures the CPU and allocations of one catalog read
// through the whole handler chain serve builds (request id, proxy trust,
// access log to a text logger, recovery, body limit, timeout, compression,
// sign-in, authorization, the mux, the API handler and the catalog with its
// read cache) on a real SQLite store, the way `bench catalog` calls it:
// no Accept-Encoding, as its client sends none. GREENROOM_BENCH_ENTITIES
// sets the catalog's size (default 2000).
func BenchmarkHTTPCatalog(b *testing.B) {
	n := 2000
	if v := os.Getenv("GREENROOM_BENCH_ENTITIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	h, a, ents := benchHTTPApp(b, n)
	byName := func(i int) string {
		e := ents[i%len(ents)]
		return "/api/catalog/entities/by-name/" + url.PathEscape(strings.ToLower(e.Kind)) + "/" +
			url.PathEscape(e.Namespace()) + "/" + url.PathEscape(e.Metadata.Name)
	}
	cases := []struct {
		name     string
		path     func(i int) string
		uncached bool
	}{
		{name: "by-name", path: byName},
		{name: "facets", path: func(i int) string {
			return [...]string{"/api/catalog/entity-facets?facet=kind",
				"/api/catalog/entity-facets?facet=spec.type&filter=kind%3Dcomponent",
				"/api/catalog/entity-facets?facet=metadata.tags"}[i%3]
		}},
		{name: "by-query", path: func(i int) string {
			return [...]string{"/api/catalog/entities/by-query?filter=kind%3Dcomponent&limit=20",
				"/api/catalog/entities/by-query?filter=kind%3Dgroup&limit=20&orderField=metadata.name%2Casc"}[i%2]
		}},
		// A read cache miss, as most by-name requests of the bench's
		// 100k-entity load are: the store answers.
		{name: "by-name-uncached", path: byName, uncached: true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.uncached {
				a.catalog.SetReadCacheBytes(-1) // only this goroutine reads
				defer a.catalog.SetReadCacheBytes(0)
			}
			// Warm the read cache: during the bench's load most answers of
			// a class come from it once each has been asked once.
			for i := range len(ents) {
				benchHTTPGet(b, h, c.path(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU(b)
			n := 0
			for ; b.Loop(); n++ {
				benchHTTPGet(b, h, c.path(n))
			}
			// CPU time, not wall time: the machines this runs on are shared.
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time of this process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardWriter is a ResponseWriter that keeps only the status, so that
// the benchmark measures the server's work and not a recorder's copying.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func benchHTTPGet(b *testing.B, h http.Handler, path string) {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = "127.0.0.1:50000"
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK || w.n == 0 {
		b.Fatalf("GET %s: status %d, %d bytes", path, w.status, w.n)
	}
}

// benchHTTPApp builds the app `bench catalog` starts, with its
// configuration, on n generated entities, and returns its handler.
func benchHTTPApp(b *testing.B, n int) (http.Handler, *app, []catalogtest.Entity) {
	b.Helper()
	ents, err := catalogtest.Generate(n, 1)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	lay, err := catalogtest.Write(filepath.Join(dir, "catalog"), ents, 1000)
	if err != nil {
		b.Fatal(err)
	}
	cfgText := fmt.Sprintf("techdocs:\n  builder: external\ncatalog:\n  processingInterval: { minutes: 30 }\n  rules:\n    - allow: [%s, Location]\n  locations:\n    - type: file\n      target: %q\n",
		strings.Join(catalogtest.Kinds, ", "), lay.Root)
	cfgPath := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, _, err := config.Load(config.LoadOptions{Files: []string{cfgPath}})
	if err != nil {
		b.Fatal(err)
	}
	logger, err := newLogger(io.Discard, cfg.Greenroom.Log.Format, cfg.Greenroom.Log.Level)
	if err != nil {
		b.Fatal(err)
	}
	a, err := buildApp(b.Context(), cfg, &serveFlags{dataDir: filepath.Join(dir, "data"), noDemo: true}, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.store.Close() })
	// As serve does: the jobs pool runs the refresh and what follows it.
	a.pool.Start(b.Context())
	if err := a.catalog.RequestRefresh(b.Context(), ""); err != nil {
		b.Fatal(err)
	}
	h := a.server.Handler()
	countPath := "/api/catalog/entities/by-query?" + generatedKindsQuery()
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		r := httptest.NewRequest(http.MethodGet, countPath, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var page struct{ TotalItems int }
		if err := json.Unmarshal(w.Body.Bytes(), &page); err == nil && page.TotalItems >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d entities queryable: %s", page.TotalItems, n, w.Body)
		}
	}
	// The background work that follows an ingest (stitching, search
	// indexing) commits for a while, and each commit empties the read
	// cache: wait until a pass over every entity misses none.
	for deadline := time.Now().Add(5 * time.Minute); ; {
		before := a.catalog.ReadCacheStats().Misses
		for i, e := range ents {
			if i < 2 {
				time.Sleep(100 * time.Millisecond)
			}
			benchHTTPGet(b, h, "/api/catalog/entities/by-name/"+url.PathEscape(strings.ToLower(e.Kind))+"/"+
				url.PathEscape(e.Namespace())+"/"+url.PathEscape(e.Metadata.Name))
		}
		if a.catalog.ReadCacheStats().Misses == before {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the catalog did not settle")
		}
	}
	return h, a, ents
}
