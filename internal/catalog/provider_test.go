package catalog_test

import (
	"context"
	"testing"
	"testing/fstest"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func providerSource(key string, names ...string) catalog.Source {
	return memSource(catalog.ProviderSourceName("gh", key), fstest.MapFS{"all.yaml": {Data: components(names...)}})
}

func TestApplyProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s, catalog.OrphanDelete, memSource("loc", fstest.MapFS{"all.yaml": {Data: components("from-location")}}))
		refresh(t, svc)
		ctx := t.Context()
		res, err := svc.ApplyProvider(ctx, "gh", []catalog.Source{providerSource("acme/a", "a1", "a2"), providerSource("acme/b", "b1")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Refreshed != 2 || res.Retired != 0 {
			t.Fatalf("first apply: %+v", res)
		}
		for _, ref := range []string{"component:default/a1", "component:default/a2", "component:default/b1", "component:default/from-location"} {
			if _, ok := get(t, svc, ref); !ok {
				t.Errorf("%s missing after apply", ref)
			}
		}
		// A full refresh of the locations leaves the provider's entities alone.
		refresh(t, svc)
		if e, ok := get(t, svc, "component:default/b1"); !ok || isOrphan(e) {
			t.Fatalf("full refresh touched a provider entity: %+v %v", e, ok)
		}
		// The next full apply no longer has acme/b: its entity is orphaned,
		// and the next full refresh's cleanup deletes it.
		res, err = svc.ApplyProvider(ctx, "gh", []catalog.Source{providerSource("acme/a", "a1", "a2")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Retired != 1 || res.Orphaned != 1 {
			t.Fatalf("second apply: %+v", res)
		}
		if e, ok := get(t, svc, "component:default/b1"); !ok || !isOrphan(e) {
			t.Fatalf("b1 after its repo vanished: %+v %v, want an orphan", e, ok)
		}
		refresh(t, svc)
		if _, ok := get(t, svc, "component:default/b1"); ok {
			t.Error("orphan b1 kept with the delete strategy")
		}
		// A delta removes one source by name and upserts another.
		res, err = svc.ApplyProviderDelta(ctx, "gh", []catalog.Source{providerSource("acme/c", "c1")}, []string{catalog.ProviderSourceName("gh", "acme/a")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Refreshed != 1 || res.Retired != 1 || res.Orphaned != 2 {
			t.Fatalf("delta: %+v", res)
		}
		if _, ok := get(t, svc, "component:default/c1"); !ok {
			t.Error("c1 missing after delta")
		}
		if e, _ := get(t, svc, "component:default/a1"); !isOrphan(e) {
			t.Errorf("a1 not orphaned after delta: %+v", e)
		}
	})
}

func TestApplyProviderRefusesForeignSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s, "")
		for _, tc := range []struct {
			provider string
			src      catalog.Source
		}{
			{"gh", memSource("loc", fstest.MapFS{"all.yaml": {Data: components("x")}})},
			{"gh", providerSource("acme/a", "x")}, // valid, for contrast below
			{"other", providerSource("acme/a", "x")},
			{"", providerSource("acme/a", "x")},
			{"g:h", providerSource("acme/a", "x")},
		} {
			_, err := svc.ApplyProvider(t.Context(), tc.provider, []catalog.Source{tc.src})
			valid := tc.provider == "gh" && catalog.IsProviderSource(tc.src.Name)
			if valid != (err == nil) {
				t.Errorf("provider %q source %q: err = %v", tc.provider, tc.src.Name, err)
			}
			if err != nil && !(greenroom.ErrorCode(err) == greenroom.CodeInvalid) {
				t.Errorf("provider %q: error code: %v", tc.provider, err)
			}
		}
	})
}

func TestRefreshEntityAsksItsProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s, "")
		ctx := t.Context()
		if _, err := svc.ApplyProvider(ctx, "gh", []catalog.Source{providerSource("acme/a", "a1")}); err != nil {
			t.Fatal(err)
		}
		// Without a refresher, refreshing the entity is a no-op, not an error.
		if err := svc.RefreshEntity(ctx, "component:default/a1"); err != nil {
			t.Fatalf("no refresher: %v", err)
		}
		var asked []string
		svc.RegisterProvider("gh", func(ctx context.Context, name string) error {
			asked = append(asked, name)
			_, err := svc.ApplyProviderDelta(ctx, "gh", []catalog.Source{providerSource("acme/a", "a1", "a9")}, nil)
			return err
		})
		if err := svc.RefreshEntity(ctx, "component:default/a1"); err != nil {
			t.Fatal(err)
		}
		if len(asked) != 1 || asked[0] != catalog.ProviderSourceName("gh", "acme/a") {
			t.Fatalf("provider asked for %v", asked)
		}
		if _, ok := get(t, svc, "component:default/a9"); !ok {
			t.Error("a9 missing: the provider's re-read was not applied")
		}
	})
}
