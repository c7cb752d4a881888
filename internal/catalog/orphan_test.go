package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// components returns a YAML stream of Component entities named names.
func components(names ...string) []byte {
	docs := make([]string, len(names))
	for i, n := range names {
		docs[i] = fmt.Sprintf(component, n)
	}
	return []byte(strings.Join(docs, "---\n"))
}

// memSource is a source over an in-memory tree whose root is all.yaml.
func memSource(name string, fsys fstest.MapFS) catalog.Source {
	return catalog.Source{Name: name, FS: fsys, Root: "all.yaml"}
}

func newService(t *testing.T, s *store.Store, strategy catalog.OrphanStrategy, sources ...catalog.Source) *catalog.Service {
	t.Helper()
	svc, err := catalog.NewService(s, sources, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if strategy != "" {
		if err := svc.SetOrphanStrategy(strategy); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

func refresh(t *testing.T, svc *catalog.Service) {
	t.Helper()
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// servedEntity is the part of a served entity these tests read.
type servedEntity struct {
	Metadata struct {
		UID, Etag   string
		Annotations map[string]string
		Tags        []string
	}
	Status *struct {
		Items []struct {
			Type, Level, Message string
			Error                struct{ Name, Message string }
		}
	}
}

// get returns the served entity, or ok false when it is not in the
// catalog.
func get(t *testing.T, svc *catalog.Service, ref string) (servedEntity, bool) {
	t.Helper()
	r, err := greenroom.ParseEntityRef(ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := svc.EntityByName(t.Context(), r)
	if greenroom.IsNotFound(err) {
		return servedEntity{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var e servedEntity
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e, true
}

func isOrphan(e servedEntity) bool { return e.Metadata.Annotations[catalog.OrphanAnnotation] == "true" }

func TestOrphanStrategies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, strategy := range []catalog.OrphanStrategy{catalog.OrphanKeep, catalog.OrphanDelete} {
			t.Run(string(strategy), func(t *testing.T) {
				ctx := t.Context()
				src := "file-" + string(strategy)
				fsys := fstest.MapFS{"all.yaml": {Data: components("a-"+string(strategy), "b-"+string(strategy))}}
				svc := newService(t, s, strategy, memSource(src, fsys))
				refresh(t, svc)
				sub, err := svc.Subscribe(ctx)
				if err != nil {
					t.Fatal(err)
				}
				gone := "component:default/b-" + string(strategy)
				before, _ := get(t, svc, gone)

				// The file no longer holds b.
				fsys["all.yaml"] = &fstest.MapFile{Data: components("a-" + string(strategy))}
				refresh(t, svc)
				got, present := get(t, svc, gone)
				var want []catalog.EventType
				switch strategy {
				case catalog.OrphanKeep:
					if !present || !isOrphan(got) || got.Metadata.UID != before.Metadata.UID {
						t.Errorf("keep: present %v, %+v", present, got)
					}
					want = []catalog.EventType{catalog.EventOrphaned}
				case catalog.OrphanDelete:
					if present {
						t.Errorf("delete: orphan still served: %+v", got)
					}
					want = []catalog.EventType{catalog.EventOrphaned, catalog.EventDeleted}
				}
				if diff := cmp.Diff(want, eventTypes(drain(sub), gone)); diff != "" {
					t.Errorf("events for %s (-want +got):\n%s", gone, diff)
				}
				if a, ok := get(t, svc, "component:default/a-"+string(strategy)); !ok || isOrphan(a) {
					t.Errorf("the entity still supplied: present %v, %+v", ok, a)
				}

				// b comes back: served again, not an orphan.
				fsys["all.yaml"] = &fstest.MapFile{Data: components("a-"+string(strategy), "b-"+string(strategy))}
				refresh(t, svc)
				if back, ok := get(t, svc, gone); !ok || isOrphan(back) {
					t.Errorf("back: present %v, %+v", ok, back)
				} else if strategy == catalog.OrphanKeep && back.Metadata.Etag != before.Metadata.Etag {
					t.Errorf("un-orphaned entity differs from before: %+v vs %+v", back, before)
				}
			})
		}
	})
}

// drain returns the events already delivered to sub.
func drain(sub *catalog.Subscription) []catalog.Event {
	var evs []catalog.Event
	for {
		select {
		case ev := <-sub.C:
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

func eventTypes(evs []catalog.Event, ref string) []catalog.EventType {
	var out []catalog.EventType
	for _, ev := range evs {
		if ev.Ref == ref {
			out = append(out, ev.Type)
		}
	}
	return out
}

func TestRefreshRetiresVanishedSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a := memSource("a", fstest.MapFS{"all.yaml": {Data: components("only-a", "both")}})
		b := memSource("b", fstest.MapFS{"all.yaml": {Data: components("only-b", "both")}})
		refresh(t, newService(t, s, catalog.OrphanKeep, a, b))

		// a is no longer configured: what only a supplied becomes an
		// orphan, what b supplies too is b's now.
		svc := newService(t, s, catalog.OrphanKeep, b)
		refresh(t, svc)
		if e, ok := get(t, svc, "component:default/only-a"); !ok || !isOrphan(e) {
			t.Errorf("only-a: present %v, %+v", ok, e)
		}
		for _, ref := range []string{"component:default/only-b", "component:default/both"} {
			if e, ok := get(t, svc, ref); !ok || isOrphan(e) {
				t.Errorf("%s: present %v, %+v", ref, ok, e)
			}
		}
		if p := svc.Problems(); len(p) != 0 {
			t.Errorf("problems after the claim: %v", p)
		}
		// With the delete strategy the orphan goes at the next refresh.
		svc = newService(t, s, catalog.OrphanDelete, b)
		refresh(t, svc)
		if _, ok := get(t, svc, "component:default/only-a"); ok {
			t.Error("orphan kept with the delete strategy")
		}
	})
}

// A conflict loser takes the entity over once the winner drops it, in the
// same refresh, whichever of the two is refreshed first.
func TestRefreshConflictLoserClaimsOrphan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, loserFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("loserFirst=%v", loserFirst), func(t *testing.T) {
				ctx := t.Context()
				name := fmt.Sprintf("shared-%v", loserFirst)
				winFS := fstest.MapFS{"all.yaml": {Data: components(name)}}
				win := memSource("win-"+name, winFS)
				lose := memSource("lose-"+name, fstest.MapFS{"all.yaml": {Data: components(name)}})
				refresh(t, newService(t, s, catalog.OrphanDelete, win)) // win owns it first
				srcs := []catalog.Source{win, lose}
				if loserFirst {
					srcs = []catalog.Source{lose, win}
				}
				svc := newService(t, s, catalog.OrphanDelete, srcs...)
				refresh(t, svc)
				if !slices.ContainsFunc(svc.Problems(), func(err error) bool { return strings.Contains(err.Error(), "already provided") }) {
					t.Errorf("conflict not reported: %v", svc.Problems())
				}
				winFS["all.yaml"] = &fstest.MapFile{Data: components("other-" + name)}
				refresh(t, svc)
				rec, err := s.EntityByRef(ctx, "component:default/"+name)
				if err != nil {
					t.Fatal(err)
				}
				if e, _ := get(t, svc, rec.Ref); rec.Source != lose.Name || isOrphan(e) {
					t.Errorf("source %s, %+v", rec.Source, e)
				}
				if p := svc.Problems(); len(p) != 0 {
					t.Errorf("problems: %v", p)
				}
			})
		}
	})
}

func TestRefreshProcessingErrorsInStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		good := strings.Replace(fmt.Sprintf(component, "svc"), "metadata:\n", "metadata:\n  tags: [fine]\n", 1)
		bad := strings.Replace(good, "[fine]", "[Not Valid!]", 1)
		fsys := fstest.MapFS{"all.yaml": {Data: []byte(good)}}
		svc := newService(t, s, "", memSource("src", fsys))
		refresh(t, svc)
		clean, _ := get(t, svc, "component:default/svc")

		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(bad)}
		refresh(t, svc)
		e, ok := get(t, svc, "component:default/svc")
		if !ok || e.Status == nil || len(e.Status.Items) != 1 {
			t.Fatalf("present %v, status %+v", ok, e.Status)
		}
		it := e.Status.Items[0]
		if it.Type != catalog.ProcessingStatusType || it.Level != "error" || it.Error.Name != "InputError" ||
			it.Message != "InputError: "+it.Error.Message || !strings.Contains(it.Error.Message, "all.yaml:1: component:default/svc: metadata.tags[0]: is not valid") {
			t.Errorf("status item %+v", it)
		}
		if !slices.Equal(e.Metadata.Tags, []string{"fine"}) || isOrphan(e) {
			t.Errorf("the last good spec is not kept: %+v", e.Metadata)
		}

		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(good)}
		refresh(t, svc)
		if e, _ := get(t, svc, "component:default/svc"); e.Status != nil || e.Metadata.Etag != clean.Metadata.Etag {
			t.Errorf("after the fix: %+v, want %+v", e, clean)
		}
	})
}

// A Location whose target cannot be read keeps what it supplied (nothing
// becomes an orphan) and carries the error.
func TestRefreshUnreadableTargetKeepsEntities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		root := []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec: {targets: [./a.yaml, ./b.yaml]}\n")
		fsys := fstest.MapFS{"all.yaml": {Data: root}, "a.yaml": {Data: components("a")}, "b.yaml": {Data: components("b")}}
		svc := newService(t, s, catalog.OrphanDelete, memSource("src", fsys))
		refresh(t, svc)

		delete(fsys, "b.yaml")
		refresh(t, svc)
		if e, ok := get(t, svc, "component:default/b"); !ok || isOrphan(e) {
			t.Errorf("entity of the missing file: present %v, %+v", ok, e)
		}
		loc, _ := get(t, svc, "location:default/root")
		if loc.Status == nil || len(loc.Status.Items) != 1 || loc.Status.Items[0].Error.Name != "NotFoundError" ||
			!strings.Contains(loc.Status.Items[0].Message, "b.yaml") {
			t.Errorf("location status %+v", loc.Status)
		}

		// The target is removed from the Location too: now b is an orphan,
		// deleted by the strategy, and the Location's error is gone.
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(root), ", ./b.yaml", "", 1))}
		refresh(t, svc)
		if _, ok := get(t, svc, "component:default/b"); ok {
			t.Error("b kept after its target was removed")
		}
		if loc, _ := get(t, svc, "location:default/root"); loc.Status != nil {
			t.Errorf("location status kept: %+v", loc.Status)
		}
	})
}

// countingFS counts the files opened.
type countingFS struct {
	fs.FS
	opens *atomic.Int64
}

func (c countingFS) Open(name string) (fs.File, error) {
	c.opens.Add(1)
	return c.FS.Open(name)
}

func TestRefreshEntity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var opensA, opensB atomic.Int64
		fsA := fstest.MapFS{"all.yaml": {Data: components("a1", "a2")}}
		a := catalog.Source{Name: "a", FS: countingFS{fsA, &opensA}, Root: "all.yaml"}
		b := catalog.Source{Name: "b", FS: countingFS{fstest.MapFS{"all.yaml": {Data: components("b1")}}, &opensB}, Root: "all.yaml"}
		svc := newService(t, s, catalog.OrphanKeep, a, b)
		refresh(t, svc)
		opensA.Store(0)
		opensB.Store(0)

		fsA["all.yaml"] = &fstest.MapFile{Data: components("a1", "a3")}
		if err := svc.RefreshEntity(ctx, "Component:default/A1"); err != nil {
			t.Fatal(err)
		}
		if opensA.Load() == 0 || opensB.Load() != 0 {
			t.Errorf("opens: a %d, b %d; want only a's", opensA.Load(), opensB.Load())
		}
		if _, ok := get(t, svc, "component:default/a3"); !ok {
			t.Error("a3 not read")
		}
		if e, _ := get(t, svc, "component:default/a2"); !isOrphan(e) {
			t.Errorf("a2 not orphaned: %+v", e)
		}
		if err := svc.RefreshEntity(ctx, "component:default/nope"); !greenroom.IsNotFound(err) {
			t.Errorf("unknown entity: %v", err)
		}
		if err := svc.RefreshEntity(ctx, "component:default/a2"); err != nil { // an orphan of a current source
			t.Errorf("orphan of a current source: %v", err)
		}
		// An orphan whose source is gone has nothing to refresh.
		gone := newService(t, s, catalog.OrphanKeep, b)
		refresh(t, gone)
		if err := gone.RefreshEntity(ctx, "component:default/a1"); !greenroom.IsNotFound(err) {
			t.Errorf("orphan of a retired source: %v", err)
		}
		gone.SetEnqueuer(func(context.Context, string, any) error { t.Error("refresh of an orphan queued"); return nil })
		if err := gone.RequestRefresh(ctx, "component:default/a1"); !greenroom.IsNotFound(err) {
			t.Errorf("request for an orphan of a retired source: %v", err)
		}
		// An entity of the push API has nothing to re-read: accepted, nothing queued.
		pushed := catalog.Record{Ref: "component:default/pushed", Kind: "Component", Namespace: "default", Name: "pushed", Hash: "h",
			Body: []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"pushed","namespace":"default"}}`)}
		if _, err := s.ApplySource(ctx, catalog.PushSourcePrefix+"test", []catalog.Record{pushed}, nil); err != nil {
			t.Fatal(err)
		}
		if err := gone.RefreshEntity(ctx, pushed.Ref); err != nil {
			t.Errorf("pushed entity: %v", err)
		}
		if err := gone.RequestRefresh(ctx, pushed.Ref); err != nil {
			t.Errorf("request for a pushed entity: %v", err)
		}
		if err := gone.RefreshEntity(ctx, "not a ref:"); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("bad ref: %v", err)
		}
	})
}

func TestSetOrphanStrategy(t *testing.T) {
	svc := newService(t, storetest.SQLite(t), "")
	if err := svc.SetOrphanStrategy("purge"); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("unknown strategy: %v", err)
	}
}

func TestStatusItemsNamesAndBounds(t *testing.T) {
	s := storetest.SQLite(t)
	group := "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n"
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(fmt.Sprintf(component, "svc") + "---\n" + group)}}
	refresh(t, newService(t, s, "", catalog.Source{Name: "src", FS: fsys, Root: "all.yaml", AllowKinds: []string{"Component", "Group"}}))

	// The location may no longer supply Groups: team keeps its last good
	// version with a NotAllowedError, as Backstage names it.
	svc := newService(t, s, "", catalog.Source{Name: "src", FS: fsys, Root: "all.yaml", AllowKinds: []string{"Component"}})
	refresh(t, svc)
	if e, ok := get(t, svc, "group:default/team"); !ok || e.Status == nil || e.Status.Items[0].Error.Name != "NotAllowedError" {
		t.Errorf("team: present %v, status %+v", ok, e.Status)
	}

	// Thirty bad tags: twenty items, the last one counting the rest.
	tags := make([]string, 30)
	for i := range tags {
		tags[i] = fmt.Sprintf("Bad%d!", i)
	}
	bad := strings.Replace(fmt.Sprintf(component, "svc"), "metadata:\n", "metadata:\n  tags: ["+strings.Join(tags, ", ")+"]\n", 1)
	fsys["all.yaml"] = &fstest.MapFile{Data: []byte(bad)}
	refresh(t, svc)
	e, _ := get(t, svc, "component:default/svc")
	if e.Status == nil || len(e.Status.Items) != 20 || e.Status.Items[19].Error.Message != "and 11 more problems" {
		t.Fatalf("status %+v", e.Status)
	}
}
