package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// served is the part of a served body the orphan and status tests read.
type served struct {
	Metadata struct {
		UID, Etag   string
		Annotations map[string]string
	} `json:"metadata"`
	Relations []struct{ Type, TargetRef string } `json:"relations"`
	Status    *struct {
		Items []json.RawMessage `json:"items"`
	} `json:"status"`
}

func loadServed(t *testing.T, s *store.Store, ref string) served {
	t.Helper()
	r, err := s.EntityByRef(t.Context(), ref)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	var sv served
	if err := json.Unmarshal(r.Body, &sv); err != nil {
		t.Fatal(err)
	}
	return sv
}

// ownership is svc ownedBy team, emitted by svc, as processing stores it.
func ownership(svc string) []catalog.StoredRelation {
	return []catalog.StoredRelation{
		{SourceRef: "component:default/" + svc, Type: "ownedBy", TargetRef: "group:default/team", OriginRef: "component:default/" + svc},
		{SourceRef: "group:default/team", Type: "ownerOf", TargetRef: "component:default/" + svc, OriginRef: "component:default/" + svc},
	}
}

// changes returns type → sorted refs of the result's changes.
func changes(res catalog.ReplaceResult) map[catalog.EventType][]string {
	m := map[catalog.EventType][]string{}
	for _, ev := range res.Changes {
		m[ev.Type] = append(m[ev.Type], ev.Ref)
	}
	for _, refs := range m {
		slices.Sort(refs)
	}
	return m
}

func TestApplySourceOrphansAndUnorphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const svc, team = "component:default/svc", "group:default/team"
		res, err := s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Component", "svc"), relRec("a", "Group", "team")}, ownership("svc"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventCreated: {svc, team}}, changes(res)); diff != "" {
			t.Errorf("first apply changes (-want +got):\n%s", diff)
		}
		for _, ev := range res.Changes {
			if ev.UID == "" || ev.ETag == "" || ev.Source != "a" {
				t.Errorf("event lacks uid, etag or source: %+v", ev)
			}
		}
		before := loadServed(t, s, svc)

		// The source drops svc: it stays, annotated, with its relations.
		res, err = s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Group", "team")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Orphaned != 1 || res.Deleted != 0 {
			t.Errorf("orphaned %d, deleted %d", res.Orphaned, res.Deleted)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventOrphaned: {svc}}, changes(res)); diff != "" {
			t.Errorf("orphaning changes (-want +got):\n%s", diff)
		}
		orphan := loadServed(t, s, svc)
		if orphan.Metadata.Annotations[catalog.OrphanAnnotation] != "true" || orphan.Metadata.UID != before.Metadata.UID ||
			orphan.Metadata.Etag == before.Metadata.Etag || len(orphan.Relations) != 1 {
			t.Errorf("orphan %+v (before %+v)", orphan, before)
		}
		if rels := loadServed(t, s, team).Relations; len(rels) != 1 || rels[0].Type != "ownerOf" {
			t.Errorf("team lost the relation the orphan emitted: %+v", rels)
		}
		live, err := s.SourceEntities(ctx, "a")
		if err != nil || len(live) != 1 || live[0].Ref != team {
			t.Errorf("source entities leave the orphan out: %+v %v", live, err)
		}
		// Nothing new: nothing changes, no event.
		res, err = s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Group", "team")}, nil)
		if err != nil || res.Orphaned != 0 || len(res.Changes) != 0 {
			t.Errorf("repeat: %+v %v", res, err)
		}

		// It comes back: un-orphaned, same uid.
		res, err = s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Component", "svc"), relRec("a", "Group", "team")}, ownership("svc"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventUpdated: {svc}}, changes(res)); diff != "" {
			t.Errorf("un-orphaning changes (-want +got):\n%s", diff)
		}
		back := loadServed(t, s, svc)
		if _, ok := back.Metadata.Annotations[catalog.OrphanAnnotation]; ok || back.Metadata.UID != before.Metadata.UID || back.Metadata.Etag != before.Metadata.Etag {
			t.Errorf("back %+v, before %+v", back, before)
		}
	})
}

func TestApplySourceClaimsOrphansNotOwnedEntities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const svc, team = "component:default/svc", "group:default/team"
		if _, err := s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Component", "svc")}, ownership("svc")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplySource(ctx, "t", []catalog.Record{relRec("t", "Group", "team")}, nil); err != nil {
			t.Fatal(err)
		}
		uid := loadServed(t, s, svc).Metadata.UID

		// b also supplies svc, owned by a: a conflict, and b's relations
		// from svc are not stitched into it.
		other := []catalog.StoredRelation{{SourceRef: svc, Type: "dependsOn", TargetRef: "component:default/db", OriginRef: svc}}
		res, err := s.ApplySource(ctx, "b", []catalog.Record{relRec("b", "Component", "svc")}, other)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{svc}, res.Conflicts); diff != "" {
			t.Errorf("conflicts (-want +got):\n%s", diff)
		}
		if rels := loadServed(t, s, svc).Relations; len(rels) != 1 || rels[0].Type != "ownedBy" {
			t.Errorf("the loser's relations reached the winner: %+v", rels)
		}

		// a drops svc; now b claims the orphan: its data and relations,
		// the old uid, no annotation, and a's relations from svc are gone.
		if _, err := s.ApplySource(ctx, "a", nil, nil); err != nil {
			t.Fatal(err)
		}
		res, err = s.ApplySource(ctx, "b", []catalog.Record{relRec("b", "Component", "svc")}, other)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Conflicts) != 0 || res.Updated != 1 {
			t.Errorf("claim: %+v", res)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventUpdated: {svc, team}}, changes(res)); diff != "" {
			t.Errorf("claim changes (-want +got):\n%s", diff)
		}
		got, err := s.EntityByRef(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		sv := loadServed(t, s, svc)
		if got.Source != "b" || got.UID != uid || sv.Metadata.Annotations[catalog.OrphanAnnotation] != "" ||
			len(sv.Relations) != 1 || sv.Relations[0].Type != "dependsOn" {
			t.Errorf("claimed entity: source %s uid %s (was %s), %+v", got.Source, got.UID, uid, sv)
		}
		if rels := loadServed(t, s, team).Relations; len(rels) != 0 {
			t.Errorf("team keeps the relation of svc's old source: %+v", rels)
		}
		// b's next refresh of the same content changes nothing.
		if res, err := s.ApplySource(ctx, "b", []catalog.Record{relRec("b", "Component", "svc")}, other); err != nil || len(res.Changes) != 0 || res.Unchanged != 1 {
			t.Errorf("b again: %+v %v", res, err)
		}
	})
}

func TestApplySourceProcessingErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const ref = "component:default/svc"
		// The entity's own status has an item of another type: kept.
		rec := relRec("a", "Component", "svc")
		rec.Body, _ = json.Marshal(map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": "svc", "namespace": "default"},
			"status":   map[string]any{"items": []any{map[string]any{"type": "example.com/other", "level": "info", "message": "hi"}}}})
		if _, err := s.ApplySource(ctx, "a", []catalog.Record{rec}, nil); err != nil {
			t.Fatal(err)
		}
		clean := loadServed(t, s, ref)

		rec.Errors = []catalog.EntityError{{Name: "InputError", Message: "svc.yaml:3: component:default/svc: metadata.tags[0]: bad"}}
		res, err := s.ApplySource(ctx, "a", []catalog.Record{rec}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventUpdated: {ref}}, changes(res)); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		failing := loadServed(t, s, ref)
		if failing.Status == nil || len(failing.Status.Items) != 2 {
			t.Fatalf("status %+v", failing.Status)
		}
		var item map[string]any
		if err := json.Unmarshal(failing.Status.Items[1], &item); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"type": "backstage.io/catalog-processing", "level": "error",
			"message": "InputError: svc.yaml:3: component:default/svc: metadata.tags[0]: bad",
			"error":   map[string]any{"name": "InputError", "message": "svc.yaml:3: component:default/svc: metadata.tags[0]: bad"},
		}
		if diff := cmp.Diff(want, item); diff != "" {
			t.Errorf("status item (-want +got):\n%s", diff)
		}
		got, err := s.SourceEntities(ctx, "a")
		if err != nil || len(got) != 1 || len(got[0].Errors) != 1 || got[0].Errors[0] != rec.Errors[0] {
			t.Errorf("source entities: %+v %v", got, err)
		}

		// Processing succeeds again: the item goes, the other stays, and
		// the served entity is what it was.
		rec.Errors = nil
		if _, err := s.ApplySource(ctx, "a", []catalog.Record{rec}, nil); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(clean, loadServed(t, s, ref)); diff != "" {
			t.Errorf("after recovery (-want +got):\n%s", diff)
		}
	})
}

func TestRetireSourceAndDeleteOrphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const svc, team = "component:default/svc", "group:default/team"
		if _, err := s.ApplySource(ctx, "a", []catalog.Record{relRec("a", "Component", "svc")}, ownership("svc")); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSourceState(ctx, catalog.SourceState{Name: "a", Hash: "h"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplySource(ctx, "t", []catalog.Record{relRec("t", "Group", "team")}, nil); err != nil {
			t.Fatal(err)
		}
		known, err := s.KnownSources(ctx)
		if err != nil || !slices.Equal(known, []string{"a", "t"}) {
			t.Errorf("known sources %v %v", known, err)
		}

		res, err := s.RetireSource(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventOrphaned: {svc}}, changes(res)); diff != "" {
			t.Errorf("retire changes (-want +got):\n%s", diff)
		}
		if known, _ := s.KnownSources(ctx); !slices.Equal(known, []string{"t"}) {
			t.Errorf("retired source still known: %v", known)
		}
		if _, err := s.SourceState(ctx, "a"); err == nil {
			t.Error("retired source keeps its refresh state")
		}
		if rels := loadServed(t, s, team).Relations; len(rels) != 1 {
			t.Errorf("team lost the orphan's relation at retirement: %+v", rels)
		}

		res, err = s.DeleteOrphans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deleted != 1 {
			t.Errorf("deleted %d", res.Deleted)
		}
		if diff := cmp.Diff(map[catalog.EventType][]string{catalog.EventDeleted: {svc}, catalog.EventUpdated: {team}}, changes(res)); diff != "" {
			t.Errorf("delete changes (-want +got):\n%s", diff)
		}
		if _, err := s.EntityByRef(ctx, svc); err == nil {
			t.Error("orphan not deleted")
		}
		if rels := loadServed(t, s, team).Relations; len(rels) != 0 {
			t.Errorf("team keeps the deleted orphan's relation: %+v", rels)
		}
		kind := query.In("kind", "component")
		page, err := s.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Limit: query.NoLimit, Filter: &kind})
		if err != nil || len(page.Items) != 0 {
			t.Errorf("search rows of the deleted orphan remain: %d items, %v", len(page.Items), err)
		}
		if res, err := s.DeleteOrphans(ctx); err != nil || res.Deleted != 0 || len(res.Changes) != 0 {
			t.Errorf("second cleanup: %+v %v", res, err)
		}
	})
}

func TestDeleteOrphansManyBatches(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := t.Context()
	var recs []catalog.Record
	for i := range 1200 { // more than one batch
		recs = append(recs, rec(fmt.Sprintf("component:default/c%04d", i), "h"))
	}
	if _, err := s.ApplySource(ctx, "a", recs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RetireSource(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	res, err := s.DeleteOrphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountEntities(ctx); res.Deleted != len(recs) || n != 0 {
		t.Errorf("deleted %d of %d; %d left", res.Deleted, len(recs), n)
	}
}
