package catalog_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"pgregory.net/rapid"

	"greenroom/internal/catalog"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

var propNames = []string{"e0", "e1", "e2", "e3", "e4", "e5"}

// Property: removing a location leaves no entity it alone provided (after
// orphan policy). For random sets of two to four locations whose entities
// overlap (the first location to supply an entity owns it, the others
// conflict), some reaching part of their entities through a nested
// Location, all refreshed, then one location removed and the rest
// refreshed: with the delete strategy no entity remains whose only
// provider was the removed location, and every entity of the remaining
// locations is present, not an orphan, and owned by one of them (a
// conflict loser claims what the removed location owned); with the keep
// strategy the same holds, except that what the removed location alone
// provided is still present and carries the orphan annotation. rapid runs
// 100 cases per strategy and engine (-rapid.checks).
func TestPropertyRemovingALocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, strategy := range []catalog.OrphanStrategy{catalog.OrphanDelete, catalog.OrphanKeep} {
			t.Run(string(strategy), func(t *testing.T) {
				rapid.Check(t, func(rt *rapid.T) { checkRemovingALocation(t, rt, s, strategy) })
			})
		}
	})
}

func checkRemovingALocation(t *testing.T, rt *rapid.T, s *store.Store, strategy catalog.OrphanStrategy) {
	ctx := t.Context()
	if err := s.WithTx(ctx, func(tx *store.Tx) error {
		for _, table := range []string{"entity_search", "entity_search_refs", "relations", "catalog_sources", "entities"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		rt.Fatal(err)
	}
	n := rapid.IntRange(2, 4).Draw(rt, "locations")
	sources := make([]catalog.Source, n)
	supplies := make([][]string, n)
	for i := range n {
		names := rapid.SliceOfNDistinct(rapid.SampledFrom(propNames), 0, len(propNames), rapid.ID[string]).Draw(rt, fmt.Sprintf("entities%d", i))
		supplies[i] = names
		fsys := fstest.MapFS{"all.yaml": {Data: components(names...)}}
		if split := rapid.IntRange(0, len(names)).Draw(rt, fmt.Sprintf("nested%d", i)); split > 0 {
			// The first split entities come through a Location's target.
			root := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: nested-" + fmt.Sprint(i) +
				"}\nspec: {target: ./more.yaml}\n"
			if rest := names[split:]; len(rest) > 0 {
				root += "---\n" + string(components(rest...))
			}
			fsys["all.yaml"] = &fstest.MapFile{Data: []byte(root)}
			fsys["more.yaml"] = &fstest.MapFile{Data: components(names[:split]...)}
		}
		sources[i] = catalog.Source{Name: fmt.Sprintf("loc-%d", i), FS: fsys, Root: "all.yaml"}
	}
	removed := rapid.IntRange(0, n-1).Draw(rt, "removed")

	refreshAll(t, rt, newPropService(rt, s, strategy, sources))
	remaining := slices.Delete(slices.Clone(sources), removed, removed+1)
	svc := newPropService(rt, s, strategy, remaining)
	refreshAll(t, rt, svc)

	for _, name := range propNames {
		ref := "component:default/" + name
		var by []string // remaining locations that supply it
		for i, names := range supplies {
			if i != removed && slices.Contains(names, name) {
				by = append(by, sources[i].Name)
			}
		}
		alone := len(by) == 0 && slices.Contains(supplies[removed], name)
		rec, err := s.EntityByRef(ctx, ref)
		present := err == nil
		var orphan bool
		if present {
			e, _ := get(t, svc, ref)
			orphan = isOrphan(e)
		}
		switch {
		case len(by) > 0:
			if !present || orphan || !slices.Contains(by, rec.Source) {
				rt.Fatalf("%s, supplied by %v: present %v, orphan %v, owned by %q", ref, by, present, orphan, rec.Source)
			}
		case alone && strategy == catalog.OrphanKeep:
			if !present || !orphan {
				rt.Fatalf("%s, supplied only by the removed %s: present %v, orphan %v", ref, sources[removed].Name, present, orphan)
			}
		default:
			if present {
				rt.Fatalf("%s (removed location's alone: %v) still present, orphan %v, source %s", ref, alone, orphan, rec.Source)
			}
		}
	}
	// What a remaining location supplies raises no problem but conflicts.
	for _, p := range svc.Problems() {
		if !strings.Contains(p.Error(), "already provided by another location") {
			rt.Fatalf("problem: %v", p)
		}
	}
}

func newPropService(rt *rapid.T, s *store.Store, strategy catalog.OrphanStrategy, sources []catalog.Source) *catalog.Service {
	svc, err := catalog.NewService(s, sources, slog.New(slog.DiscardHandler))
	if err != nil {
		rt.Fatal(err)
	}
	if err := svc.SetOrphanStrategy(strategy); err != nil {
		rt.Fatal(err)
	}
	return svc
}

func refreshAll(t *testing.T, rt *rapid.T, svc *catalog.Service) {
	if err := svc.Refresh(t.Context()); err != nil {
		rt.Fatal(err)
	}
}
