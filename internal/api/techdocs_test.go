package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
	"greenroom/internal/techdocs"
)

type docsCatalog map[string]json.RawMessage

func (c docsCatalog) EntityByName(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if e, ok := c[strings.ToLower(ref.String())]; ok {
		return e, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "no entity %s", ref)
}

func TestTechDocsRoutes(t *testing.T) {
	repo := t.TempDir()
	for p, c := range map[string]string{"mkdocs.yml": "site_name: Pay docs\n", "docs/index.md": "# Pay\n\nHello <script>x()</script>\n", "docs/img/a.png": "png"} {
		os.MkdirAll(filepath.Dir(filepath.Join(repo, p)), 0o755)
		os.WriteFile(filepath.Join(repo, p), []byte(c), 0o644)
	}
	ent := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"pay","namespace":"default","etag":"e1",
	"annotations":{"backstage.io/techdocs-ref":"dir:.","backstage.io/managed-by-location":"file:` + filepath.Join(repo, "catalog-info.yaml") + `"}},"spec":{"owner":"payments"}}`
	cat := docsCatalog{"component:default/pay": json.RawMessage(ent)}
	svc := techdocs.NewService(techdocs.ServiceOptions{Publisher: &techdocs.LocalPublisher{Dir: t.TempDir()}, Status: storetest.SQLite(t)})
	mux := http.NewServeMux()
	NewTechDocs(cat, svc, slog.New(slog.DiscardHandler)).Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(p string) (int, http.Header, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	if code, _, body := get("/api/techdocs/static/docs/default/component/pay/index.html"); code != 404 || !strings.Contains(body, `"NotFoundError"`) {
		t.Errorf("before a build: %d %s", code, body)
	}
	code, h, body := get("/api/techdocs/sync/default/Component/pay")
	if code != 200 || h.Get("Content-Type") != "text/event-stream" || !strings.Contains(body, "event: log\ndata: ") ||
		!strings.HasSuffix(body, "event: finish\ndata: {\"updated\":true}\n\n") {
		t.Fatalf("sync: %d %v\n%s", code, h, body)
	}
	if _, _, body := get("/api/techdocs/sync/default/component/pay"); !strings.HasSuffix(body, "event: finish\ndata: {\"updated\":false}\n\n") {
		t.Errorf("second sync:\n%s", body)
	}
	code, h, body = get("/api/techdocs/static/docs/default/component/pay/")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "Hello") || strings.Contains(body, "<script>") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("static index: %d %v\n%s", code, h, body)
	}
	if code, h, _ := get("/api/techdocs/static/docs/default/component/pay/img/a.png"); code != 200 || h.Get("Content-Type") != "image/png" {
		t.Errorf("static image: %d %v", code, h)
	}
	if code, _, _ := get("/api/techdocs/static/docs/default/component/pay/..%2f..%2fsecret"); code != 404 {
		t.Errorf("traversal: %d", code)
	}
	code, _, body = get("/api/techdocs/metadata/techdocs/default/component/pay")
	var meta techdocs.Metadata
	if json.Unmarshal([]byte(body), &meta); code != 200 || meta.SiteName != "Pay docs" || meta.BuildTimestamp == 0 || len(meta.Files) == 0 {
		t.Errorf("techdocs metadata: %d %s", code, body)
	}
	code, _, body = get("/api/techdocs/metadata/entity/default/component/pay")
	var em struct {
		Kind             string          `json:"kind"`
		LocationMetadata techdocs.Source `json:"locationMetadata"`
	}
	if json.Unmarshal([]byte(body), &em); code != 200 || em.Kind != "Component" || em.LocationMetadata != (techdocs.Source{Type: "dir", Target: repo}) {
		t.Errorf("entity metadata: %d %s", code, body)
	}
	for _, p := range []string{"/api/techdocs/metadata/techdocs/default/component/nope", "/api/techdocs/sync/default/component/nope", "/api/techdocs/static/docs/default/component/nope/index.html"} {
		if code, _, body := get(p); code != 404 || !strings.Contains(body, "NotFoundError") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
}
