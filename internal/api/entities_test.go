package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

type fakeCatalog struct {
	gotQuery   catalog.Query
	refreshRef string
	refreshErr error
}

func (f *fakeCatalog) Entities(_ context.Context, q catalog.Query) ([]json.RawMessage, error) {
	f.gotQuery = q
	return []json.RawMessage{json.RawMessage(`{"kind":"Component"}`)}, nil
}

func (f *fakeCatalog) EntityByName(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if ref.Name != "known" {
		return nil, greenroom.Errorf(greenroom.CodeNotFound, "entity %s not found", ref)
	}
	return json.RawMessage(`{"kind":"` + ref.Kind + `"}`), nil
}

func (f *fakeCatalog) RequestRefresh(_ context.Context, ref string) error {
	f.refreshRef = ref
	return f.refreshErr
}

func serve(t *testing.T, f *fakeCatalog, method, target, body string) (*httptest.ResponseRecorder, errorBody) {
	t.Helper()
	mux := http.NewServeMux()
	New(f, slog.New(slog.DiscardHandler)).Routes(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	var eb errorBody
	if rec.Code >= 400 {
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
			t.Fatalf("error body is not JSON: %q", rec.Body)
		}
	}
	return rec, eb
}

func TestListEntitiesQuery(t *testing.T) {
	tests := []struct {
		target string
		want   catalog.Query
		status int
	}{
		{"/api/catalog/entities", catalog.Query{}, 200},
		{"/api/catalog/entities?filter=kind=component&limit=5&offset=10", catalog.Query{Kind: "component", Limit: 5, Offset: 10}, 200},
		{"/api/catalog/entities?filter=Kind%3DAPI", catalog.Query{Kind: "API"}, 200},
		{"/api/catalog/entities?filter=spec.type=service", catalog.Query{}, 400},
		{"/api/catalog/entities?limit=abc", catalog.Query{}, 400},
		{"/api/catalog/entities?limit=10001", catalog.Query{}, 400},
		{"/api/catalog/entities?offset=-3", catalog.Query{}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			f := &fakeCatalog{}
			rec, eb := serve(t, f, "GET", tt.target, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				if diff := cmp.Diff(tt.want, f.gotQuery); diff != "" {
					t.Errorf("query (-want +got):\n%s", diff)
				}
				if got := strings.TrimSpace(rec.Body.String()); got != `[{"kind":"Component"}]` {
					t.Errorf("body %s", got)
				}
				return
			}
			if eb.Error.Name != "InputError" || eb.Response.StatusCode != 400 || eb.Request.Method != "GET" || eb.Request.URL != tt.target {
				t.Errorf("error body %+v", eb)
			}
		})
	}
}

func TestEntityByNameAndRefresh(t *testing.T) {
	f := &fakeCatalog{}
	rec, _ := serve(t, f, "GET", "/api/catalog/entities/by-name/component/default/known", "")
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"kind":"component"}` {
		t.Errorf("by-name: %d %s", rec.Code, rec.Body)
	}
	rec, eb := serve(t, f, "GET", "/api/catalog/entities/by-name/component/default/unknown", "")
	if rec.Code != 404 || eb.Error.Name != "NotFoundError" || !strings.Contains(eb.Error.Message, "unknown") {
		t.Errorf("missing: %d %+v", rec.Code, eb)
	}
	rec, _ = serve(t, f, "POST", "/api/catalog/refresh", `{"entityRef":"component:default/known"}`)
	if rec.Code != 200 || f.refreshRef != "component:default/known" {
		t.Errorf("refresh: %d ref %q", rec.Code, f.refreshRef)
	}
	f.refreshErr = greenroom.Errorf(greenroom.CodeUnavailable, "queue down")
	rec, eb = serve(t, f, "POST", "/api/catalog/refresh", "")
	if rec.Code != 503 || eb.Error.Name != "ServiceUnavailableError" {
		t.Errorf("refresh unavailable: %d %+v", rec.Code, eb)
	}
	f.refreshErr = io.ErrUnexpectedEOF // an uncoded error is internal and never shown
	rec, eb = serve(t, f, "POST", "/api/catalog/refresh", "")
	if rec.Code != 500 || strings.Contains(eb.Error.Message, "unexpected EOF") {
		t.Errorf("internal: %d %+v", rec.Code, eb)
	}
	rec, eb = serve(t, f, "DELETE", "/api/nowhere", "")
	if rec.Code != 404 || eb.Error.Name != "NotFoundError" {
		t.Errorf("unknown route: %d %+v", rec.Code, eb)
	}
}
