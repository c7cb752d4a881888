package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/store/storetest"
)

// specRouter finds operations of the served document (full paths), to
// check real requests and responses against it.
func specRouter(t *testing.T) routers.Router {
	t.Helper()
	spec, err := servedSpec()
	if err != nil {
		t.Fatal(err)
	}
	doc := loadSpec(t, spec.json)
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkAgainstSpec validates a request and its response with the OpenAPI
// document.
func checkAgainstSpec(t *testing.T, router routers.Router, req *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	req = req.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body)) // the handler consumed the original
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if rec.Code < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("request does not match the document: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Options: opts}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%d response does not match the document: %v\n%s", rec.Code, err, rec.Body)
	}
}

func newPushMux(t *testing.T, access []config.ExternalAccess) *http.ServeMux {
	t.Helper()
	svc, err := catalog.NewService(storetest.SQLite(t), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	logger := slog.New(slog.DiscardHandler)
	New(svc, logger).Routes(mux)
	NewPush(svc, access, logger).Routes(mux)
	return mux
}

const pushBody = `{"entities":[
	{"apiVersion":"backstage.io/v1alpha1","kind":"Resource","metadata":{"name":"bucket-1"},"spec":{"type":"s3-bucket","owner":"team-a"}},
	{"apiVersion":"backstage.io/v1alpha1","kind":"Resource","metadata":{"name":"Bad Name"},"spec":{"type":"s3-bucket","owner":"team-a"}}
]}`

func TestPushAPI(t *testing.T) {
	access := []config.ExternalAccess{
		{Type: "static", Token: "ci-token-123456", Subject: "ci"},
		{Type: "static", Token: "scaffolder-only-1", Subject: "s", AccessRestrictions: []config.AccessRestriction{{Plugin: "scaffolder"}}},
		{Type: "static", Token: "catalog-readonly-1", Subject: "r", AccessRestrictions: []config.AccessRestriction{{Plugin: "catalog", Permissions: []string{"catalog.entity.read"}}}},
		{Type: "static", Token: "catalog-read-action", Subject: "r", AccessRestrictions: []config.AccessRestriction{{Plugin: "catalog", Actions: []string{"read"}}}},
		{Type: "static", Token: "catalog-create-ok", Subject: "c", AccessRestrictions: []config.AccessRestriction{{Plugin: "catalog", Permissions: []string{"catalog.entity.create"}, Actions: []string{"create"}}}},
		{Type: "legacy", Subject: "old"},
	}
	mux := newPushMux(t, access)
	router := specRouter(t)
	tests := []struct {
		name, auth, path, body string
		status                 int
		errName, message       string
	}{
		{"no credentials", "", "/api/catalog/push/terraform", pushBody, 401, "AuthenticationError", "missing credentials"},
		{"basic auth", "Basic Y2k6eA==", "/api/catalog/push/terraform", pushBody, 401, "AuthenticationError", "missing credentials"},
		{"unknown token", "Bearer not-a-token", "/api/catalog/push/terraform", pushBody, 401, "AuthenticationError", "invalid token"},
		{"token for another plugin", "Bearer scaffolder-only-1", "/api/catalog/push/terraform", pushBody, 403, "NotAllowedError", "restricted to plugin(s) 'scaffolder'"},
		{"token without the create permission", "Bearer catalog-readonly-1", "/api/catalog/push/terraform", pushBody, 403, "NotAllowedError", "do not include catalog.entity.create"},
		{"token without the create action", "Bearer catalog-read-action", "/api/catalog/push/terraform", pushBody, 403, "NotAllowedError", "do not include create"},
		{"malformed body", "Bearer ci-token-123456", "/api/catalog/push/terraform", `{"entities": [`, 400, "InputError", "not valid JSON"},
		{"unknown field", "Bearer ci-token-123456", "/api/catalog/push/terraform", `{"entites": []}`, 400, "InputError", `unknown field "entites"`},
		{"no entities", "Bearer ci-token-123456", "/api/catalog/push/terraform", `{}`, 400, "InputError", "must have entities"},
		{"trailing data", "Bearer ci-token-123456", "/api/catalog/push/terraform", `{"entities":[]} {}`, 400, "InputError", "data after"},
		{"bad mode", "Bearer ci-token-123456", "/api/catalog/push/terraform", `{"entities":[],"mode":"append"}`, 400, "InputError", `push mode "append"`},
		{"bad source", "Bearer ci-token-123456", "/api/catalog/push/Terraform", `{"entities":[]}`, 400, "InputError", "must be lowercase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			var be struct {
				Error    struct{ Name, Message string }
				Response struct{ StatusCode int }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &be); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tt.status || be.Error.Name != tt.errName || be.Response.StatusCode != tt.status || !strings.Contains(be.Error.Message, tt.message) {
				t.Errorf("got %d %+v, want %d %s %q", rec.Code, be, tt.status, tt.errName, tt.message)
			}
			if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			checkAgainstSpec(t, router, req, []byte(tt.body), rec)
		})
	}

	for _, token := range []string{"ci-token-123456", "catalog-create-ok"} {
		req := httptest.NewRequest("POST", "/api/catalog/push/terraform", strings.NewReader(pushBody))
		req.Header.Set("Authorization", "bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var res catalog.PushResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != 200 {
			t.Fatalf("push with %s: %d %s", token, rec.Code, rec.Body)
		}
		if len(res.Results) != 2 || res.Results[0].Ref != "resource:default/bucket-1" || res.Results[1].Status != catalog.PushFailed ||
			res.Results[1].Error == nil || res.Results[1].Error.Name != "InputError" {
			t.Errorf("push with %s: %s", token, rec.Body)
		}
		checkAgainstSpec(t, router, req, []byte(pushBody), rec)
	}
	var got ent
	if rec := call(t, mux, "GET", "/api/catalog/entities/by-name/resource/default/bucket-1", "", &got); rec.Code != 200 || got.Spec["type"] != "s3-bucket" {
		t.Errorf("pushed entity not served: %d %+v", rec.Code, got)
	}
}

func TestPushAPIDisabled(t *testing.T) {
	// Only entries Greenroom cannot use: the push API stays disabled.
	mux := newPushMux(t, []config.ExternalAccess{{Type: "jwks"}})
	req := httptest.NewRequest("POST", "/api/catalog/push/ci", strings.NewReader(pushBody))
	req.Header.Set("Authorization", "Bearer whatever-token")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "NotAllowedError") || !strings.Contains(rec.Body.String(), "push API is disabled") {
		t.Errorf("disabled push API: %d %s", rec.Code, rec.Body)
	}
	checkAgainstSpec(t, specRouter(t), req, []byte(pushBody), rec)
}

func TestPushAPIBodyLimit(t *testing.T) {
	mux := newPushMux(t, []config.ExternalAccess{{Type: "static", Token: "ci-token-123456", Subject: "ci"}})
	limited := http.MaxBytesHandler(mux, 256) // as the server's MaxBodyBytes does
	req := httptest.NewRequest("POST", "/api/catalog/push/ci", strings.NewReader(`{"entities":["`+strings.Repeat("x", 1024)+`"]}`))
	req.Header.Set("Authorization", "Bearer ci-token-123456")
	rec := httptest.NewRecorder()
	limited.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "PayloadTooLargeError") {
		t.Errorf("oversized push: %d %s", rec.Code, rec.Body)
	}
}

// The response schemas of the read routes match what they serve.
func TestEntityResponsesMatchSpec(t *testing.T) {
	mux := newTestAPI(t)
	router := specRouter(t)
	for _, target := range []string{
		"/api/catalog/entities?filter=kind=component",
		"/api/catalog/entities/by-query?limit=2&orderField=metadata.name,asc",
		"/api/catalog/entities/by-name/component/default/comp-0",
		"/api/catalog/entity-facets?facet=kind",
		"/api/catalog/entities/by-name/component/default/nope",
	} {
		req := httptest.NewRequest("GET", target, nil)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		checkAgainstSpec(t, router, req, nil, rec)
	}
	body := `{"entityRefs":["component:default/comp-0","component:default/missing"]}`
	req := httptest.NewRequest("POST", "/api/catalog/entities/by-refs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	checkAgainstSpec(t, router, req, []byte(body), rec)
}
