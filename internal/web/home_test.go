package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"greenroom/internal/catalog"
)

type fakeCatalog []string

func (f fakeCatalog) Entities(context.Context, catalog.Query) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, s := range f {
		out = append(out, json.RawMessage(s))
	}
	return out, nil
}

func TestHomeRendersEveryKind(t *testing.T) {
	cat := fakeCatalog{
		`{"kind":"Component","metadata":{"name":"billing","namespace":"default","description":"Bills <people>"},"spec":{"type":"service","owner":"team-a"}}`,
		`{"kind":"User","metadata":{"name":"jdoe","namespace":"default"},"spec":{}}`,
		`{"kind":"Domain","metadata":{"name":"payments","namespace":"default","title":"Payments"},"spec":{"owner":"team-a"}}`,
	}
	h, err := New("Acme Portal", cat, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, _ := io.ReadAll(rec.Body)
	page := string(body)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{"<title>Acme Portal</title>", "3 entities", "Bills &lt;people&gt;", "Payments", "jdoe",
		`href="/api/catalog/entities/by-name/Component/default/billing"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if d, c := strings.Index(page, `id="kind-Domain"`), strings.Index(page, `id="kind-Component"`); d < 0 || c < 0 || d > c {
		t.Error("Domain must be listed before Component")
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != 404 {
		t.Errorf("unknown page: status %d", rec.Code)
	}
}
