package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// follow starts the store's change listener (PostgreSQL) and waits until
// it is in place, as serve does before the read cache is trusted.
func follow(t *testing.T, st *store.Store) {
	t.Helper()
	ready := make(chan struct{}, 1)
	go st.FollowCatalogVersion(t.Context(), func() {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("catalog version listener never ready")
	}
}

// cachedRead is one read with whether the read cache answered it.
type cachedRead struct {
	body      string
	hit, used bool
	notFound  bool
}

func readByName(t *testing.T, ctx context.Context, svc *catalog.Service, ref string) cachedRead {
	t.Helper()
	r, err := greenroom.ParseEntityRef(ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, note := catalog.WithCacheNote(ctx)
	raw, err := svc.EntityByName(ctx, r)
	if greenroom.IsNotFound(err) {
		return cachedRead{notFound: true, hit: note.Hit, used: note.Used}
	}
	if err != nil {
		t.Fatal(err)
	}
	return cachedRead{body: string(raw), hit: note.Hit, used: note.Used}
}

func readPage(t *testing.T, ctx context.Context, svc *catalog.Service, filter string) cachedRead {
	t.Helper()
	q, err := query.ParseQueryParams(map[string][]string{"filter": {filter}, "limit": {"20"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, note := catalog.WithCacheNote(ctx)
	page, err := svc.QueryEntities(ctx, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(struct {
		Items []json.RawMessage
		Total int
	}{page.Items, page.TotalItems})
	return cachedRead{body: string(b), hit: note.Hit, used: note.Used}
}

const describedComponent = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
  description: %s
spec:
  type: service
  lifecycle: production
  owner: team-a
%s`

func described(name, desc, extra string) string {
	return fmt.Sprintf(describedComponent, name, desc, extra)
}

// TestReadCacheFollowsWrites: a cached entity or page is served until a
// commit changes the catalog, and the next read after the commit is
// fresh: an update, a change of a related entity's relations, a delete.
func TestReadCacheFollowsWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		follow(t, st)
		ctx := t.Context()
		fsys := fstest.MapFS{"all.yaml": {Data: []byte(described("api-svc", "one", "") + "---\n" + described("web", "plain", ""))}}
		svc := newService(t, st, catalog.OrphanDelete, memSource("src", fsys))
		refresh(t, svc)

		first := readByName(t, ctx, svc, "component:default/api-svc")
		again := readByName(t, ctx, svc, "component:default/api-svc")
		if first.hit || !first.used || !again.hit || again.body != first.body || !strings.Contains(first.body, `"one"`) {
			t.Fatalf("by name: first %+v, again %+v: want a miss, then a hit with the same body", first, again)
		}
		p1, p2 := readPage(t, ctx, svc, "kind=component"), readPage(t, ctx, svc, "kind=component")
		if p1.hit || !p2.hit || p1.body != p2.body {
			t.Fatalf("page: first %+v, again %+v", p1, p2)
		}

		// An update: the next reads are misses and fresh.
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(described("api-svc", "two", "") + "---\n" + described("web", "plain", ""))}
		refresh(t, svc)
		if r := readByName(t, ctx, svc, "component:default/api-svc"); r.hit || !strings.Contains(r.body, `"two"`) {
			t.Errorf("after the update: %+v, want a fresh miss describing two", r)
		}
		if r := readPage(t, ctx, svc, "kind=component"); r.hit || !strings.Contains(r.body, `"two"`) {
			t.Errorf("page after the update: %+v", r)
		}

		// web starts depending on api-svc: api-svc's stitched relations
		// change though its own document did not.
		readByName(t, ctx, svc, "component:default/api-svc") // cached again
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(described("api-svc", "two", "") + "---\n" +
			described("web", "plain", "  dependsOn: [component:default/api-svc]\n"))}
		refresh(t, svc)
		if r := readByName(t, ctx, svc, "component:default/api-svc"); r.hit || !strings.Contains(r.body, "dependencyOf") {
			t.Errorf("after a related entity changed: %+v, want its new dependencyOf relation", r)
		}

		// A delete through the API.
		var e struct{ Metadata struct{ UID string } }
		if err := json.Unmarshal([]byte(readByName(t, ctx, svc, "component:default/web").body), &e); err != nil {
			t.Fatal(err)
		}
		readByName(t, ctx, svc, "component:default/web")
		if err := svc.DeleteEntityByUID(ctx, e.Metadata.UID); err != nil {
			t.Fatal(err)
		}
		if r := readByName(t, ctx, svc, "component:default/web"); !r.notFound {
			t.Errorf("after the delete: %+v, want not found", r)
		}
		if r := readPage(t, ctx, svc, "kind=component"); strings.Contains(r.body, `"name":"web"`) {
			t.Errorf("page after the delete still lists web: %s", r.body)
		}
		if n := componentCount(t, svc); n != 1 {
			t.Errorf("facets after the delete count %d components, want 1", n)
		}
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(described("api-svc", "two", "") + "---\n" + described("web", "plain", "") +
			"---\n" + described("third", "three", ""))}
		refresh(t, svc)
		if n := componentCount(t, svc); n != 3 {
			t.Errorf("facets after two more components count %d, want 3", n)
		}
	})
}

// TestReadCacheAcrossReplicas: on PostgreSQL a replica's cache follows
// another replica's commits through the version announcement, and caches
// nothing while its listener is not in place.
func TestReadCacheAcrossReplicas(t *testing.T) {
	opts := storetest.PostgresOptions(t)
	a, b := storetest.Open(t, opts), storetest.Open(t, opts)
	ctx := t.Context()
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(described("shared", "one", ""))}}
	writer := newService(t, a, catalog.OrphanDelete, memSource("src", fsys))
	reader := newService(t, b, catalog.OrphanDelete)
	refresh(t, writer)

	if r := readByName(t, ctx, reader, "component:default/shared"); r.used {
		t.Fatalf("read without a listener: %+v, want it not cached", r)
	}
	follow(t, b)
	readByName(t, ctx, reader, "component:default/shared")
	if r := readByName(t, ctx, reader, "component:default/shared"); !r.hit {
		t.Fatalf("second read with the listener: %+v, want a hit", r)
	}
	fsys["all.yaml"] = &fstest.MapFile{Data: []byte(described("shared", "two", ""))}
	committed := time.Now()
	refresh(t, writer)
	for {
		r := readByName(t, ctx, reader, "component:default/shared")
		if strings.Contains(r.body, `"two"`) {
			t.Logf("the other replica served the change %s after the commit", time.Since(committed).Round(time.Millisecond))
			break
		}
		if time.Since(committed) > 2*time.Second {
			t.Fatalf("the other replica still serves %s 2 s after the commit", r.body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type scopeKey struct{}

// TestReadCacheScopes: answers are cached per read scope: a restricted
// caller never gets what an unrestricted one cached (nor the reverse), and
// a restricted scope without a CacheKey is never cached.
func TestReadCacheScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		follow(t, st)
		fsys := fstest.MapFS{"all.yaml": {Data: []byte(described("open", "o", "  dependsOn: [component:secret/hidden]\n") +
			"---\n" + strings.Replace(described("hidden", "h", ""), "  name: hidden", "  name: hidden\n  namespace: secret", 1))}}
		svc := newService(t, st, catalog.OrphanDelete, memSource("src", fsys))
		refresh(t, svc)
		onlyDefault := func(key string) catalog.ReadScope {
			f := query.In("metadata.namespace", "default")
			return catalog.ReadScope{Filter: &f, CacheKey: key, Visible: func(ref string) bool {
				return !strings.Contains(ref, ":secret/")
			}}
		}
		svc.SetReadFilter(func(ctx context.Context) (catalog.ReadScope, error) {
			if sc, ok := ctx.Value(scopeKey{}).(catalog.ReadScope); ok {
				return sc, nil
			}
			return catalog.ReadScope{}, nil
		})
		all := t.Context()
		keyed := context.WithValue(all, scopeKey{}, onlyDefault("default-only"))
		unkeyed := context.WithValue(all, scopeKey{}, onlyDefault(""))

		for range 2 { // the second round reads what the first cached
			if r := readByName(t, all, svc, "component:default/open"); !strings.Contains(r.body, "secret/hidden") {
				t.Errorf("unrestricted: %+v, want the relation to the hidden entity", r)
			}
			if r := readByName(t, keyed, svc, "component:default/open"); r.notFound || strings.Contains(r.body, "secret/hidden") {
				t.Errorf("restricted: %+v, want the entity without the hidden relation", r)
			}
			if r := readByName(t, keyed, svc, "component:secret/hidden"); !r.notFound {
				t.Errorf("restricted read of the hidden entity: %+v, want not found", r)
			}
			if r := readByName(t, all, svc, "component:secret/hidden"); r.notFound {
				t.Error("unrestricted read of the hidden entity: not found")
			}
			if r := readPage(t, keyed, svc, "kind=component"); strings.Contains(r.body, "hidden") {
				t.Errorf("restricted page: %s", r.body)
			}
			if r := readPage(t, all, svc, "kind=component"); !strings.Contains(r.body, `"name":"hidden"`) {
				t.Errorf("unrestricted page: %s", r.body)
			}
			if r := readByName(t, unkeyed, svc, "component:default/open"); r.used || strings.Contains(r.body, "secret/hidden") {
				t.Errorf("restricted scope without a CacheKey: %+v, want uncached and scrubbed", r)
			}
		}
		if r := readByName(t, keyed, svc, "component:default/open"); !r.hit {
			t.Errorf("third keyed read: %+v, want a hit", r)
		}
	})
}

// TestReadCacheOff: with the cache turned off nothing is cached, and
// turning it on again starts caching. (How the cache stays within its
// bound is TestReadCacheBoundedOffHeap's, on the cache itself: the
// smallest bound is 32 MiB.)
func TestReadCacheOff(t *testing.T) {
	st, refs := generatedCatalog(t, 20)
	svc := reader(t, st)
	ctx := t.Context()
	svc.SetReadCacheBytes(-1)
	for range 2 {
		if r := readByName(t, ctx, svc, refs[0]); r.used || r.hit {
			t.Fatalf("with the cache off: %+v", r)
		}
		if _, note := readPageFields(t, svc, "kind=component", ""); note.Used {
			t.Fatalf("page with the cache off: %+v", note)
		}
	}
	svc.SetReadCacheBytes(0)
	readByName(t, ctx, svc, refs[0])
	if r := readByName(t, ctx, svc, refs[0]); !r.hit {
		t.Fatalf("with the cache on again: %+v, want a hit", r)
	}
}

// componentCount reads the kind facet twice (the second from the cache
// when nothing changed) and returns its count of components.
func componentCount(t *testing.T, svc *catalog.Service) int {
	t.Helper()
	n := -1
	for i := range 2 {
		ctx, note := catalog.WithCacheNote(t.Context())
		resp, err := svc.Facets(ctx, query.FacetsQuery{Facets: []string{"kind"}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && !note.Hit {
			t.Error("the second facets read was not a cache hit")
		}
		got := 0
		for _, c := range resp.Facets["kind"] {
			if strings.EqualFold(c.Value, "component") {
				got = c.Count
			}
		}
		if i == 1 && got != n {
			t.Errorf("cached facets count %d components, then %d", n, got)
		}
		n = got
		resp.Facets["kind"] = nil // the caller's own: later answers unchanged
	}
	return n
}

// generatedCatalog refreshes n generated entities, written as `greenroom
// bench catalog` writes them, into a SQLite store, and returns the store
// and the entities' refs.
func generatedCatalog(tb testing.TB, n int) (*store.Store, []string) {
	tb.Helper()
	ents, err := catalogtest.Generate(n, 1)
	if err != nil {
		tb.Fatal(err)
	}
	lay, err := catalogtest.Write(tb.TempDir(), ents, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	src, err := catalog.FileSource(lay.Root, nil)
	if err != nil {
		tb.Fatal(err)
	}
	st := storetest.SQLite(tb)
	if err := reader(tb, st, src).Refresh(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	refs := make([]string, len(ents))
	for i, e := range ents {
		refs[i] = e.Ref()
	}
	return st, refs
}

// reader returns a service over st with an empty read cache.
func reader(tb testing.TB, st *store.Store, sources ...catalog.Source) *catalog.Service {
	tb.Helper()
	svc, err := catalog.NewService(st, sources, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// TestReadCacheCompressesGeneratedEntities measures what snappy makes of
// the served entities of a generated catalog (the figure behind
// DefaultReadCacheBytes), and checks that all of them are cached.
func TestReadCacheCompressesGeneratedEntities(t *testing.T) {
	st, refs := generatedCatalog(t, 1000)
	ctx := t.Context()
	svc := reader(t, st)
	var raw, zipped int
	for _, ref := range refs {
		r := readByName(t, ctx, svc, ref)
		raw += len(r.body)
		zipped += len(snappy.Encode(nil, []byte(r.body)))
	}
	ratio := float64(zipped) / float64(raw)
	t.Logf("%d entities: %.0f bytes of JSON on average, %.0f with snappy (ratio %.3f); the cache counts %+v",
		len(refs), float64(raw)/float64(len(refs)), float64(zipped)/float64(len(refs)), ratio, svc.ReadCacheStats())
	if ratio > 0.7 {
		t.Errorf("snappy ratio %.2f on served entities, want ≤ 0.7 (DefaultReadCacheBytes assumes 0.62)", ratio)
	}
	if s := svc.ReadCacheStats(); s.Entries != len(refs) {
		t.Errorf("the cache counts %+v after reading %d entities once: want all held", s, len(refs))
	}
	for _, filter := range []string{"kind=component", "kind=group", "kind=user", "kind=api"} {
		page, _ := readPageFields(t, svc, filter, "")
		var all []byte
		for _, it := range page.Items {
			all = append(all, it...)
		}
		r := float64(len(snappy.Encode(nil, all))) / float64(len(all))
		t.Logf("a page of %d, %s: %d bytes of JSON, ratio %.3f", len(page.Items), filter, len(all), r)
		if r > 0.35 {
			t.Errorf("snappy ratio %.2f on a page of %s, want ≤ 0.35 (DefaultReadCacheBytes assumes 0.20–0.27)", r, filter)
		}
	}
}

// readPageFields is one by-query page of 20 entities matching filter,
// projected to fields, with whether the read cache answered it.
func readPageFields(tb testing.TB, svc *catalog.Service, filter, fields string) (query.EntitiesPage[json.RawMessage], *catalog.CacheNote) {
	tb.Helper()
	q, err := query.ParseQueryParams(url.Values{"filter": {filter}, "limit": {"20"}})
	if err != nil {
		tb.Fatal(err)
	}
	var f query.Fields
	if fields != "" {
		if f, err = query.ParseFields(url.Values{"fields": {fields}}); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, note := catalog.WithCacheNote(tb.Context())
	page, err := svc.QueryEntities(ctx, q, f)
	if err != nil {
		tb.Fatal(err)
	}
	return page, note
}

// pageView is a page in a form go-cmp compares and prints.
type pageView struct {
	Items []string
	Rest  query.EntitiesPage[json.RawMessage] // without Items
}

func pageText(p query.EntitiesPage[json.RawMessage]) pageView {
	items := make([]string, len(p.Items))
	for i, it := range p.Items {
		items[i] = string(it)
	}
	p.Items = nil
	return pageView{items, p}
}

// TestReadCacheRoundTrip: what a hit serves, decompressed, is what the
// miss served, for entities by name and for pages (whole entities, small
// projected items kept raw, and no items at all).
func TestReadCacheRoundTrip(t *testing.T) {
	st, refs := generatedCatalog(t, 200)
	svc := reader(t, st)
	ctx := t.Context()
	for _, ref := range []string{refs[0], refs[len(refs)/2], refs[len(refs)-1]} {
		t.Run(ref, func(t *testing.T) {
			miss, hit := readByName(t, ctx, svc, ref), readByName(t, ctx, svc, ref)
			if miss.hit || !hit.hit {
				t.Fatalf("first read hit %v, second %v: want a miss, then a hit", miss.hit, hit.hit)
			}
			if hit.body != miss.body || !json.Valid([]byte(hit.body)) {
				t.Errorf("hit served\n%s\nmiss served\n%s", hit.body, miss.body)
			}
		})
	}
	for _, tc := range []struct{ name, filter, fields string }{
		{"components", "kind=component", ""},
		{"groups", "kind=group", ""},
		{"names only", "kind=user", "metadata.name"},
		{"one small item", "metadata.name=" + strings.SplitN(refs[0], "/", 2)[1], "kind"},
		{"none", "kind=nothing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			miss, mn := readPageFields(t, svc, tc.filter, tc.fields)
			hit, hn := readPageFields(t, svc, tc.filter, tc.fields)
			if mn.Hit || !hn.Hit {
				t.Fatalf("first read hit %v, second %v: want a miss, then a hit", mn.Hit, hn.Hit)
			}
			if d := cmp.Diff(pageText(miss), pageText(hit)); d != "" {
				t.Errorf("hit differs from miss (-miss +hit):\n%s", d)
			}
			if tc.name != "none" && len(hit.Items) == 0 {
				t.Errorf("%s: no items", tc.filter)
			}
		})
	}
}

// TestReadCacheHitsAreCallersOwn: a caller that changes what it was
// served, on a miss or a hit, changes nothing the next hit serves.
func TestReadCacheHitsAreCallersOwn(t *testing.T) {
	st, refs := generatedCatalog(t, 50)
	svc := reader(t, st)
	ctx := t.Context()
	ref, err := greenroom.ParseEntityRef(refs[len(refs)-1], "", "")
	if err != nil {
		t.Fatal(err)
	}
	scribble := func(b []byte) {
		for i := range b {
			b[i] = '#'
		}
	}
	var want string
	for i := range 3 {
		body, err := svc.EntityByName(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want = string(body)
		} else if string(body) != want {
			t.Fatalf("read %d after the caller scribbled on its answer: %s, want %s", i+1, body, want)
		}
		scribble(body)
	}

	first, _ := readPageFields(t, svc, "kind=component", "")
	wantPage := pageText(first)
	for i := range 3 {
		page, note := readPageFields(t, svc, "kind=component", "")
		if d := cmp.Diff(wantPage, pageText(page)); d != "" || !note.Hit {
			t.Fatalf("page read %d (hit %v) after the caller changed its answer (-want +got):\n%s", i+2, note.Hit, d)
		}
		// An append to one item must not run into the next, which the
		// same decoded buffer holds.
		if len(page.Items) > 1 {
			_ = append(page.Items[0], "#####"...)
			if got := string(page.Items[1]); got != wantPage.Items[1] {
				t.Fatalf("an append to the first item changed the second: %s", got)
			}
		}
		for _, it := range page.Items {
			scribble(it)
		}
		slices.Reverse(page.Items)
	}
}

// BenchmarkReadCacheHit measures answers served from the read cache: an
// entity by name and a page of 20 whole entities, decompressed on every
// hit.
func BenchmarkReadCacheHit(b *testing.B) {
	st, refs := generatedCatalog(b, 200)
	svc := reader(b, st)
	ref, err := greenroom.ParseEntityRef(refs[len(refs)/2], "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("by-name", func(b *testing.B) {
		ctx, note := catalog.WithCacheNote(b.Context())
		for range 2 {
			if _, err := svc.EntityByName(ctx, ref); err != nil {
				b.Fatal(err)
			}
		}
		if !note.Hit {
			b.Fatal("the second read was not a hit")
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.EntityByName(b.Context(), ref); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("page-20", func(b *testing.B) {
		q, err := query.ParseQueryParams(url.Values{"filter": {"kind=component"}, "limit": {"20"}})
		if err != nil {
			b.Fatal(err)
		}
		readPageFields(b, svc, "kind=component", "")
		if p, note := readPageFields(b, svc, "kind=component", ""); !note.Hit || len(p.Items) != 20 {
			b.Fatalf("second read: hit %v, %d items; want a hit of 20", note.Hit, len(p.Items))
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.QueryEntities(b.Context(), q, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
