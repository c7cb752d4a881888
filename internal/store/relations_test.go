package store_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func relRec(source, kind, name string) catalog.Record {
	ref := greenroom.EntityRef{Kind: kind, Namespace: "default", Name: name}
	body, _ := json.Marshal(map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "default"}})
	return catalog.Record{Ref: ref.String(), Kind: kind, Namespace: "default", Name: name, Source: source, Hash: "h-" + name, Body: body}
}

type stitched struct {
	Metadata struct {
		UID, Etag string
	} `json:"metadata"`
	Relations []struct{ Type, TargetRef string } `json:"relations"`
}

func load(t *testing.T, s *store.Store, ref string) stitched {
	t.Helper()
	r, err := s.EntityByRef(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var st stitched
	if err := json.Unmarshal(r.Body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Metadata.UID != r.UID {
		t.Errorf("%s: body uid %q, column uid %q", ref, st.Metadata.UID, r.UID)
	}
	return st
}

func TestRelationsAndStitching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.ReplaceSourceEntities(ctx, "a", []catalog.Record{relRec("a", "Component", "svc")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReplaceSourceEntities(ctx, "b", []catalog.Record{relRec("b", "Group", "team")}); err != nil {
			t.Fatal(err)
		}
		rels := []catalog.StoredRelation{
			{SourceRef: "component:default/svc", Type: "ownedBy", TargetRef: "group:default/team"},
			{SourceRef: "group:default/team", Type: "ownerOf", TargetRef: "component:default/svc"},
			{SourceRef: "component:default/svc", Type: "ownedBy", TargetRef: "group:default/team"}, // duplicate
		}
		affected, err := s.ReplaceSourceRelations(ctx, "a", rels)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"component:default/svc", "group:default/team"}, affected); diff != "" {
			t.Errorf("affected (-want +got):\n%s", diff)
		}
		if err := s.StitchEntities(ctx, append(affected, "component:default/missing")); err != nil {
			t.Fatal(err)
		}
		svc := load(t, s, "component:default/svc")
		if len(svc.Relations) != 1 || svc.Relations[0].Type != "ownedBy" || svc.Relations[0].TargetRef != "group:default/team" {
			t.Errorf("svc relations %+v", svc.Relations)
		}
		team := load(t, s, "group:default/team")
		if len(team.Relations) != 1 || team.Relations[0].Type != "ownerOf" || team.Metadata.Etag == "" {
			t.Errorf("team %+v", team)
		}
		// Dropping the relations restitches both ends; the etag moves.
		affected, err = s.ReplaceSourceRelations(ctx, "a", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.StitchEntities(ctx, affected); err != nil {
			t.Fatal(err)
		}
		after := load(t, s, "group:default/team")
		if len(after.Relations) != 0 || after.Metadata.Etag == team.Metadata.Etag {
			t.Errorf("after removal %+v (etag before %s)", after, team.Metadata.Etag)
		}
	})
}

func TestSourceState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.SourceState(ctx, "x"); !greenroom.IsNotFound(err) {
			t.Fatalf("never refreshed: %v", err)
		}
		for _, hash := range []string{"h1", "h2"} {
			if err := s.SaveSourceState(ctx, catalog.SourceState{Name: "x", Hash: hash, EntityCount: 3, Problems: []string{"a.yaml:3: bad"}}); err != nil {
				t.Fatal(err)
			}
		}
		st, err := s.SourceState(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		if st.Hash != "h2" || st.EntityCount != 3 || len(st.Problems) != 1 || st.RefreshedAt.IsZero() {
			t.Errorf("state %+v", st)
		}
	})
}

func TestEntityByUIDAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		rels := []catalog.StoredRelation{
			{SourceRef: "component:default/svc", Type: "ownedBy", TargetRef: "group:default/team"},
			{SourceRef: "group:default/team", Type: "ownerOf", TargetRef: "component:default/svc"},
		}
		if _, err := s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Component", "svc"), relRec("a", "Group", "team")}, rels); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSourceState(ctx, catalog.SourceState{Name: "a", Hash: "h"}); err != nil {
			t.Fatal(err)
		}
		svc, err := s.EntityByRef(ctx, "component:default/svc")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.EntityByUID(ctx, svc.UID)
		if err != nil || got.Ref != svc.Ref {
			t.Fatalf("by uid: %+v %v", got, err)
		}
		if _, err := s.EntityByUID(ctx, "nope"); !greenroom.IsNotFound(err) {
			t.Errorf("unknown uid: %v", err)
		}
		if err := s.DeleteEntityByUID(ctx, svc.UID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EntityByRef(ctx, svc.Ref); !greenroom.IsNotFound(err) {
			t.Errorf("deleted entity still there: %v", err)
		}
		if team := load(t, s, "group:default/team"); len(team.Relations) != 0 {
			t.Errorf("team still relates to the deleted entity: %+v", team.Relations)
		}
		if _, err := s.SourceState(ctx, "a"); !greenroom.IsNotFound(err) {
			t.Errorf("source hash kept, so a refresh would not bring the entity back: %v", err)
		}
		page, err := s.EntitiesByRefs(ctx, []string{svc.Ref}, nil)
		if err != nil || page[0] != nil {
			t.Errorf("by refs after delete: %v %v", page, err)
		}
		kind := query.In("kind", "component")
		res, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Limit: query.NoLimit, Filter: &kind})
		if err != nil || len(res.Items) != 0 {
			t.Errorf("filtered query still finds the deleted entity: %d items, %v", len(res.Items), err)
		}
		if err := s.DeleteEntityByUID(ctx, svc.UID); !greenroom.IsNotFound(err) {
			t.Errorf("second delete: %v", err)
		}
	})
}
