package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// anotherStore opens a second, empty store of the engine opts is for.
func anotherStore(t *testing.T, opts store.Options) *store.Store {
	if opts.Driver == store.DriverPostgres {
		return storetest.Open(t, storetest.PostgresOptions(t))
	}
	return storetest.Open(t, storetest.SQLiteOptions(t))
}

// served returns every served entity by ref, without uid and etag (which
// differ between two stores), as generic JSON.
func served(t *testing.T, svc *catalog.Service) map[string]map[string]any {
	t.Helper()
	bodies, err := svc.Entities(t.Context(), catalog.Query{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, b := range bodies {
		var e map[string]any
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		meta := e["metadata"].(map[string]any)
		delete(meta, "uid")
		delete(meta, "etag")
		out[strings.ToLower(fmt.Sprintf("%s:%s/%s", e["kind"], meta["namespace"], meta["name"]))] = e
	}
	return out
}

// A source larger than one batch is stored as the same source read whole
// is: the same entities, each with the same relations (both directions,
// including those reaching entities of earlier and later batches), status
// and annotations; and a refresh that drops part of it orphans exactly what
// is gone, as the whole path does.
func TestSourceLargerThanABatch(t *testing.T) {
	ents, err := catalogtest.Generate(600, 3)
	if err != nil {
		t.Fatal(err)
	}
	full, err := catalogtest.Write(t.TempDir(), ents, 40)
	if err != nil {
		t.Fatal(err)
	}
	// The same catalog without its last 150 entities (components), in place.
	part, err := catalogtest.Write(t.TempDir(), ents[:450], 40)
	if err != nil {
		t.Fatal(err)
	}
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		whole, batched := storetest.Open(t, opts), anotherStore(t, opts)
		run := func(s *store.Store, batch int, root string) *catalog.Service {
			catalog.SetSourceBatch(t, batch)
			src, err := catalog.FileSource(root, nil)
			if err != nil {
				t.Fatal(err)
			}
			// One source name for both layouts: the second refresh is
			// the same location with part of its content gone.
			src.Name = "file:bench"
			svc, err := catalog.NewService(s, []catalog.Source{src}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.SetOrphanStrategy(catalog.OrphanKeep); err != nil {
				t.Fatal(err)
			}
			if err := svc.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			if p := svc.Problems(); len(p) > 0 {
				t.Fatalf("problems: %v", p)
			}
			return svc
		}
		for _, root := range []string{full.Root, part.Root} {
			a := served(t, run(whole, 1_000_000, root))
			b := served(t, run(batched, 57, root))
			if len(a) != 601 {
				t.Fatalf("whole path served %d entities, want 601", len(a))
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Fatalf("%s: batched differs from whole (-whole +batched):\n%s", root, diff)
			}
		}
		// A first load's batches may write without the search key indexes
		// (PostgreSQL); they exist once the source is stored.
		if n := keyIndexes(t, batched); n != 2 {
			t.Fatalf("%d of the 2 search key indexes after a batched first load", n)
		}
		before, err := batched.ListEntities(t.Context(), catalog.Query{})
		if err != nil {
			t.Fatal(err)
		}
		orphans := 0
		for _, e := range served(t, run(batched, 57, part.Root)) {
			if ann, _ := e["metadata"].(map[string]any)["annotations"].(map[string]any); ann[catalog.OrphanAnnotation] == "true" {
				orphans++
			}
		}
		if orphans != 150 {
			t.Fatalf("%d orphans after dropping 150 entities, want 150", orphans)
		}
		// That last refresh changed nothing: no entity was rewritten.
		after, err := batched.ListEntities(t.Context(), catalog.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("an unchanged batched re-sync rewrote entities (-before +after):\n%s", diff)
		}
	})
}

// keyIndexes counts the search key indexes that exist in s.
func keyIndexes(t *testing.T, s *store.Store) int {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('entity_search_key_value', 'entity_search_key_kind')"
	if s.Driver() == store.DriverPostgres {
		q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN ('entity_search_key_value', 'entity_search_key_kind')"
	}
	var n int
	if err := s.DB().QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// textTriggers counts, on SQLite, the triggers that keep the trigram table
// in step (the store's FinishBulkLoad puts back those a first load drops);
// -1 on PostgreSQL, which has none.
func textTriggers(t *testing.T, s *store.Store) int {
	t.Helper()
	if s.Driver() == store.DriverPostgres {
		return -1
	}
	var n int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'entity_text_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// failingStore fails ApplySourceBatch from its failAt-th call on.
type failingStore struct {
	*store.Store
	calls, failAt int
}

var errInjected = errors.New("injected batch failure")

func (f *failingStore) ApplySourceBatch(ctx context.Context, source string, recs []catalog.Record, rels []catalog.StoredRelation) (catalog.BatchResult, error) {
	f.calls++
	if f.calls >= f.failAt {
		return catalog.BatchResult{}, errInjected
	}
	return f.Store.ApplySourceBatch(ctx, source, recs, rels)
}

// A source whose write fails half-way loses nothing already stored: the
// batches before the failure are stored, nothing the source stops
// supplying becomes an orphan or is deleted, and the next refresh that
// succeeds finishes the job.
func TestSourceFailingMidWayLosesNothing(t *testing.T) {
	files := func(n int, tag string) fstest.MapFS {
		fsys := fstest.MapFS{}
		root := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec:\n  targets:\n"
		for f := range n {
			var names []string
			for i := range 50 {
				names = append(names, fmt.Sprintf("c%d-%d", f, i))
			}
			data := string(components(names...))
			if tag != "" {
				data = strings.ReplaceAll(data, "spec: {", "  tags: ["+tag+"]\nspec: {")
			}
			fsys[fmt.Sprintf("f%d.yaml", f)] = &fstest.MapFile{Data: []byte(data)}
			root += fmt.Sprintf("    - ./f%d.yaml\n", f)
		}
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(root)}
		return fsys
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		catalog.SetSourceBatch(t, 40)
		ctx := t.Context()
		svc := newService(t, s, catalog.OrphanDelete, memSource("mem", files(6, "")))
		refresh(t, svc)
		if n, err := s.CountEntities(ctx); err != nil || n != 301 {
			t.Fatalf("%d entities stored, want 301: %v", n, err)
		}
		// Half the files gone and the rest edited; the third batch fails.
		fs := &failingStore{Store: s, failAt: 3}
		bad, err := catalog.NewService(fs, []catalog.Source{memSource("mem", files(3, "edited"))}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := bad.SetOrphanStrategy(catalog.OrphanDelete); err != nil {
			t.Fatal(err)
		}
		if err := bad.Refresh(ctx); !errors.Is(err, errInjected) {
			t.Fatalf("refresh: %v, want the injected failure", err)
		}
		if n := keyIndexes(t, s); n != 2 {
			t.Fatalf("%d of the 2 search key indexes after a failed batched refresh", n)
		}
		all := served(t, svc)
		if len(all) != 301 {
			t.Fatalf("%d entities after the failed refresh, want all 301", len(all))
		}
		edited := 0
		for ref, e := range all {
			meta := e["metadata"].(map[string]any)
			if ann, _ := meta["annotations"].(map[string]any); ann[catalog.OrphanAnnotation] == "true" {
				t.Fatalf("%s became an orphan in a failed refresh", ref)
			}
			if meta["tags"] != nil {
				edited++
			}
		}
		if edited == 0 || edited >= 150 { // the two batches stored before the failure
			t.Fatalf("%d entities edited by the failed refresh, want those of its first two batches", edited)
		}
		// A successful refresh then ends the job.
		good := newService(t, s, catalog.OrphanDelete, memSource("mem", files(3, "edited")))
		refresh(t, good)
		all = served(t, good)
		if len(all) != 151 {
			t.Fatalf("%d entities after the good refresh, want 151", len(all))
		}
		for ref, e := range all {
			if ref != "location:default/root" && e["metadata"].(map[string]any)["tags"] == nil {
				t.Fatalf("%s not edited", ref)
			}
		}
	})
}

// Property (the orphan property of TestPropertyRemovingALocation, with
// every source written in batches of two entities): removing a location
// leaves no entity it alone provided, and every entity of the remaining
// locations is present, not an orphan, owned by one of them.
func TestPropertyRemovingALocationInBatches(t *testing.T) {
	catalog.SetSourceBatch(t, 2)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, strategy := range []catalog.OrphanStrategy{catalog.OrphanDelete, catalog.OrphanKeep} {
			t.Run(string(strategy), func(t *testing.T) {
				rapid.Check(t, func(rt *rapid.T) { checkRemovingALocation(t, rt, s, strategy) })
			})
		}
	})
}

// bulkWatcher records, at each FinishSource (after the source's last
// batch), whether its catalog said a bulk load was under way and how many
// search key indexes existed.
type bulkWatcher struct {
	*store.Store
	t       *testing.T
	svc     *catalog.Service
	during  []bool
	indexes []int
}

func (b *bulkWatcher) FinishSource(ctx context.Context, source string, seen map[string]bool, keepMissing bool, restitch []string) (catalog.ReplaceResult, error) {
	b.during = append(b.during, b.svc.BulkLoad() != nil)
	b.indexes = append(b.indexes, keyIndexes(b.t, b.Store))
	return b.Store.FinishSource(ctx, source, seen, keepMissing, restitch)
}

// A first load of sources written in batches is a bulk load until the
// full refresh ends, which builds the search key indexes once, before the
// last batch of its last source; a re-sync that changes nothing is none.
func TestBulkLoadSpansAFirstLoad(t *testing.T) {
	catalog.SetSourceBatch(t, 40)
	fsys := func(prefix string) fstest.MapFS {
		var names []string
		for i := range 100 {
			names = append(names, fmt.Sprintf("%s%d", prefix, i))
		}
		return fstest.MapFS{"all.yaml": &fstest.MapFile{Data: components(names...)}}
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := &bulkWatcher{Store: s, t: t}
		one, two := fsys("a"), fsys("b")
		svc, err := catalog.NewService(w, []catalog.Source{memSource("one", one), memSource("two", two)}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		w.svc = svc
		if svc.BulkLoad() != nil {
			t.Fatal("a bulk load before any refresh")
		}
		refresh(t, svc)
		if !slices.Equal(w.during, []bool{true, true}) {
			t.Fatalf("bulk load at the sources' ends of the first load: %v, want both", w.during)
		}
		if !slices.Equal(w.indexes, []int{0, 2}) {
			t.Fatalf("search key indexes after each source's last batch: %v, want none then both", w.indexes)
		}
		if n := textTriggers(t, s); n != 3 && n != -1 {
			t.Fatalf("%d of the trigram table's 3 triggers after the first load", n)
		}
		if svc.BulkLoad() != nil {
			t.Fatal("the bulk load outlived the refresh")
		}
		w.during = nil
		refresh(t, svc)
		if len(w.during) != 0 {
			t.Fatalf("unchanged sources were read again: %v, want both skipped before parsing", w.during)
		}
		// A comment changes the files' bytes, not what they supply: read
		// and written in batches again, the sources are no bulk load.
		for _, f := range []fstest.MapFS{one, two} {
			f["all.yaml"].Data = append(f["all.yaml"].Data, "# re-sync\n"...)
		}
		refresh(t, svc)
		if !slices.Equal(w.during, []bool{false, false}) {
			t.Fatalf("bulk load at the sources' ends of an unchanged re-sync: %v, want none", w.during)
		}
	})
}

// In a first load of several sources written in batches, the entities one
// source's relations reach in another are stitched once at the end of the
// refresh, which serves the same catalog as sources written whole: the
// group of one source owns the components of both.
func TestFirstLoadStitchesAcrossSourcesAtTheEnd(t *testing.T) {
	names := func(prefix string) []string {
		var out []string
		for i := range 100 {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	group := "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n---\n"
	sources := []catalog.Source{
		memSource("one", fstest.MapFS{"all.yaml": &fstest.MapFile{Data: append([]byte(group), components(names("a")...)...)}}),
		memSource("two", fstest.MapFS{"all.yaml": &fstest.MapFile{Data: components(names("b")...)}}),
	}
	load := func(t *testing.T, s *store.Store, batch int) map[string]map[string]any {
		t.Helper()
		catalog.SetSourceBatch(t, batch)
		svc, err := catalog.NewService(s, sources, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		refresh(t, svc)
		if n := keyIndexes(t, s); n != 2 {
			t.Fatalf("%d of the 2 search key indexes after the first load", n)
		}
		if n := textTriggers(t, s); n != 3 && n != -1 {
			t.Fatalf("%d of the trigram table's 3 triggers after the first load", n)
		}
		return served(t, svc)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		batched := load(t, s, 40)
		team := batched["group:default/team"]
		owns := 0
		for _, r := range team["relations"].([]any) {
			if r.(map[string]any)["type"] == "ownerOf" {
				owns++
			}
		}
		if owns != 200 {
			t.Fatalf("the group owns %d components after the batched first load, want 200", owns)
		}
		whole := load(t, storetest.SQLite(t), 10000)
		if diff := cmp.Diff(whole, batched); diff != "" {
			t.Fatalf("batched first load differs from whole (-whole +batched):\n%s", diff)
		}
	})
}
