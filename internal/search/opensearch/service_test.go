package opensearch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"greenroom/internal/config"
	"greenroom/internal/search"
	"greenroom/internal/search/searchtest"
)

// fixture is a Source of the contract's documents.
type fixture struct{ docs []search.Document }

func (fixture) Name() string { return "fixture" }
func (f fixture) Collect(_ context.Context, emit func(search.Document) error) error {
	for _, d := range f.docs {
		if err := emit(d); err != nil {
			return err
		}
	}
	return nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func found(t *testing.T, svc *search.Service, term, key string) bool {
	t.Helper()
	res, err := svc.Search(context.Background(), search.Query{Term: term})
	if err != nil {
		return false
	}
	for _, h := range res.Hits {
		if h.Document.Key() == key {
			return true
		}
	}
	return false
}

func aliasTargets(t *testing.T, b *Backend) []string {
	t.Helper()
	idx, err := b.targets(context.Background())
	if err != nil {
		t.Fatalf("alias: %v", err)
	}
	return idx
}

// TestServiceOverZinc runs the search.Service over the OpenSearch backend:
// first start builds an index behind the alias with a notice; a rebuild
// writes a new index and swaps the alias while queries keep answering;
// real-time changes are searchable; an index gone behind the alias is
// detected by the next query and rebuilt with the repair notice.
func TestServiceOverZinc(t *testing.T) {
	b := zincBackend(t)
	docs := searchtest.Documents()
	svc, err := search.NewService(search.Options{Backend: b}, fixture{docs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); svc.Close() }()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first build", func() bool { return svc.Notice() == "" && found(t, svc, "ledger", "software-catalog|ledger") })
	first := aliasTargets(t, b)
	if len(first) != 1 || !strings.HasPrefix(first[0], b.versionPrefix()) {
		t.Fatalf("alias names %v", first)
	}

	// A rebuild swaps the alias to a new index and drops the old one.
	stop := make(chan struct{})
	failures := make(chan string, 100)
	go func() {
		for {
			select {
			case <-stop:
				close(failures)
				return
			default:
			}
			res, err := svc.Search(context.Background(), search.Query{Term: "billing"})
			if err != nil || res.Total == 0 {
				idx, _ := b.targets(context.Background())
				failures <- fmt.Sprintf("billing not found during the rebuild: %d hits, %v (alias names %v at %s)", res.Total, err, idx, time.Now().Format("15:04:05.000"))
			}
		}
	}()
	t.Logf("rebuild starts %s", time.Now().Format("15:04:05.000"))
	if err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuild ends %s", time.Now().Format("15:04:05.000"))
	close(stop)
	for f := range failures {
		t.Error(f)
		break
	}
	second := aliasTargets(t, b)
	if len(second) != 1 || second[0] == first[0] {
		t.Fatalf("alias names %v after the rebuild, was %v", second, first)
	}
	if _, err := b.c.Do(ctx, "GET", "/"+first[0]+"/_mapping", nil); err == nil {
		t.Errorf("old index %s still exists", first[0])
	}

	// A real-time change is searchable once applied.
	d := search.Document{Type: search.TypeCatalog, ID: "new", Kind: "component", Name: "zebra-service", Title: "Zebra", Ref: "component:default/zebra-service"}
	applied := time.Now()
	if err := svc.Apply(ctx, search.Change{Upsert: []search.Document{d}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the applied change", func() bool { return found(t, svc, "zebra", d.Key()) })
	t.Logf("change to searchable on ZincSearch: %s (its writes are asynchronous)", time.Since(applied).Round(time.Millisecond))

	// The index disappears behind the alias: the next query fails, the
	// service rebuilds with the repair notice, and search comes back.
	if err := b.drop(ctx, second[0]); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Search(ctx, search.Query{Term: "ledger"})
	if err == nil {
		t.Fatalf("search over a deleted index: %d hits, want an error", res.Total)
	}
	if svc.Notice() != search.NoticeRepair && res.Notice != search.NoticeRepair {
		t.Logf("notice %q (the repair may already be done)", svc.Notice())
	}
	waitFor(t, "the repair", func() bool { return svc.Notice() == "" && found(t, svc, "ledger", "software-catalog|ledger") })
	st := svc.Status()
	if st.Documents != uint64(len(docs)) {
		b, _ := json.Marshal(st)
		t.Errorf("status after repair %s, want %d documents", b, len(docs))
	}
}

// TestStartWhileClusterDown checks that a cluster unreachable at start
// leaves search unavailable for a moment, not broken: once the cluster
// answers, the missing index is found by a query and built.
func TestStartWhileClusterDown(t *testing.T) {
	u := zincURL(t)
	// A proxy in front of the real server that refuses (503) until opened.
	var open atomic.Bool
	target, _ := url.Parse(u)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open.Load() {
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	b, err := NewBackend(Options{Nodes: []string{srv.URL + target.Path}, Username: zincUser, Password: config.Secret(zincPass),
		IndexPrefix: "down" + strconv.FormatInt(prefixes.Add(1), 10) + "-", Dialect: DialectZinc,
		MaxRetries: 1, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, BreakerTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := search.NewService(search.Options{Backend: b}, fixture{searchtest.Documents()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); svc.Close() }()
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("start with the cluster down: %v", err)
	}
	if _, err := svc.Search(ctx, search.Query{Term: "ledger"}); err == nil {
		t.Fatal("a query succeeded with the cluster down")
	}
	open.Store(true)
	waitFor(t, "search once the cluster answers", func() bool {
		svc.Search(ctx, search.Query{Term: "ledger"}) // the failing query finds the index missing
		return found(t, svc, "ledger", "software-catalog|ledger")
	})
}
