package search

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// contractor may read the default namespace only, never the risk team's
// entities (nor their docs), and no people.
func contractor(restricted []string) func(context.Context) (Visibility, error) {
	return func(ctx context.Context) (Visibility, error) {
		if p := access.FromContext(ctx); p != nil && p.Contractor {
			return Visibility{Namespaces: []string{"default"}, ExcludeRefs: restricted, ExcludeKinds: []string{"user"}}, nil
		}
		return Everything, nil
	}
}

func TestVisibilityContractor(t *testing.T) {
	_, st := demoCatalog(t)
	svc := startService(t, t.TempDir(), NewCatalogSource(st, nil), docsSource{dir: testdataDocs()})
	restricted := []string{"component:default/fraud-scoring-service", "component:default/kyc-service", "api:default/fraud-scoring-api"}
	svc.SetVisibility(contractor(restricted))
	employee := access.NewContext(context.Background(), &access.Principal{Kind: access.KindUser, UserRef: "user:default/maya.okafor"})
	ctr := access.NewContext(context.Background(), &access.Principal{Kind: access.KindUser, UserRef: "user:default/ext", Contractor: true})

	facets := []string{"kind", "owner", "category"}
	for _, term := range []string{"fraud", "fraud scoring", "kyc", "model retrained", "", "maya"} {
		emp, err := svc.Search(employee, Query{Term: term, Facets: facets, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.Search(ctr, Query{Term: term, Facets: facets, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range got.Hits {
			if slices.Contains(restricted, h.Document.Ref) || h.Document.Kind == "user" {
				t.Errorf("%q: contractor sees %s", term, h.Document.Key())
			}
		}
		hidden := 0
		for _, h := range emp.Hits {
			if slices.Contains(restricted, h.Document.Ref) || h.Document.Kind == "user" {
				hidden++
			}
		}
		if term != "" && got.Total != emp.Total-hidden {
			t.Errorf("%q: contractor total %d, employee %d with %d hidden", term, got.Total, emp.Total, hidden)
		}
		for _, f := range facets {
			sum := 0
			for _, v := range got.Facets[f] {
				sum += v.Count
				if f == "kind" && v.Value == "user" {
					t.Errorf("%q: contractor's kind facet counts users: %v", term, got.Facets[f])
				}
			}
			if f == "kind" && sum != got.Total {
				t.Errorf("%q: kind facet sums to %d, total %d", term, sum, got.Total)
			}
		}
		sugg, err := svc.Suggest(ctr, term, nil, 16)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sugg {
			if slices.Contains(restricted, s.Ref) || s.Kind == "user" {
				t.Errorf("%q: contractor suggestion %s", term, s.Ref)
			}
		}
	}
	// The restricted service is found by employees.
	emp, _ := svc.Search(employee, Query{Term: "fraud-scoring-service"})
	if len(emp.Hits) == 0 || emp.Hits[0].Document.Ref != "component:default/fraud-scoring-service" {
		t.Fatalf("employee does not find fraud-scoring-service: %v", titles(emp.Hits))
	}
}

func TestVisibilityZeroShowsNothing(t *testing.T) {
	svc := startService(t, t.TempDir(), docsSource{dir: testdataDocs()})
	svc.SetVisibility(func(context.Context) (Visibility, error) { return Visibility{}, nil })
	res, err := svc.Search(context.Background(), Query{Term: "ledger", Facets: []string{"kind"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 0 || len(res.Hits) != 0 || len(res.Closest) != 0 || len(res.Facets["kind"]) != 0 {
		t.Fatalf("zero visibility shows %d results, facets %v", res.Total, res.Facets)
	}
	svc.SetVisibility(func(context.Context) (Visibility, error) { return Visibility{}, errors.New("policy down") })
	if _, err := svc.Search(context.Background(), Query{Term: "ledger"}); err == nil {
		t.Fatal("a failing visibility hook must fail the query, not show everything")
	}
}

func TestOwnTeamRanksUp(t *testing.T) {
	store := &memStore{}
	for _, owner := range []string{"team-a", "team-b"} {
		store.recs = append(store.recs, recordOf(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"billing-`+owner+`","description":"billing worker"},"spec":{"type":"service","lifecycle":"production","owner":"`+owner+`"}}`, time.Time{}))
	}
	svc := startService(t, t.TempDir(), NewCatalogSource(store, nil))
	for _, team := range []string{"team-a", "team-b"} {
		ctx := access.NewContext(context.Background(), &access.Principal{OwnershipRefs: []string{"user:default/x", "group:default/" + team}})
		res, err := svc.Search(ctx, Query{Term: "billing worker"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 2 || res.Hits[0].Document.Name != "billing-"+team {
			t.Errorf("member of %s gets %v first", team, titles(res.Hits))
		}
	}
}

func TestRecentRanksUp(t *testing.T) {
	store := &memStore{}
	now := time.Now()
	store.recs = append(store.recs,
		recordOf(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"old-billing","description":"billing worker"},"spec":{"type":"service","lifecycle":"production","owner":"a"}}`, now.AddDate(-1, 0, 0)),
		recordOf(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"new-billing","description":"billing worker"},"spec":{"type":"service","lifecycle":"production","owner":"a"}}`, now.Add(-time.Hour)))
	svc := startService(t, t.TempDir(), NewCatalogSource(store, nil))
	res, err := svc.Search(context.Background(), Query{Term: "billing worker"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 2 || res.Hits[0].Document.Name != "new-billing" {
		t.Fatalf("recently changed entity not first: %v", titles(res.Hits))
	}
}

func TestRealTimeCatalogChanges(t *testing.T) {
	cat, st := demoCatalog(t)
	svc := startService(t, t.TempDir(), NewCatalogSource(st, cat))
	time.Sleep(50 * time.Millisecond) // the feed subscribes
	dir := t.TempDir()
	const file = "all.yaml"
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: quokka-exporter\n  description: Exports quokka sightings\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-data\n")
	src, err := catalogFileSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.ApplyProvider(context.Background(), "test", src); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	waitFor(t, svc, "quokka", 1)
	t.Logf("change to searchable: %v", time.Since(started))
	if d := time.Since(started); d > time.Second {
		t.Errorf("change took %v to be searchable, want < 1 s", d)
	}
	write("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: wombat-exporter\n  description: Exports wombat sightings\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-data\n")
	if _, err := cat.ApplyProvider(context.Background(), "test", src); err != nil {
		t.Fatal(err)
	}
	waitFor(t, svc, "wombat", 1)
	// The replaced entity stays as an orphan (still served, still found)
	// until deleted.
	body, err := cat.EntityByName(context.Background(), greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "quokka-exporter"})
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Metadata struct{ UID string } `json:"metadata"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if err := cat.DeleteEntityByUID(context.Background(), e.Metadata.UID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, svc, "quokka", 0)
}

func waitFor(t *testing.T, svc *Service, term string, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		res, err := svc.Search(context.Background(), Query{Term: term})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: %d results after 2 s, want %d", term, res.Total, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartRebuildsMissingOlderAndDamaged(t *testing.T) {
	dir := t.TempDir()
	src := docsSource{dir: testdataDocs()}
	count := func(svc *Service) int {
		res, err := svc.Search(context.Background(), Query{Term: "ledger"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	svc := startService(t, dir, src)
	want := count(svc)
	if want == 0 {
		t.Fatal("nothing indexed")
	}
	cancelAndClose(t, svc)
	cur, err := os.ReadFile(filepath.Join(dir, currentFile))
	if err != nil {
		t.Fatal(err)
	}
	idxDir := filepath.Join(dir, strings.TrimSpace(string(cur)))

	t.Run("reopened without a rebuild", func(t *testing.T) {
		svc, err := NewService(Options{Dir: dir}, src)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); svc.Close() }()
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if svc.Notice() != "" || count(svc) != want || !svc.Status().LastBuild.IsZero() {
			t.Fatalf("reopened index: notice %q, %d results", svc.Notice(), count(svc))
		}
	})
	t.Run("damaged", func(t *testing.T) {
		// Overwrite every segment file with garbage.
		files, _ := filepath.Glob(filepath.Join(idxDir, "*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
				os.WriteFile(f, []byte("garbage"), 0o644)
			}
		}
		svc, err := NewService(Options{Dir: dir}, src)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); svc.Close() }()
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if n := svc.Notice(); n != NoticeRepair && svc.Status().LastBuild.IsZero() {
			t.Errorf("damaged index: notice %q", n)
		}
		waitBuilt(t, svc)
		if count(svc) != want || svc.Notice() != "" {
			t.Fatalf("after repair: %d results (want %d), notice %q", count(svc), want, svc.Notice())
		}
	})
}

func cancelAndClose(t *testing.T, svc *Service) {
	t.Helper()
	// startService's cleanup cancels; close early here by hand.
	svc.mu.Lock()
	eng := svc.eng
	svc.eng = nil
	svc.mu.Unlock()
	if eng != nil {
		eng.Close()
	}
}

func TestFailingSourceDoesNotStopOthers(t *testing.T) {
	_, st := demoCatalog(t)
	svc := startService(t, t.TempDir(), docsSource{fail: errors.New("docs bucket unreachable")}, NewCatalogSource(st, nil))
	res, err := svc.Search(context.Background(), Query{Term: "payment-gateway"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == 0 {
		t.Fatal("catalog not indexed after the docs source failed")
	}
	if e := svc.Status().SourceError["docs"]; !strings.Contains(e, "unreachable") {
		t.Fatalf("status does not report the failing source: %v", svc.Status().SourceError)
	}
}

func TestHugeDocumentTruncated(t *testing.T) {
	huge := strings.Repeat("lorem ipsum dolor ", MaxTextBytes/9) + " needleword"
	src := sliceSource{{Type: TypeTechDocs, ID: "huge", Title: "Huge page", Text: huge, Location: "/docs/huge"}}
	svc := startService(t, t.TempDir(), src)
	if svc.Status().Truncated != 1 {
		t.Fatalf("truncated = %d, want 1", svc.Status().Truncated)
	}
	res, err := svc.Search(context.Background(), Query{Term: "lorem"})
	if err != nil || res.Total != 1 || !res.Hits[0].Document.Truncated || len(res.Hits[0].Document.Text) > MaxTextBytes {
		t.Fatalf("huge document: %v %+v", err, res.Total)
	}
	if res, _ := svc.Search(context.Background(), Query{Term: "needleword"}); res.Total != 0 {
		t.Fatal("text past the bound was indexed")
	}
}

type sliceSource []Document

func (s sliceSource) Name() string { return "slice" }
func (s sliceSource) Collect(ctx context.Context, emit func(Document) error) error {
	for _, d := range s {
		if err := emit(d); err != nil {
			return err
		}
	}
	return nil
}

func TestRebuildDoesNotBlockQueries(t *testing.T) {
	svc := startService(t, t.TempDir(), docsSource{dir: testdataDocs(), generated: 300})
	done := make(chan error, 1)
	go func() { done <- svc.Rebuild(context.Background()) }()
	queries := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if queries == 0 {
				t.Fatal("no query ran during the rebuild")
			}
			res, _ := svc.Search(context.Background(), Query{Term: "idempotency"})
			if res.Total != 1 {
				t.Fatalf("after rebuild: %d", res.Total)
			}
			return
		default:
		}
		res, err := svc.Search(context.Background(), Query{Term: "idempotency"})
		if err != nil || res.Total != 1 {
			t.Fatalf("query during rebuild: %v, %d results", err, res.Total)
		}
		queries++
	}
}

type analyticsRecorder struct {
	queries []QueryStat
	clicks  []ClickStat
}

func (a *analyticsRecorder) RecordSearchAnalytics(_ context.Context, qs []QueryStat, cs []ClickStat) error {
	a.queries = append(a.queries, qs...)
	a.clicks = append(a.clicks, cs...)
	return nil
}

func TestAnalyticsAggregated(t *testing.T) {
	rec := &analyticsRecorder{}
	svc, err := NewService(Options{Dir: t.TempDir(), Now: func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }}, docsSource{dir: testdataDocs()})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetAnalytics(rec)
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitBuilt(t, svc)
	for _, term := range []string{"Ledger", "ledger", "xqzvwpl"} {
		if _, err := svc.Search(context.Background(), Query{Term: term}); err != nil {
			t.Fatal(err)
		}
	}
	svc.Search(context.Background(), Query{Term: "ledger", Offset: 25}) // later pages are not counted
	if err := svc.Click("ledger", 2); err != nil {
		t.Fatal(err)
	}
	if err := svc.Click("ledger", 0); err == nil {
		t.Error("rank 0 accepted")
	}
	cancel()
	svc.Close()
	want := map[string]QueryStat{
		"ledger":  {Day: "2026-12-01", Term: "ledger", Queries: 2},
		"xqzvwpl": {Day: "2026-12-01", Term: "xqzvwpl", Queries: 1, ZeroResults: 1},
	}
	if len(rec.queries) != len(want) {
		t.Fatalf("queries %+v", rec.queries)
	}
	for _, q := range rec.queries {
		if want[q.Term] != q {
			t.Errorf("%+v, want %+v", q, want[q.Term])
		}
	}
	if len(rec.clicks) != 1 || rec.clicks[0] != (ClickStat{Day: "2026-12-01", Term: "ledger", Rank: 2, Clicks: 1}) {
		t.Errorf("clicks %+v", rec.clicks)
	}
}

// Queries beyond one per core wait their turn; one whose context ends
// while waiting gives up with the context's error, running nothing.
func TestSearchWaitsForACore(t *testing.T) {
	svc := startService(t, t.TempDir(), docsSource{dir: testdataDocs()})
	for range cap(svc.running) {
		svc.running <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := svc.Search(ctx, Query{Term: "ledger"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with every core busy: %v, want the deadline", err)
	}
	<-svc.running
	if res, err := svc.Search(context.Background(), Query{Term: "ledger"}); err != nil || res.Total == 0 {
		t.Fatalf("with a core free: %d results, %v", res.Total, err)
	}
	for range cap(svc.running) - 1 {
		<-svc.running
	}
}
