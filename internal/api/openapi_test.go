package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func loadSpec(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("OpenAPI document is invalid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadSpec(t, openAPISpec)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	seen := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			if prev, dup := seen[op.OperationID]; dup {
				t.Errorf("operationId %s used by %s and %s %s", op.OperationID, prev, method, path)
			}
			seen[op.OperationID] = method + " " + path
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s %s documents no response", method, path)
			}
		}
	}
}

// route is a ServeMux pattern registered in this package's source.
type route struct {
	method, path string // path with Go's {name...} written {name}
	at           string // file:line
}

var wildcardRest = regexp.MustCompile(`\{([^}.]+)\.\.\.\}`)

// registeredRoutes finds every mux.Handle and mux.HandleFunc call with a
// literal pattern in the package's non-test files, so that a route added
// anywhere in the package is seen without anyone listing it.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	var out []route
	for _, r := range scanRoutes(t, ".") {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok {
			method, path = "", r.pattern
		}
		out = append(out, route{method: method, path: wildcardRest.ReplaceAllString(path, "{$1}"), at: r.at})
	}
	if len(out) < 10 {
		t.Fatalf("found only %d routes; is the scan broken?", len(out))
	}
	return out
}

// TestOpenAPIDocumentsEveryRoute fails when a route under /api/catalog is
// registered but not documented, or documented but not registered.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadSpec(t, openAPISpec)
	registered := map[string]bool{}
	for _, r := range registeredRoutes(t) {
		if !strings.HasPrefix(r.path, catalogPrefix+"/") {
			continue
		}
		if r.method == "" {
			t.Errorf("%s: %s is registered for every method; give it one so that it can be documented", r.at, r.path)
			continue
		}
		rel := strings.TrimPrefix(r.path, catalogPrefix)
		registered[r.method+" "+rel] = true
		item := doc.Paths.Value(rel)
		if item == nil || item.GetOperation(r.method) == nil {
			t.Errorf("%s: %s %s is not documented in openapi.yaml", r.at, r.method, r.path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("openapi.yaml documents %s %s%s, which no route serves", method, catalogPrefix, path)
			}
		}
	}
}

// TestOpenAPIRoutesAreLive checks, on a real mux, that each documented
// operation reaches the route that documents it and not the fallback.
func TestOpenAPIRoutesAreLive(t *testing.T) {
	doc := loadSpec(t, openAPISpec)
	mux := http.NewServeMux()
	logger := slog.New(slog.DiscardHandler)
	New(nil, logger).Routes(mux)
	NewPush(nil, nil, logger).Routes(mux)
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			target := catalogPrefix + param.ReplaceAllString(path, "x")
			_, pattern := mux.Handler(httptest.NewRequest(method, target, nil))
			if want := method + " " + catalogPrefix + path; pattern != want {
				t.Errorf("%s %s is routed to %q, want %q", method, target, pattern, want)
			}
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	mux := http.NewServeMux()
	New(nil, slog.New(slog.DiscardHandler)).Routes(mux)
	get := func(path, wantType string) []byte {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), wantType) {
			t.Fatalf("GET %s: %d %s %.200s", path, rec.Code, rec.Header().Get("Content-Type"), body)
		}
		return body
	}
	src := loadSpec(t, openAPISpec)
	asJSON := get("/api/catalog/openapi.json", "application/json")
	asYAML := get("/api/catalog/openapi.yaml", "application/yaml")
	var raw map[string]any
	if err := json.Unmarshal(asJSON, &raw); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	for name, data := range map[string][]byte{"json": asJSON, "yaml": asYAML} {
		doc := loadSpec(t, data)
		var want, got []string
		for p := range src.Paths.Map() {
			want = append(want, catalogPrefix+p)
		}
		for p := range doc.Paths.Map() {
			got = append(got, p)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("served %s paths:\n%v\nwant:\n%v", name, got, want)
		}
		if op := doc.Paths.Value(catalogPrefix + "/entities/by-refs"); op == nil || op.Post == nil || op.Post.OperationID != "GetEntitiesByRefs" {
			t.Errorf("served %s lost the operations", name)
		}
	}
}
