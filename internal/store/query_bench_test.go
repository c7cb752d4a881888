package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// The benchmarks run over a generated catalog of GREENROOM_BENCH_ENTITIES
// entities (100000 by default), on SQLite and, when GREENROOM_TEST_POSTGRES
// is set, on PostgreSQL. The loaded database is kept between runs: a SQLite
// file under os.TempDir and a PostgreSQL database gr_bench_…, both named by
// the size, the generator version and the search schema, so that only the
// first run pays for the load (whose time it logs).
//
//	go test ./internal/store -run '^$' -bench 'Query|Facets|ByRef' -benchtime 2000x
//
// Each benchmark also reports its p50 and p99 latency.

func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("GREENROOM_BENCH_ENTITIES")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// benchKey names a cached database: size, generator and the search
// schema (every migration of the search tables, on both engines).
func benchKey(b *testing.B, n int) string {
	b.Helper()
	h := sha256.New()
	search, err := filepath.Glob("migrations/sqlite/*search*.sql")
	if err != nil || len(search) == 0 {
		b.Fatalf("no search migrations: %v", err)
	}
	slices.Sort(search)
	for _, f := range search {
		for _, f := range []string{f, strings.Replace(f, "/sqlite/", "/postgres/", 1)} {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			h.Write(data)
		}
	}
	return fmt.Sprintf("%s_%d_%s", catalogVersion, n, hex.EncodeToString(h.Sum(nil))[:8])
}

// benchStores returns the loaded stores to benchmark, by engine name.
func benchStores(b *testing.B) map[string]*store.Store {
	b.Helper()
	n := benchSize()
	out := map[string]*store.Store{store.DriverSQLite: cachedSQLite(b, n)}
	if os.Getenv(storetest.EnvPostgres) != "" {
		out[store.DriverPostgres] = cachedPostgres(b, n)
	}
	return out
}

func cachedSQLite(b *testing.B, n int) *store.Store {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "greenroom-bench-"+benchKey(b, n))
	ready := filepath.Join(dir, "ready")
	if _, err := os.Stat(ready); err != nil {
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
	}
	s := storetest.Open(b, store.Options{Driver: store.DriverSQLite, SQLitePath: filepath.Join(dir, "greenroom.db"), Logger: storetest.Logger(b)})
	if _, err := os.Stat(ready); err != nil {
		loadBenchCatalog(b, s, n)
		if err := os.WriteFile(ready, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func cachedPostgres(b *testing.B, n int) *store.Store {
	b.Helper()
	admin := os.Getenv(storetest.EnvPostgres)
	name := "gr_bench_" + benchKey(b, n)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Skipf("PostgreSQL unreachable: %v", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
			b.Fatal(err)
		}
	}
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	s := storetest.Open(b, store.Options{Driver: store.DriverPostgres, DSN: u.String(), Logger: storetest.Logger(b)})
	if got, err := s.CountEntities(ctx); err != nil || got != n {
		loadBenchCatalog(b, s, n)
		// Autovacuum vacuums and analyzes a freshly loaded table within a
		// minute or so (which index-only scans need); do it now, as steady
		// state.
		bench, err := pgx.Connect(ctx, u.String())
		if err != nil {
			b.Fatal(err)
		}
		defer bench.Close(ctx)
		if _, err := bench.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func loadBenchCatalog(b *testing.B, s *store.Store, n int) {
	b.Helper()
	recs := genCatalog(n)
	start := time.Now()
	res, err := s.ReplaceSourceEntities(context.Background(), "bench", recs)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: ingested %d entities (%d inserted) in %.1f s", s.Driver(), n, res.Inserted, time.Since(start).Seconds())
}

// measure runs op b.N times and reports p50 and p99 latencies.
func measure(b *testing.B, op func(i int)) {
	b.Helper()
	op(0) // warm the caches and prepare the statements
	var times []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		op(i)
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	at := func(q float64) float64 { return float64(times[int(q*float64(len(times)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

func BenchmarkEntityByRef(b *testing.B) {
	refs := make([]string, 0, 1000)
	recs := genCatalog(benchSize())
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		refs = append(refs, recs[r.IntN(len(recs))].Ref)
	}
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			measure(b, func(i int) {
				if _, err := s.EntityByRef(b.Context(), refs[i%len(refs)]); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// benchQueries are the GET /entities and /entities/by-query requests
// benchmarked, as their query strings.
var benchQueries = []struct{ name, style, params string }{
	{"ByQuery/kind=component/orderName/limit20", "q", "filter=kind=component&orderField=metadata.name,asc&limit=20"},
	{"ByQuery/kind=component/orderName/limit20/totalItems", "qt", "filter=kind=component&orderField=metadata.name,asc&limit=20"},
	{"ByQuery/kind=component,spec.type=service/limit20", "q", "filter=kind=component,spec.type=service&limit=20"},
	{"ByQuery/kind=component,spec.type=service/limit20/totalItems", "qt", "filter=kind=component,spec.type=service&limit=20"},
	{"ByQuery/owner=team-7/orderNameDesc/limit20", "q", "filter=spec.owner=group:default/team-7&orderField=metadata.name,desc&limit=20"},
	{"ByQuery/relations.ownedby=team-7,kind=component/limit20/totalItems", "qt", "filter=relations.ownedby=group:default/team-7,kind=component&limit=20"},
	{"ByQuery/tags.java/orderTitle/limit20", "q", "filter=metadata.tags.java&orderField=metadata.title,asc&limit=20"},
	{"ByQuery/kind=user_or_group/orderName/limit20", "q", "filter=kind=user&filter=kind=group&orderField=metadata.name&limit=20"},
	{"ByQuery/fullText=pay/orderName/limit20", "q", "fullTextFilterTerm=pay&orderField=metadata.name&limit=20"},
	{"ByQuery/fullText=checkout/kind=component/orderName/limit20/totalItems", "qt", "fullTextFilterTerm=checkout&filter=kind=component&orderField=metadata.name&limit=20"},
	// The bench's text class (a common word in two fields), and a term few
	// entities hold, which the ordered walk tested entity by entity until
	// session 13 (textIn).
	{"ByQuery/fullText=order,2fields/kind=component/orderName/limit20/totalItems", "qt", "fullTextFilterTerm=order&fullTextFilterFields=metadata.name,metadata.title&filter=kind=component&orderField=metadata.name,asc&limit=20"},
	{"ByQuery/fullText=rare,2fields/kind=component/orderName/limit20/totalItems", "qt", "fullTextFilterTerm=13766&fullTextFilterFields=metadata.name,metadata.title&filter=kind=component&orderField=metadata.name,asc&limit=20"},
	{"ByQuery/cursorPage5/kind=component/orderName/limit20", "c", "filter=kind=component&orderField=metadata.name&limit=20"},
	{"List/kind=api/orderName/limit20", "l", "filter=kind=api&order=asc:metadata.name&limit=20"},
	{"List/kind=user/offset5000/limit100", "l", "filter=kind=user&limit=100&offset=5000"},
	{"List/lifecycle=production/orderLifecycleDesc/limit20", "l", "filter=spec.lifecycle=production&order=desc:spec.lifecycle&limit=20"},
	// Predicate queries (POST /entities/by-query bodies).
	{"Predicate/component,not_deprecated/orderName/limit20/totalItems", "p",
		`{"query":{"$all":[{"kind":"component"},{"$not":{"spec.lifecycle":"deprecated"}}]},"orderBy":[{"field":"metadata.name","order":"asc"}],"limit":20}`},
	{"Predicate/name_hasPrefix=pay/limit20", "p", `{"query":{"metadata.name":{"$hasPrefix":"pay"}},"limit":20,"totalItems":"exclude"}`},
}

func BenchmarkQueryEntities(b *testing.B) {
	stores := benchStores(b)
	for _, bq := range benchQueries {
		v, err := url.ParseQuery(bq.params)
		if err != nil && bq.style != "p" {
			b.Fatal(err)
		}
		for name, s := range stores {
			b.Run(bq.name+"/"+name, func(b *testing.B) {
				var q query.EntitiesQuery
				switch bq.style {
				case "l":
					q, err = query.ParseEntitiesParams(v)
				case "p":
					q, _, err = query.ParseQueryBody([]byte(bq.params))
				default:
					q, err = query.ParseQueryParams(v)
					q.TotalItems = bq.style == "qt"
				}
				if err != nil {
					b.Fatal(err)
				}
				if bq.style == "c" {
					for range 4 {
						p, err := s.QueryEntities(b.Context(), q)
						if err != nil || p.NextCursor == nil {
							b.Fatalf("walk to page 5: %v", err)
						}
						q = query.EntitiesQuery{Style: query.StyleQuery, Limit: q.Limit, Cursor: p.NextCursor}
					}
				}
				var items int
				measure(b, func(int) {
					p, err := s.QueryEntities(b.Context(), q)
					if err != nil {
						b.Fatal(err)
					}
					items = len(p.Items)
				})
				if items == 0 {
					b.Fatal("the benchmark query returns nothing")
				}
			})
		}
	}
}

var benchFacets = []struct{ name, params string }{
	{"kind", "facet=kind"},
	{"spec.type/kind=component", "facet=spec.type&filter=kind=component"},
	{"metadata.tags", "facet=metadata.tags"},
	{"spec.lifecycle,spec.type/kind=component,owner=team-7", "facet=spec.lifecycle&facet=spec.type&filter=kind=component,spec.owner=group:default/team-7"},
	{"metadata.namespace,kind/kind=user_or_group", "facet=metadata.namespace&facet=kind&filter=kind=user&filter=kind=group"},
}

func BenchmarkEntityFacets(b *testing.B) {
	stores := benchStores(b)
	for _, bf := range benchFacets {
		v, err := url.ParseQuery(bf.params)
		if err != nil {
			b.Fatal(err)
		}
		fq, err := query.ParseFacetsParams(v)
		if err != nil {
			b.Fatal(err)
		}
		for name, s := range stores {
			b.Run(bf.name+"/"+name, func(b *testing.B) {
				measure(b, func(int) {
					f, err := s.EntityFacets(b.Context(), fq.Facets, fq.Filter)
					if err != nil {
						b.Fatal(err)
					}
					if len(f[fq.Facets[0]]) == 0 {
						b.Fatal("no facet values")
					}
				})
			})
		}
	}
}

// BenchmarkReplaceSourceEntities measures a full sync of the generated
// catalog into an empty database (-benchtime 1x is enough), and a resync
// where nothing changed.
func BenchmarkReplaceSourceEntities(b *testing.B) {
	n := benchSize()
	recs := genCatalog(n)
	opts := map[string]func(testing.TB) store.Options{store.DriverSQLite: storetest.SQLiteOptions}
	if os.Getenv(storetest.EnvPostgres) != "" {
		opts[store.DriverPostgres] = storetest.PostgresOptions
	}
	for name, o := range opts {
		b.Run(fmt.Sprintf("%s/new/n=%d", name, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := storetest.Open(b, o(b))
				b.StartTimer()
				if _, err := s.ReplaceSourceEntities(b.Context(), "bench", recs); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if q, err := s.QueryEntities(b.Context(), query.EntitiesQuery{Style: query.StyleQuery, Limit: 1, Filter: mustFilterB(b, "kind=component")}); err != nil || len(q.Items) != 1 {
					b.Fatalf("not queryable: %v", err)
				}
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("%s/unchanged/n=%d", name, n), func(b *testing.B) {
			s := storetest.Open(b, o(b))
			if _, err := s.ReplaceSourceEntities(b.Context(), "bench", recs); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if res, err := s.ReplaceSourceEntities(b.Context(), "bench", recs); err != nil || res.Unchanged != n {
					b.Fatalf("resync: %+v, %v", res, err)
				}
			}
		})
	}
}

// BenchmarkApplySource measures what a catalog refresh of the generated
// catalog into an empty database stores (-benchtime 1x is enough):
// ApplySource with the entities, their relations, and the stitch, which
// indexes every entity a second time with its relations.
func BenchmarkApplySource(b *testing.B) {
	n := benchSize()
	recs, rels := applyInput(b, genCatalog(n))
	opts := map[string]func(testing.TB) store.Options{store.DriverSQLite: storetest.SQLiteOptions}
	if os.Getenv(storetest.EnvPostgres) != "" {
		opts[store.DriverPostgres] = storetest.PostgresOptions
	}
	for name, o := range opts {
		b.Run(fmt.Sprintf("%s/new/n=%d", name, n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s := storetest.Open(b, o(b))
				b.StartTimer()
				if _, err := s.ApplySource(b.Context(), "bench", recs, rels); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p, err := s.QueryEntities(b.Context(), query.EntitiesQuery{Style: query.StyleQuery, Limit: 1, Filter: mustFilterB(b, "kind=user", "relations.memberof")})
				if err != nil || len(p.Items) != 1 {
					b.Fatalf("not queryable by relation: %v", err)
				}
				b.StartTimer()
			}
		})
	}
}

// applyInput turns generated records into ApplySource's input: bodies
// without relations (the stitch adds them) and the relations apart.
func applyInput(b *testing.B, recs []store.EntityRecord) ([]store.EntityRecord, []catalog.StoredRelation) {
	b.Helper()
	var rels []catalog.StoredRelation
	out := make([]store.EntityRecord, len(recs))
	for i, r := range recs {
		var ent map[string]any
		if err := json.Unmarshal(r.Body, &ent); err != nil {
			b.Fatal(err)
		}
		list, _ := ent["relations"].([]any)
		for _, item := range list {
			rel := item.(map[string]any)
			rels = append(rels, catalog.StoredRelation{SourceRef: r.Ref, Type: rel["type"].(string), TargetRef: strings.ToLower(rel["targetRef"].(string))})
		}
		delete(ent, "relations")
		body, err := json.Marshal(ent)
		if err != nil {
			b.Fatal(err)
		}
		r.Body = body
		out[i] = r
	}
	return out, rels
}

func mustFilterB(b *testing.B, filters ...string) *query.Filter {
	f, err := query.ParseFilter(url.Values{"filter": filters})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// benchVaried are by-query requests whose filter changes every iteration,
// as the bench command's load sends them (random owners, kinds, tags,
// words): the planner's estimates and the counts are not cached.
var benchVaried = []struct {
	name  string
	query func(i int) url.Values
}{
	{"kind=component,spec.owner=<group>/limit20", func(i int) url.Values {
		return url.Values{"filter": {fmt.Sprintf("kind=component,spec.owner=group:default/team-%d", (i*7919)%1000)}, "limit": {"20"}}
	}},
	{"kind=<kind>,metadata.tags=<tag>/limit20", func(i int) url.Values {
		kinds := []string{"component", "api", "resource", "system"}
		return url.Values{"filter": {"kind=" + kinds[i%len(kinds)] + ",metadata.tags=" + tagWords[(i/len(kinds))%len(tagWords)]}, "limit": {"20"}}
	}},
	{"kind=component,text=<word>/orderName/limit20", func(i int) url.Values {
		return url.Values{"filter": {"kind=component"}, "fullTextFilterTerm": {words[i%len(words)]},
			"fullTextFilterFields": {"metadata.name,metadata.title"}, "orderField": {"metadata.name,asc"}, "limit": {"20"}}
	}},
}

func BenchmarkQueryVaried(b *testing.B) {
	stores := benchStores(b)
	for _, bv := range benchVaried {
		for name, s := range stores {
			b.Run(bv.name+"/"+name, func(b *testing.B) {
				// Consecutive iterations ask different filters, so the
				// planner's estimates are seldom cached (pages never are).
				var items int
				measure(b, func(i int) {
					q, err := query.ParseQueryParams(bv.query(i))
					if err != nil {
						b.Fatal(err)
					}
					p, err := s.QueryEntities(b.Context(), q)
					if err != nil {
						b.Fatal(err)
					}
					items += len(p.Items)
				})
				if items == 0 {
					b.Fatal("the benchmark queries return nothing")
				}
			})
		}
	}
}
