package store_test

import (
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// A source's recorded inputs round-trip, empty as NULL; marking it
// refreshed moves its refresh time and nothing else; a source without
// state stays without.
func TestSourceStateInputs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := s.MarkSourceRefreshed(ctx, "none"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SourceState(ctx, "none"); !greenroom.IsNotFound(err) {
			t.Fatalf("marking a source without state made one: %v", err)
		}
		want := catalog.SourceState{Name: "x", Hash: "h", EntityCount: 2, Problems: []string{"a.yaml:3: bad"}, Inputs: `{"c":"cfg","d":"dig","f":["a.yaml"]}`}
		if err := s.SaveSourceState(ctx, want); err != nil {
			t.Fatal(err)
		}
		saved, err := s.SourceState(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		if saved.Inputs != want.Inputs || saved.Hash != want.Hash || saved.EntityCount != 2 || len(saved.Problems) != 1 {
			t.Fatalf("state %+v, want %+v", saved, want)
		}
		time.Sleep(20 * time.Millisecond) // past the clock's resolution
		if err := s.MarkSourceRefreshed(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		marked, err := s.SourceState(ctx, "x")
		if err != nil {
			t.Fatal(err)
		}
		if !marked.RefreshedAt.After(saved.RefreshedAt) {
			t.Errorf("refreshed at %v, before %v", marked.RefreshedAt, saved.RefreshedAt)
		}
		marked.RefreshedAt = saved.RefreshedAt
		if marked.Inputs != saved.Inputs || marked.Hash != saved.Hash || marked.EntityCount != saved.EntityCount || marked.Problems[0] != saved.Problems[0] {
			t.Errorf("marking changed the state: %+v, was %+v", marked, saved)
		}
		want.Inputs = ""
		if err := s.SaveSourceState(ctx, want); err != nil {
			t.Fatal(err)
		}
		if cleared, err := s.SourceState(ctx, "x"); err != nil || cleared.Inputs != "" {
			t.Errorf("inputs not cleared: %+v, %v", cleared, err)
		}
	})
}
