package cli

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/search"
	"greenroom/internal/store/storetest"
)

const replicaComponent = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
  description: %s
spec: {type: service, owner: team, lifecycle: production}
`

// TestSearchAcrossReplicas checks the multi-replica design of the embedded
// engine: each replica keeps its own bleve index, fed by the catalog's
// change events, which cross replicas over PostgreSQL NOTIFY — so a change
// committed on replica A is searchable on replica B within 1 s.
func TestSearchAcrossReplicas(t *testing.T) {
	opts := storetest.PostgresOptions(t)
	stA, stB := storetest.Open(t, opts), storetest.Open(t, opts)
	logger := slog.New(slog.DiscardHandler)
	docs := []string{fmt.Sprintf(replicaComponent, "seed-service", "The first one.")}
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(docs[0])}}
	catA, err := catalog.NewService(stA, []catalog.Source{{Name: "src", FS: fsys, Root: "all.yaml"}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	catB, err := catalog.NewService(stB, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{}, 2)
	catA.RelayEvents(ctx, stA, func() { ready <- struct{}{} })
	catB.RelayEvents(ctx, stB, func() { ready <- struct{}{} })
	for range 2 {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("relay listener never ready")
		}
	}
	replicas := make([]*search.Service, 2)
	for i, pair := range []struct {
		st  search.EntityStore
		cat *catalog.Service
	}{{stA, catA}, {stB, catB}} {
		svc, err := search.NewService(search.Options{Dir: t.TempDir()}, search.NewCatalogSource(pair.st, pair.cat))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		replicas[i] = svc
	}
	defer func() {
		cancel()
		for _, r := range replicas {
			r.Close()
		}
	}()
	for _, r := range replicas {
		for deadline := time.Now().Add(20 * time.Second); r.Notice() != ""; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("first index build never finished")
			}
		}
	}
	b := replicas[1]
	found := func(term, name string) bool {
		res, err := b.Search(ctx, search.Query{Term: term})
		if err != nil {
			return false
		}
		return slices.ContainsFunc(res.Hits, func(h search.Hit) bool { return h.Document.Name == name })
	}
	var lags []time.Duration
	for i := range 8 {
		name := fmt.Sprintf("zebra-%d-service", i)
		docs = append(docs, fmt.Sprintf(replicaComponent, name, fmt.Sprintf("Stripes number %d.", i)))
		fsys["all.yaml"] = &fstest.MapFile{Data: []byte(strings.Join(docs, "---\n"))}
		start := time.Now()
		if err := catA.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for !found(name, name) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s committed on replica A is not searchable on replica B after 5 s", name)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	t.Logf("change on A to searchable on B (commit included), %d changes: min %s, median %s, max %s",
		len(lags), lags[0].Round(time.Millisecond), lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	if lags[len(lags)-1] > time.Second {
		t.Errorf("slowest change took %s to be searchable on the other replica, want under 1 s", lags[len(lags)-1])
	}
}
