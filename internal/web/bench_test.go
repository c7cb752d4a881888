package web

import (
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// The page benchmarks render the portal over a generated catalog of
// GREENROOM_BENCH_ENTITIES entities (10000 by default) on SQLite and, when
// GREENROOM_TEST_POSTGRES is set, PostgreSQL, one request at a time
// through the real catalog service and store:
//
//	go test ./internal/web -run '^$' -bench Pages -benchtime 200x
//
// Each reports p50/p95/p99 latency, the page's HTML bytes, and the bytes
// of a cold load (HTML + CSS + JS + icon, uncompressed and gzipped as the
// server sends them).

func benchEntities() int {
	if n, err := strconv.Atoi(os.Getenv("GREENROOM_BENCH_ENTITIES")); err == nil && n >= catalogtest.MinEntities {
		return n
	}
	return 10000
}

// benchPortal loads a generated catalog into st and returns the portal
// and the paths to measure.
func benchPortal(b *testing.B, st *store.Store) (*http.ServeMux, map[string]string) {
	b.Helper()
	n := benchEntities()
	ents, err := catalogtest.Generate(n, 1)
	if err != nil {
		b.Fatal(err)
	}
	lay, err := catalogtest.Write(b.TempDir(), ents, 2000)
	if err != nil {
		b.Fatal(err)
	}
	src, err := catalog.FileSource(lay.Root, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := catalog.NewService(st, []catalog.Source{src}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := svc.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d entities loaded in %.1f s", st.Driver(), n, time.Since(start).Seconds())
	if st.Driver() == store.DriverPostgres {
		// Autovacuum analyzes a freshly loaded table within a minute or
		// so; do it now, to measure the steady state.
		if _, err := st.WriteDB().ExecContext(b.Context(), "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	h, err := New("Bench Portal", svc, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Watch(b.Context()); err != nil { // as serve does: facet counts are cached between changes
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)

	var component, group, user, system catalogtest.Entity
	for _, e := range ents {
		switch {
		case e.Kind == "Component" && component.Kind == "" && hasDeps(e):
			component = e
		case e.Kind == "Group" && group.Kind == "":
			group = e
		case e.Kind == "User" && user.Kind == "":
			user = e
		case e.Kind == "System" && system.Kind == "":
			system = e
		}
	}
	path := func(e catalogtest.Entity) string {
		return "/catalog/" + e.Namespace() + "/" + strings.ToLower(e.Kind) + "/" + e.Metadata.Name
	}
	word := catalogtest.Words()[0]
	paths := map[string]string{
		"home":                 "/",
		"catalog":              "/catalog",
		"catalog_all_kinds":    "/catalog?filters%5Bkind%5D=",
		"catalog_filtered":     "/catalog?filters%5Bkind%5D=component&filters%5Btype%5D=service&filters%5Blifecycles%5D=production",
		"catalog_text":         "/catalog?filters%5Bkind%5D=&filters%5Btext%5D=" + url.QueryEscape(word),
		"catalog_by_owner":     "/catalog?filters%5Bkind%5D=component&filters%5Bowners%5D=" + url.QueryEscape(group.Ref()),
		"entity":               path(component),
		"entity_dependencies":  path(component) + "/dependencies",
		"entity_apis":          path(component) + "/api",
		"group":                path(group),
		"user":                 path(user),
		"system_dependencies":  path(system) + "/dependencies",
		"api_docs":             "/api-docs",
		"entity_not_found_404": "/catalog/default/component/" + word + "-missing",
	}
	// The second page of the catalog, through its cursor.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/catalog", nil))
	if i := strings.Index(rec.Body.String(), `rel="next"`); i > 0 {
		body := rec.Body.String()[:i]
		j := strings.LastIndex(body, `href="`)
		next := strings.ReplaceAll(body[j+6:strings.LastIndex(body, `"`)], "&amp;", "&")
		paths["catalog_page_2"] = next
	}
	return mux, paths
}

func BenchmarkPages(b *testing.B) {
	for _, engine := range benchEngines() {
		b.Run(engine, func(b *testing.B) {
			st := benchStore(b, engine)
			mux, paths := benchPortal(b, st)
			names := make([]string, 0, len(paths))
			for k := range paths {
				names = append(names, k)
			}
			slices.Sort(names)
			assets := coldAssets(b, mux)
			for _, name := range names {
				p := paths[name]
				b.Run(name, func(b *testing.B) {
					var size, gz int
					measurePages(b, func() {
						rec := httptest.NewRecorder()
						mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
						if rec.Code != 200 && !(strings.HasSuffix(name, "_404") && rec.Code == 404) {
							b.Fatalf("%s: status %d", p, rec.Code)
						}
						size = rec.Body.Len()
						gz = gzipSize(rec.Body.Bytes())
					})
					b.ReportMetric(float64(size)/1024, "html-KB")
					b.ReportMetric(float64(size+assets.raw)/1024, "cold-KB")
					b.ReportMetric(float64(gz+assets.gz)/1024, "cold-gzip-KB")
				})
			}
		})
	}
}

func hasDeps(e catalogtest.Entity) bool {
	s, ok := e.Spec.(catalogtest.ComponentSpec)
	if !ok {
		p, _ := e.Spec.(*catalogtest.ComponentSpec)
		return p != nil && len(p.DependsOn) > 0 && len(p.ProvidesAPIs) > 0
	}
	return len(s.DependsOn) > 0 && len(s.ProvidesAPIs) > 0
}

func benchEngines() []string {
	out := []string{store.DriverSQLite}
	if os.Getenv(storetest.EnvPostgres) != "" {
		out = append(out, store.DriverPostgres)
	}
	return out
}

func benchStore(b *testing.B, engine string) *store.Store {
	if engine == store.DriverPostgres {
		return storetest.Postgres(b)
	}
	return storetest.SQLite(b)
}

// measurePages runs op b.N times and reports p50, p95 and p99 latencies.
func measurePages(b *testing.B, op func()) {
	b.Helper()
	op() // warm caches and prepared statements
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		op()
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	at := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

type assetSizes struct{ raw, gz int }

// coldAssets sums the stylesheet, script and icon a first visit loads.
func coldAssets(b *testing.B, mux *http.ServeMux) assetSizes {
	b.Helper()
	var s assetSizes
	for _, u := range []string{"app.css", "app.js", "icon.svg"} {
		a, err := loadAssets()
		if err != nil {
			b.Fatal(err)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, a.URL(u), nil))
		if rec.Code != 200 {
			b.Fatalf("%s: %d", u, rec.Code)
		}
		s.raw += rec.Body.Len()
		s.gz += gzipSize(rec.Body.Bytes())
	}
	return s
}

func gzipSize(p []byte) int {
	var c countWriter
	zw, _ := gzip.NewWriterLevel(&c, gzip.BestSpeed) // the server's level
	zw.Write(p)
	zw.Close()
	return int(c)
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
