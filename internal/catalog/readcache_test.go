package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/catalog"
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

// TestReadCacheBounded: the cache stays within its byte bound whatever is
// read, evicting the least recently used, and still answers right.
func TestReadCacheBounded(t *testing.T) {
	st := storetest.SQLite(t)
	names := make([]string, 200)
	docs := make([]string, len(names))
	for i := range names {
		names[i] = fmt.Sprintf("svc-%03d", i)
		docs[i] = described(names[i], strings.Repeat("x", 200), "")
	}
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.Join(docs, "---\n"))}}
	svc := newService(t, st, catalog.OrphanDelete, memSource("src", fsys))
	const bound = 32 << 10
	svc.SetReadCacheBytes(bound)
	refresh(t, svc)
	ctx := t.Context()
	for round := range 2 {
		for _, n := range names {
			r := readByName(t, ctx, svc, "component:default/"+n)
			if !strings.Contains(r.body, `"name":"`+n+`"`) {
				t.Fatalf("%s: served %s", n, r.body)
			}
			if round == 1 && r.hit {
				t.Errorf("%s: a hit in the second sweep, though 200 entities do not fit and the oldest go first", n)
			}
		}
		if s := svc.ReadCacheStats(); s.Bytes > bound || s.Entries == 0 || s.Entries >= len(names) {
			t.Errorf("round %d: %+v, want 0 < entries < %d within %d bytes", round, s, len(names), bound)
		}
	}
	// The most recently read are kept.
	if r := readByName(t, ctx, svc, "component:default/"+names[len(names)-1]); !r.hit {
		t.Errorf("the last entity read: %+v, want a hit", r)
	}
	svc.SetReadCacheBytes(-1)
	if r := readByName(t, ctx, svc, "component:default/"+names[0]); r.used {
		t.Errorf("with the cache off: %+v", r)
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
