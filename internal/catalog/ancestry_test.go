package catalog_test

import (
	"encoding/json"
	"log/slog"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// chain flattens an ancestry to "ref <- parent, parent" lines.
func chain(t *testing.T, a catalog.Ancestry) []string {
	t.Helper()
	var out []string
	for _, it := range a.Items {
		var e struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := json.Unmarshal(it.Entity, &e); err != nil {
			t.Fatal(err)
		}
		line := e.Kind + ":" + e.Metadata.Name + " <-"
		for _, p := range it.ParentEntityRefs {
			line += " " + p
		}
		out = append(out, line)
	}
	return out
}

func TestEntityAncestry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		srv := serve(t, remote)
		demo := fstest.MapFS{
			"all.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec: {targets: [./sub/all.yaml]}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root2}
spec: {target: ./sub/c.yaml}
`)},
			"sub/all.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: sub}\nspec: {target: ./c.yaml}\n")},
			"sub/c.yaml":   {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: c}\nspec: {type: service, owner: team, lifecycle: production}\n")},
		}
		svc, err := catalog.NewService(s, []catalog.Source{{Name: "demo", FS: demo, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		svc.SetLocationStore(s)
		svc.SetURLReader(catalog.NewTestURLReader(srv.Client()))
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		target := srv.URL + "/repo/catalog-info.yaml"
		if _, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{}); err != nil {
			t.Fatal(err)
		}
		gen := "location:default/" + generatedName("url", target)
		tests := []struct {
			ref  greenroom.EntityRef
			root string
			want []string
		}{
			{greenroom.EntityRef{Kind: "API", Namespace: "default", Name: "remote-api"}, "api:default/remote-api", []string{
				"API:remote-api <- location:default/remote-more",
				"Location:remote-more <- " + gen,
				"Location:" + generatedName("url", target) + " <-",
			}},
			{greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "remote-svc"}, "component:default/remote-svc", []string{
				"Component:remote-svc <- " + gen,
				"Location:" + generatedName("url", target) + " <-",
			}},
			{greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "c"}, "component:default/c", []string{
				"Component:c <- location:default/root2 location:default/sub",
				"Location:sub <- location:default/root",
				"Location:root <-",
				"Location:root2 <-",
			}},
		}
		for _, tt := range tests {
			t.Run(tt.root, func(t *testing.T) {
				a, err := svc.EntityAncestry(ctx, tt.ref)
				if err != nil {
					t.Fatal(err)
				}
				if a.RootEntityRef != tt.root {
					t.Errorf("rootEntityRef %q, want %q", a.RootEntityRef, tt.root)
				}
				if diff := cmp.Diff(tt.want, chain(t, a)); diff != "" {
					t.Errorf("ancestry (-want +got):\n%s", diff)
				}
			})
		}
		_, err = svc.EntityAncestry(ctx, greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "nope"})
		if !greenroom.IsNotFound(err) || greenroom.ErrorMessage(err) != "No such entity component:default/nope" {
			t.Errorf("unknown entity: %v", err)
		}
	})
}
