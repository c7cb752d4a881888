package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"greenroom/internal/search"
)

type docs []search.Document

func (d docs) Name() string { return "test" }
func (d docs) Collect(_ context.Context, emit func(search.Document) error) error {
	for _, x := range d {
		if err := emit(x); err != nil {
			return err
		}
	}
	return nil
}

func searchServer(t testing.TB) (*httptest.Server, *search.Service) {
	t.Helper()
	var corpus docs
	for i, name := range []string{"payments-api", "payment-gateway", "ledger-service", "invoice-service", "card-vault"} {
		corpus = append(corpus, search.Document{Type: search.TypeCatalog, ID: "component:default/" + name, Name: name, Title: name,
			Description: "The " + name + " handles money", Location: "/catalog/default/component/" + name,
			Kind: "component", SpecType: "service", Lifecycle: []string{"production", "experimental"}[i%2], Owner: "group:default/team-a",
			Ref: "component:default/" + name, Namespace: "default", Category: search.CategoryCatalog,
			Fields: map[string]string{"kind": "Component", "componentType": "service"}})
	}
	for i := range 40 {
		corpus = append(corpus, search.Document{Type: search.TypeTechDocs, ID: "page" + strings.Repeat("x", i), Title: "Money handbook", Text: "How money <b>moves</b> between services",
			Location: "/docs/default/component/ledger-service/p", Ref: "component:default/ledger-service", Namespace: "default", Category: search.CategoryDocs})
	}
	svc, err := search.NewService(search.Options{Dir: t.TempDir()}, corpus)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); svc.Close() })
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	NewSearchAPI(svc, func() {}, slog.New(slog.DiscardHandler)).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, svc
}

func getJSON(t testing.TB, u string, want int, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var b map[string]any
		json.NewDecoder(resp.Body).Decode(&b)
		t.Fatalf("GET %s: %d, want %d: %v", u, resp.StatusCode, want, b)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
}

type apiResponse struct {
	Results []struct {
		Type      string         `json:"type"`
		Document  map[string]any `json:"document"`
		Highlight *struct {
			PreTag, PostTag string
			Fields          map[string]string
		} `json:"highlight"`
		Rank int `json:"rank"`
	} `json:"results"`
	NextPageCursor     string                         `json:"nextPageCursor"`
	PreviousPageCursor string                         `json:"previousPageCursor"`
	NumberOfResults    int                            `json:"numberOfResults"`
	Facets             map[string][]search.FacetValue `json:"facets"`
	DidYouMean         []string                       `json:"didYouMean"`
}

func TestSearchQueryBackstageShape(t *testing.T) {
	srv, _ := searchServer(t)
	var r apiResponse
	getJSON(t, srv.URL+"/api/search/query?term=payments-api&types[]=software-catalog&filters[lifecycle]=production&facets=kind", 200, &r)
	if len(r.Results) == 0 || r.Results[0].Document["title"] != "payments-api" || r.Results[0].Type != "software-catalog" || r.Results[0].Rank != 1 {
		t.Fatalf("results %+v", r.Results)
	}
	d := r.Results[0].Document
	if d["location"] != "/catalog/default/component/payments-api" || d["kind"] != "Component" || d["lifecycle"] != "production" {
		t.Errorf("document %v", d)
	}
	for _, res := range r.Results {
		if res.Document["lifecycle"] != "production" {
			t.Errorf("filter ignored: %v", res.Document)
		}
	}
	if r.Results[0].Highlight == nil || r.Results[0].Highlight.PreTag != HighlightPreTag || !strings.Contains(r.Results[0].Highlight.Fields["title"], "<mark>") {
		t.Errorf("highlight %+v", r.Results[0].Highlight)
	}
	if r.NumberOfResults != len(r.Results) || r.Facets["kind"][0].Value != "component" {
		t.Errorf("numberOfResults %d, facets %v", r.NumberOfResults, r.Facets)
	}
}

func TestSearchPaging(t *testing.T) {
	srv, _ := searchServer(t)
	var p1, p2 apiResponse
	getJSON(t, srv.URL+"/api/search/query?term=money&types=techdocs&pageLimit=25", 200, &p1)
	if p1.NumberOfResults != 40 || len(p1.Results) != 25 || p1.NextPageCursor == "" || p1.PreviousPageCursor != "" {
		t.Fatalf("page 1: %d results of %d, next %q prev %q", len(p1.Results), p1.NumberOfResults, p1.NextPageCursor, p1.PreviousPageCursor)
	}
	getJSON(t, srv.URL+"/api/search/query?term=money&types=techdocs&pageLimit=25&pageCursor="+url.QueryEscape(p1.NextPageCursor), 200, &p2)
	if len(p2.Results) != 15 || p2.NextPageCursor != "" || p2.PreviousPageCursor == "" || p2.Results[0].Rank != 26 {
		t.Fatalf("page 2: %d results, next %q prev %q", len(p2.Results), p2.NextPageCursor, p2.PreviousPageCursor)
	}
	// Document text is returned as indexed (JSON-escaped, never HTML).
	if !strings.Contains(p2.Results[0].Document["text"].(string), "<b>moves</b>") {
		t.Errorf("text %q", p2.Results[0].Document["text"])
	}
}

func TestSearchBadInput(t *testing.T) {
	srv, _ := searchServer(t)
	ok := []string{"", `"`, `*`, `~`, `:`, `payments:api`, `(((`, `]]`, `AND OR NOT`, `pay*`, `"unbalanced`, `+-!^\/`, `{ }`, `title:x`, `a~2`,
		strings.Repeat("ab ", 300), "支付", "\t\n"}
	for _, term := range ok {
		var r apiResponse
		getJSON(t, srv.URL+"/api/search/query?term="+url.QueryEscape(term), 200, &r)
		getJSON(t, srv.URL+"/api/search/suggest?term="+url.QueryEscape(term), 200, nil)
	}
	bad := []string{
		"term=" + strings.Repeat("x", 1001),
		"term=" + url.QueryEscape("\x00\x01\x02\x03\x04"),
		"term=" + url.QueryEscape("\xff\xfe"),
		"term=a&pageCursor=!!!",
		"term=a&pageCursor=" + url.QueryEscape(encodePageCursor(-1)),
		"term=a&pageLimit=0x",
		"term=a&pageLimit=1000",
		"term=a&filters[color]=red",
		"term=a&facets=color",
		"term=a&filters[=x",
	}
	for _, q := range bad {
		var body struct {
			Error    struct{ Name, Message string }
			Response struct{ StatusCode int }
		}
		getJSON(t, srv.URL+"/api/search/query?"+q, 400, &body)
		if body.Error.Name != "InputError" || body.Error.Message == "" || body.Response.StatusCode != 400 {
			t.Errorf("%s: %+v", q, body)
		}
	}
}

func TestSearchMaxPageLimit(t *testing.T) {
	var corpus docs
	svc, err := search.NewService(search.Options{Dir: t.TempDir()}, corpus)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); svc.Close() }()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a := NewSearchAPI(svc, func() {}, slog.New(slog.DiscardHandler))
	a.SetMaxPageLimit(10)
	mux := http.NewServeMux()
	a.Routes(mux)
	for limit, want := range map[string]int{"10": 200, "11": 400} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/search/query?term=x&pageLimit="+limit, nil))
		if rec.Code != want {
			t.Errorf("pageLimit %s: %d, want %d", limit, rec.Code, want)
		}
	}
}

func TestSearchSuggestAndClick(t *testing.T) {
	srv, svc := searchServer(t)
	var s struct{ Suggestions []search.Suggestion }
	getJSON(t, srv.URL+"/api/search/suggest?term=ledg", 200, &s)
	if len(s.Suggestions) == 0 || s.Suggestions[0].Title != "ledger-service" {
		t.Fatalf("suggestions %+v", s.Suggestions)
	}
	resp, err := http.Post(srv.URL+"/api/search/click", "application/json", strings.NewReader(`{"term":"ledg","rank":1}`))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("click: %v %v", err, resp.Status)
	}
	resp, _ = http.Post(srv.URL+"/api/search/click", "application/json", strings.NewReader(`{"term":"ledg","rank":-1}`))
	if resp.StatusCode != 400 {
		t.Errorf("bad click: %v", resp.Status)
	}
	if st := svc.Status(); st.Documents != 45 {
		t.Errorf("status %+v", st)
	}
}

func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"term=pay", "term=%22&types[]=x", "term=a&filters[kind]=api&pageCursor=MQ==", "term=(((", "term=AND+OR+NOT", "term=%E6%94%AF", "pageLimit=-1"} {
		f.Add(s)
	}
	srv, _ := searchServer(f)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, path := range []string{"/api/search/query", "/api/search/suggest"} {
			resp, err := http.Get(srv.URL + path + "?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 && resp.StatusCode != 400 {
				t.Fatalf("%s?%s: %d", path, v.Encode(), resp.StatusCode)
			}
		}
	})
}
