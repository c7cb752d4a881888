package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// countingStore is a real store that counts the calls that write a
// source's entities or state, so that a test tells a skipped refresh from
// one that wrote the same thing again.
type countingStore struct {
	*store.Store
	mu     sync.Mutex
	writes map[string]int
}

func newCountingStore(s *store.Store) *countingStore {
	return &countingStore{Store: s, writes: map[string]int{}}
}

func (c *countingStore) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes[op]++
}

// reset returns the counts so far and starts again from zero.
func (c *countingStore) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.writes
	c.writes = map[string]int{}
	return out
}

func (c *countingStore) ApplySource(ctx context.Context, source string, recs []catalog.Record, rels []catalog.StoredRelation) (catalog.ReplaceResult, error) {
	c.count("ApplySource")
	return c.Store.ApplySource(ctx, source, recs, rels)
}

func (c *countingStore) ApplySourceBatch(ctx context.Context, source string, recs []catalog.Record, rels []catalog.StoredRelation) (catalog.BatchResult, error) {
	c.count("ApplySourceBatch")
	return c.Store.ApplySourceBatch(ctx, source, recs, rels)
}

func (c *countingStore) FinishSource(ctx context.Context, source string, seen map[string]bool, keepMissing bool, restitch []string) (catalog.ReplaceResult, error) {
	c.count("FinishSource")
	return c.Store.FinishSource(ctx, source, seen, keepMissing, restitch)
}

func (c *countingStore) SaveSourceState(ctx context.Context, st catalog.SourceState) error {
	c.count("SaveSourceState")
	return c.Store.SaveSourceState(ctx, st)
}

func (c *countingStore) MarkSourceRefreshed(ctx context.Context, name string) error {
	c.count("MarkSourceRefreshed")
	return c.Store.MarkSourceRefreshed(ctx, name)
}

// skipped reports whether the counts are those of a skipped refresh: the
// refresh time recorded, nothing else written.
func skipped(writes map[string]int) bool {
	return len(writes) == 1 && writes["MarkSourceRefreshed"] == 1
}

// rawTree is a source of a Location file, two entity files (one with an
// entity that fails validation) and a $text placeholder.
func rawTree() fstest.MapFS {
	return fstest.MapFS{
		"cat/all.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec: {targets: [./a.yaml, ./sub/b.yaml]}\n")},
		"cat/a.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  description: {$text: ./doc.txt}\n" +
			"spec: {type: service, owner: team, lifecycle: production}\n")},
		"cat/doc.txt":    {Data: []byte("first words")},
		"cat/sub/b.yaml": {Data: []byte(fmt.Sprintf(component, "b") + "---\nkind: Component\nmetadata: {name: no-api-version}\n")},
	}
}

// refreshed refreshes svc and returns the writes it made.
func refreshed(t *testing.T, svc *catalog.Service, cs *countingStore) map[string]int {
	t.Helper()
	cs.reset()
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return cs.reset()
}

// description returns a stored entity's metadata.description and etag.
func description(t *testing.T, svc *catalog.Service, name string) (desc, etag string) {
	t.Helper()
	body, err := svc.EntityByName(t.Context(), greenroom.EntityRef{Kind: "component", Namespace: "default", Name: name})
	if err != nil {
		t.Fatalf("component %s: %v", name, err)
	}
	var e struct {
		Metadata struct{ Description, Etag string }
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e.Metadata.Description, e.Metadata.Etag
}

func problemTexts(svc *catalog.Service) string {
	var out []string
	for _, p := range svc.Problems() {
		out = append(out, p.Error())
	}
	return strings.Join(out, "\n")
}

// An unchanged source is skipped before it is parsed: nothing but its
// refresh time is written, its entities keep their etags, and the problems
// of the refresh that read it are reported again, as the ProcessingErrors
// they were.
func TestUnchangedSourceIsSkipped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		cs := newCountingStore(s)
		src := catalog.Source{Name: "file:/cat/all.yaml", FS: rawTree(), Root: "cat/all.yaml"}
		svc, err := catalog.NewService(cs, []catalog.Source{src}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if w := refreshed(t, svc, cs); w["ApplySource"] != 1 {
			t.Fatalf("first refresh wrote %v", w)
		}
		desc, etag := description(t, svc, "a")
		if desc != "first words" {
			t.Fatalf("description %q: the placeholder was not read", desc)
		}
		first := problemTexts(svc)
		if !strings.Contains(first, "no-api-version") {
			t.Fatalf("problems lack the invalid entity:\n%s", first)
		}
		before, err := s.SourceState(ctx, src.Name)
		if err != nil || before.Inputs == "" {
			t.Fatalf("no inputs recorded: %+v, %v", before, err)
		}
		for range 2 {
			if w := refreshed(t, svc, cs); !skipped(w) {
				t.Fatalf("unchanged refresh wrote %v", w)
			}
		}
		if _, again := description(t, svc, "a"); again != etag {
			t.Errorf("etag %s became %s across a skipped refresh", etag, again)
		}
		if got := problemTexts(svc); got != first {
			t.Errorf("problems after a skip:\n%s\nwant:\n%s", got, first)
		}
		var pe *catalog.ProcessingError
		if ps := svc.Problems(); len(ps) == 0 || !errors.As(ps[0], &pe) || pe.Source != src.Name || pe.File != "cat/sub/b.yaml" {
			t.Errorf("problems after a skip are not the ProcessingErrors they were: %#v", ps)
		}
		after, err := s.SourceState(ctx, src.Name)
		if err != nil {
			t.Fatal(err)
		}
		if after.RefreshedAt.Before(before.RefreshedAt) || after.EntityCount != before.EntityCount ||
			strings.Join(after.Problems, "\n") != strings.Join(before.Problems, "\n") || after.Hash != before.Hash {
			t.Errorf("state after a skip %+v, before %+v", after, before)
		}
		// RefreshEntity goes the same way.
		cs.reset()
		if err := svc.RefreshEntity(ctx, "component:default/a"); err != nil {
			t.Fatal(err)
		}
		if w := cs.reset(); !skipped(w) {
			t.Errorf("unchanged entity refresh wrote %v", w)
		}
	})
}

// Every reason a source's output may differ makes the refresh read and
// process it as usual, and what changed is stored.
func TestChangedInputsAreNotSkipped(t *testing.T) {
	tests := []struct {
		name string
		// before adjusts the tree or service before the first refresh.
		before func(t *testing.T, fsys fstest.MapFS, svc *catalog.Service)
		// change makes the change between the refreshes; it may return
		// another service over the same store to refresh with.
		change func(t *testing.T, fsys fstest.MapFS, svc *catalog.Service, st catalog.StoreQuerier) *catalog.Service
		// check tells the change was stored.
		check func(t *testing.T, svc *catalog.Service)
	}{
		{
			name: "an entity file changed",
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				fsys["cat/sub/b.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(component, "b2"))}
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) {
				description(t, svc, "b2")
				if strings.Contains(problemTexts(svc), "no-api-version") {
					t.Errorf("problem of a removed entity still reported")
				}
			},
		},
		{
			name: "a placeholder's file changed",
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				fsys["cat/doc.txt"] = &fstest.MapFile{Data: []byte("second words")}
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) {
				if d, _ := description(t, svc, "a"); d != "second words" {
					t.Errorf("description %q", d)
				}
			},
		},
		{
			name: "a file added under a Location target",
			before: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service) {
				fsys["cat/all.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec: {targets: [./a.yaml, ./sub/b.yaml, ./sub/c.yaml]}\n")}
			},
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				fsys["cat/sub/c.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(component, "c"))}
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) { description(t, svc, "c") },
		},
		{
			name: "a target added to a Location file",
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				fsys["cat/sub/c.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(component, "c"))}
				fsys["cat/all.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec: {targets: [./a.yaml, ./sub/b.yaml, ./sub/c.yaml]}\n")}
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) { description(t, svc, "c") },
		},
		{
			name: "a file removed",
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				delete(fsys, "cat/doc.txt")
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) {
				if p := problemTexts(svc); !strings.Contains(p, "doc.txt") {
					t.Errorf("the removed file is no problem:\n%s", p)
				}
			},
		},
		{
			name: "a file that failed to parse is fixed",
			before: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service) {
				fsys["cat/sub/b.yaml"] = &fstest.MapFile{Data: []byte("kind: [unclosed\n")}
			},
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				fsys["cat/sub/b.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(component, "b"))}
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) { description(t, svc, "b") },
		},
		{
			name: "the catalog rules changed",
			before: func(t *testing.T, fsys fstest.MapFS, svc *catalog.Service) {
				fsys["cat/sub/b.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n")}
				svc.SetRules(mustRules(t, catalog.DefaultRules()))
			},
			change: func(t *testing.T, fsys fstest.MapFS, svc *catalog.Service, _ catalog.StoreQuerier) *catalog.Service {
				svc.SetRules(mustRules(t, append(catalog.DefaultRules(), catalog.Rule{Allow: []catalog.RuleAllow{{Kind: "Group"}}})))
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) {
				if _, err := svc.EntityByName(t.Context(), greenroom.EntityRef{Kind: "group", Namespace: "default", Name: "team"}); err != nil {
					t.Errorf("group allowed by the new rules: %v", err)
				}
			},
		},
		{
			name: "a custom kind is configured",
			before: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service) {
				fsys["cat/sub/b.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: acme.example/v1\nkind: Pipeline\nmetadata: {name: deploy}\nspec: {runner: x}\n")}
			},
			change: func(t *testing.T, fsys fstest.MapFS, _ *catalog.Service, st catalog.StoreQuerier) *catalog.Service {
				svc, err := catalog.NewService(st, []catalog.Source{rawSource(fsys)}, slog.New(slog.DiscardHandler),
					entity.CustomKind{APIVersion: "acme.example/v1", Kind: "Pipeline", Schema: []byte(`{"type":"object"}`)})
				if err != nil {
					t.Fatal(err)
				}
				return svc
			},
			check: func(t *testing.T, svc *catalog.Service) {
				if _, err := svc.EntityByName(t.Context(), greenroom.EntityRef{Kind: "pipeline", Namespace: "default", Name: "deploy"}); err != nil {
					t.Errorf("entity of the custom kind: %v", err)
				}
			},
		},
		{
			name: "an entity was deleted",
			change: func(t *testing.T, _ fstest.MapFS, svc *catalog.Service, st catalog.StoreQuerier) *catalog.Service {
				rec, err := st.EntityByRef(t.Context(), "component:default/a")
				if err != nil {
					t.Fatal(err)
				}
				if err := svc.DeleteEntityByUID(t.Context(), rec.UID); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			check: func(t *testing.T, svc *catalog.Service) { description(t, svc, "a") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				cs := newCountingStore(s)
				fsys := rawTree()
				svc, err := catalog.NewService(cs, []catalog.Source{rawSource(fsys)}, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				if tt.before != nil {
					tt.before(t, fsys, svc)
				}
				refreshed(t, svc, cs)
				if next := tt.change(t, fsys, svc, cs); next != nil {
					svc = next
				}
				if w := refreshed(t, svc, cs); skipped(w) || w["SaveSourceState"] != 1 {
					t.Fatalf("refresh after the change wrote %v", w)
				}
				tt.check(t, svc)
			})
		})
	}
}

func rawSource(fsys fstest.MapFS) catalog.Source {
	return catalog.Source{Name: "file:/cat/all.yaml", FS: fsys, Root: "cat/all.yaml"}
}

func mustRules(t *testing.T, rules []catalog.Rule) *catalog.RulesEnforcer {
	t.Helper()
	r, err := catalog.NewRulesEnforcer(rules)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A source whose state predates the recorded inputs (or whose inputs were
// not recorded) is processed, found unchanged by its output's hash, and
// gets its inputs recorded then, without an entity write: the next refresh
// is skipped.
func TestInputsRecordedWhenOutputUnchanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		cs := newCountingStore(s)
		src := rawSource(rawTree())
		svc, err := catalog.NewService(cs, []catalog.Source{src}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		refreshed(t, svc, cs)
		st, err := s.SourceState(t.Context(), src.Name)
		if err != nil {
			t.Fatal(err)
		}
		st.Inputs = ""
		if err := s.SaveSourceState(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		if w := refreshed(t, svc, cs); len(w) != 1 || w["SaveSourceState"] != 1 {
			t.Fatalf("refresh without recorded inputs wrote %v, want the state alone", w)
		}
		if w := refreshed(t, svc, cs); !skipped(w) {
			t.Fatalf("refresh after recording wrote %v", w)
		}
	})
}

// A source too large for one transaction is skipped the same way, and a
// change in one of its files brings every batch back.
func TestUnchangedStreamedSourceIsSkipped(t *testing.T) {
	catalog.SetSourceBatch(t, 40)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ents, err := catalogtest.Generate(200, 7)
		if err != nil {
			t.Fatal(err)
		}
		lay, err := catalogtest.Write(t.TempDir(), ents, 30)
		if err != nil {
			t.Fatal(err)
		}
		src, err := catalog.FileSource(lay.Root, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs := newCountingStore(s)
		svc, err := catalog.NewService(cs, []catalog.Source{src}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if w := refreshed(t, svc, cs); w["ApplySourceBatch"] < 2 || w["FinishSource"] != 1 {
			t.Fatalf("first refresh wrote %v, want batches", w)
		}
		if w := refreshed(t, svc, cs); !skipped(w) {
			t.Fatalf("unchanged refresh wrote %v", w)
		}
		// One more entity at the end of the last entity file.
		last := filepath.Join(filepath.Dir(lay.Root), lay.Files[len(lay.Files)-1])
		f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = fmt.Fprintf(f, "---\n"+component, "extra")
		if err := errors.Join(err, f.Close()); err != nil {
			t.Fatal(err)
		}
		if w := refreshed(t, svc, cs); w["ApplySourceBatch"] < 2 || w["FinishSource"] != 1 {
			t.Fatalf("refresh after a change wrote %v", w)
		}
		description(t, svc, "extra")
		if w := refreshed(t, svc, cs); !skipped(w) {
			t.Fatalf("refresh after the change was stored wrote %v", w)
		}
	})
}

// A URL source is fetched again at every refresh, and skipped when the
// bytes are the same; an outage is no skip (the normal path keeps the
// entities), and once the server is back with the same bytes nothing was
// written meanwhile, so the refresh is skipped again.
func TestUnchangedURLSourceIsSkipped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var mu sync.Mutex
		files := map[string]string{
			"/repo/all.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec: {target: ./a.yaml}\n",
			"/repo/a.yaml":   fmt.Sprintf(component, "a"),
		}
		down := false
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			hits++
			body, ok := files[r.URL.Path]
			switch {
			case down:
				http.Error(w, "down", http.StatusServiceUnavailable)
			case !ok:
				http.NotFound(w, r)
			default:
				fmt.Fprint(w, body)
			}
		}))
		defer srv.Close()
		set := func(f func()) {
			mu.Lock()
			defer mu.Unlock()
			f()
		}
		src, err := catalog.URLSource(srv.URL+"/repo/all.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		cs := newCountingStore(s)
		svc, err := catalog.NewService(cs, []catalog.Source{src}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		svc.SetURLReader(catalog.NewTestURLReader(srv.Client()))
		refreshed(t, svc, cs)
		set(func() { hits = 0 })
		if w := refreshed(t, svc, cs); !skipped(w) {
			t.Fatalf("unchanged refresh wrote %v", w)
		}
		set(func() {
			if hits != 2 {
				t.Errorf("%d requests for a skipped refresh, want both files", hits)
			}
			down = true
		})
		if w := refreshed(t, svc, cs); skipped(w) {
			t.Fatalf("refresh during an outage was skipped")
		}
		description(t, svc, "a") // kept through the outage
		set(func() { down = false })
		if w := refreshed(t, svc, cs); !skipped(w) {
			t.Fatalf("refresh after the outage wrote %v", w)
		}
		set(func() { files["/repo/a.yaml"] = fmt.Sprintf(component, "a2") })
		if w := refreshed(t, svc, cs); skipped(w) {
			t.Fatalf("refresh after a change was skipped")
		}
		description(t, svc, "a2")
	})
}
