package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestLocations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		before := time.Now().Add(-time.Minute)
		a, err := s.CreateLocation(ctx, catalog.Location{Type: "url", Target: "https://example.com/a.yaml", EntityRef: "location:default/generated-a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.ID) != 36 || a.CreatedAt.Before(before) || a.EntityRef != "location:default/generated-a" {
			t.Errorf("created %+v: want a UUID, a creation time and the entity ref", a)
		}
		b, err := s.CreateLocation(ctx, catalog.Location{ID: "00000000-0000-4000-8000-000000000001", Type: "file", Target: "/srv/b.yaml", EntityRef: "location:default/generated-b"})
		if err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			err  error
			code greenroom.Code
			msg  string
		}{
			{"duplicate type and target", second(s.CreateLocation(ctx, catalog.Location{Type: "url", Target: "https://example.com/a.yaml", EntityRef: "x"})),
				greenroom.CodeConflict, "Location url:https://example.com/a.yaml already exists"},
			{"same target, other type", second(s.CreateLocation(ctx, catalog.Location{Type: "file", Target: "https://example.com/a.yaml", EntityRef: "x"})), "", ""},
			{"taken id", second(s.CreateLocation(ctx, catalog.Location{ID: b.ID, Type: "url", Target: "https://example.com/c.yaml", EntityRef: "x"})),
				greenroom.CodeConflict, "Location url:https://example.com/c.yaml already exists"},
			{"missing fields", second(s.CreateLocation(ctx, catalog.Location{Type: "url"})), greenroom.CodeInvalid, "a location needs a type, a target and an entity ref"},
			{"get unknown", second(s.Location(ctx, "nope")), greenroom.CodeNotFound, "Found no location with ID nope"},
			{"update unknown", second(s.UpdateLocation(ctx, catalog.Location{ID: "nope", Type: "url", Target: "https://example.com/z.yaml", EntityRef: "x"})), greenroom.CodeNotFound, "Found no location with ID nope"},
			{"update onto another", second(s.UpdateLocation(ctx, catalog.Location{ID: b.ID, Type: "url", Target: "https://example.com/a.yaml", EntityRef: "x"})), greenroom.CodeConflict, "Location url:https://example.com/a.yaml already exists"},
			{"delete unknown", s.DeleteLocation(ctx, "nope"), greenroom.CodeNotFound, "Found no location with ID nope"},
		}
		for _, tt := range tests {
			if greenroom.ErrorCode(tt.err) != tt.code || (tt.msg != "" && greenroom.ErrorMessage(tt.err) != tt.msg) {
				t.Errorf("%s: error %v (code %q), want code %q and %q", tt.name, tt.err, greenroom.ErrorCode(tt.err), tt.code, tt.msg)
			}
		}

		got, err := s.Location(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		cmpLoc := cmpopts.EquateApproxTime(time.Millisecond)
		if diff := cmp.Diff(a, got, cmpLoc, cmpopts.IgnoreUnexported(catalog.Location{})); diff != "" {
			t.Errorf("get (-created +got):\n%s", diff)
		}
		up, err := s.UpdateLocation(ctx, catalog.Location{ID: b.ID, Type: "url", Target: "https://example.com/b.yaml", EntityRef: "location:default/generated-b2"})
		if err != nil {
			t.Fatal(err)
		}
		if up.ID != b.ID || up.Type != "url" || up.Target != "https://example.com/b.yaml" || up.EntityRef != "location:default/generated-b2" || !up.CreatedAt.Equal(b.CreatedAt) {
			t.Errorf("updated %+v: want id and creation time kept, type, target and entity ref changed", up)
		}
		all, err := s.Locations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var targets []string
		for _, l := range all {
			targets = append(targets, l.Type+":"+l.Target)
		}
		want := []string{"url:https://example.com/a.yaml", "url:https://example.com/b.yaml", "file:https://example.com/a.yaml"}
		if diff := cmp.Diff(want, targets); diff != "" {
			t.Errorf("list, oldest first (-want +got):\n%s", diff)
		}
		if err := s.DeleteLocation(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Location(ctx, a.ID); !greenroom.IsNotFound(err) {
			t.Errorf("after delete: %v", err)
		}
		if all, _ := s.Locations(ctx); len(all) != 2 {
			t.Errorf("after delete: %d locations, want 2", len(all))
		}
	})
}

func second[T any](_ T, err error) error { return err }
