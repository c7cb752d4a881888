package opensearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/config"
	"greenroom/internal/search"
)

var update = flag.Bool("update", false, "rewrite the golden request files")

// golden compares v's JSON with testdata/golden/name.json. The golden
// files are the OpenSearch DSL as its documentation states it
// (multi_match most_fields with field^boost, fuzziness "AUTO:4,8",
// index.max_ngram_diff, stemmer language possessive_english, bool.filter
// for visibility, terms aggregations): ZincSearch ignores or lacks these,
// so their shape is checked here.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); diff != "" {
		t.Errorf("%s (-golden +got):\n%s", name, diff)
	}
}

func TestRequestShapes(t *testing.T) {
	b := builder{dialect: DialectOpenSearch, fragmentSize: 220, fragments: 1}
	vis := search.Visibility{Namespaces: []string{"Default"}, Refs: []string{"component:restricted/vault"},
		ExcludeRefs: []string{"component:default/secret"}, ExcludeKinds: []string{"user"}}
	q, err := search.Query{Term: "ledgr service", Types: []string{"software-catalog"},
		Filters: map[string][]string{"kind": {"Component"}, "tags": {"Java"}}, Facets: []string{"kind", "tags"}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body any
	}{
		{"index-opensearch", indexBody(DialectOpenSearch)},
		{"index-zinc", indexBody(DialectZinc)},
		{"search-opensearch", b.searchBody(q, vis, 50)},
		{"search-nothing-visible", b.searchBody(search.Query{Term: "ledger", Limit: 25}, search.Visibility{}, 50)},
		{"search-cjk", b.searchBody(search.Query{Term: "支付 网关", Limit: 25}, search.Everything, 50)},
		{"closest-opensearch", b.closestBody(search.Query{Term: "lxdgxr"}, search.Everything)},
		{"suggest-opensearch", b.suggestBody("payments ledg", nil, vis, 8)},
		{"search-zinc", builder{dialect: DialectZinc, fragmentSize: 220, fragments: 1}.searchBody(q, vis, 50)},
		{"search-opensearch-auto", builder{dialect: DialectOpenSearch, fuzziness: "AUTO", prefixLength: 1, fragmentSize: 220, fragments: 1}.searchBody(search.Query{Term: "ledger"}, search.Everything, 50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, tt.body) })
	}
}

// TestFilterIsNotScored checks the design rule that visibility lives in
// bool.filter (and must_not) of the one query, never beside it: the hits,
// the total and the aggregations all come from it.
func TestFilterIsNotScored(t *testing.T) {
	b := builder{dialect: DialectOpenSearch}
	body := b.searchBody(search.Query{Term: "x", Facets: []string{"kind"}, Limit: 5}, search.Visibility{Namespaces: []string{"a"}}, 50)
	top := body["query"].(obj)["bool"].(obj)
	if _, ok := top["filter"]; !ok {
		t.Fatalf("no bool.filter in %v", top)
	}
	if _, ok := body["post_filter"]; ok {
		t.Fatal("visibility must not be a post_filter: aggregations would count hidden documents")
	}
}

// recorder is an httptest server that records requests and answers from a
// script: the failures a cluster gives (503, 429), then success.
type recorder struct {
	srv    *httptest.Server
	hits   atomic.Int32
	script []int
	bodies [][]byte
	auth   []string
}

func newRecorder(t *testing.T, script ...int) *recorder {
	r := &recorder{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(r.hits.Add(1)) - 1
		body, _ := io.ReadAll(req.Body)
		r.bodies = append(r.bodies, body)
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		status := 200
		if n < len(r.script) {
			status = r.script[n]
		}
		w.WriteHeader(status)
		if status >= 300 {
			io.WriteString(w, `{"error":{"type":"unavailable","reason":"scripted"}}`)
			return
		}
		io.WriteString(w, `{"errors":false,"items":[]}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func TestClientRetriesAndBreaker(t *testing.T) {
	r := newRecorder(t, 503, 429, 200)
	c, err := NewClient(Options{Nodes: []string{r.srv.URL}, APIKey: config.Secret("a2V5"), InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), "POST", "/_bulk", []byte("{}\n")); err != nil {
		t.Fatalf("after 503 and 429 the third attempt succeeds: %v", err)
	}
	if r.hits.Load() != 3 || r.auth[0] != "ApiKey a2V5" {
		t.Errorf("attempts %d, auth %q", r.hits.Load(), r.auth[0])
	}

	down := newRecorder(t, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
	c, _ = NewClient(Options{Nodes: []string{down.srv.URL}, MaxRetries: 1, BreakerFailures: 4, BreakerTimeout: time.Hour,
		InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Username: "u", Password: "p"})
	for range 2 {
		if _, err := c.Do(context.Background(), "GET", "/", nil); err == nil {
			t.Fatal("a failing cluster's request succeeded")
		}
	}
	before := down.hits.Load()
	_, err = c.Do(context.Background(), "GET", "/", nil)
	if err == nil || !strings.Contains(err.Error(), "keeps failing") {
		t.Errorf("with the circuit open: %v, want a fast failure", err)
	}
	if down.hits.Load() != before {
		t.Errorf("the open circuit let %d requests through", down.hits.Load()-before)
	}

	notFound := newRecorder(t, 404, 404, 404, 404, 404, 404)
	c, _ = NewClient(Options{Nodes: []string{notFound.srv.URL}, BreakerFailures: 2})
	for range 4 {
		_, err := c.Do(context.Background(), "GET", "/x", nil)
		var se *StatusError
		if !asStatus(err, &se) || !se.NotFound() {
			t.Fatalf("404: %v", err)
		}
	}
	if notFound.hits.Load() != 4 {
		t.Errorf("404s are answers, not failures: %d requests for 4 calls", notFound.hits.Load())
	}
}

func asStatus(err error, se **StatusError) bool {
	for err != nil {
		if s, ok := err.(*StatusError); ok {
			*se = s
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestBulkBatches(t *testing.T) {
	r := newRecorder(t)
	c, err := NewClient(Options{Nodes: []string{r.srv.URL}, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(c, "idx")
	docs := []search.Document{{Type: "t", ID: "1"}, {Type: "t", ID: "2"}, {Type: "t", ID: "3"}}
	if err := e.Index(context.Background(), docs); err != nil {
		t.Fatal(err)
	}
	if len(r.bodies) != 2 {
		t.Fatalf("%d bulk requests for 3 documents in batches of 2", len(r.bodies))
	}
	lines := bytes.Split(bytes.TrimSpace(r.bodies[0]), []byte("\n"))
	if len(lines) != 4 || !bytes.Contains(lines[0], []byte(`"_id":"t|1"`)) || !bytes.Contains(lines[0], []byte(`"_index":"idx"`)) {
		t.Errorf("first bulk body:\n%s", r.bodies[0])
	}
}

func TestCloudID(t *testing.T) {
	// name:base64("eu-west-1.aws.found.io$abc$def")
	u, err := cloudURL("gr:ZXUtd2VzdC0xLmF3cy5mb3VuZC5pbyRhYmMkZGVm")
	if err != nil || u != "https://abc.eu-west-1.aws.found.io" {
		t.Errorf("cloudURL = %q, %v", u, err)
	}
	if _, err := cloudURL("gr:!!"); err == nil {
		t.Error("a bad cloud id was accepted")
	}
}

// TestUnavailableIsTransient checks that a cluster that stays down is
// reported as search.ErrTransient (no rebuild), and a missing index is not
// (the Service rebuilds it).
func TestUnavailableIsTransient(t *testing.T) {
	down := newRecorder(t, 503, 503, 503)
	c, _ := NewClient(Options{Nodes: []string{down.srv.URL}, MaxRetries: 2, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	_, err := c.Do(context.Background(), "GET", "/", nil)
	if !errors.Is(err, search.ErrTransient) {
		t.Errorf("503 after the retries: %v, want ErrTransient", err)
	}
	gone := newRecorder(t, 404)
	c, _ = NewClient(Options{Nodes: []string{gone.srv.URL}})
	if _, err := c.Do(context.Background(), "GET", "/", nil); err == nil || errors.Is(err, search.ErrTransient) {
		t.Errorf("404: %v, want a plain error", err)
	}
}
