package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/feishu"
	client "greenroom/internal/integration/feishu"
	"greenroom/internal/integration/feishu/feishufake"
	"greenroom/internal/store/storetest"
)

func TestFeishuPages(t *testing.T) {
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	fake := feishufake.New()
	t.Cleanup(fake.Close)
	dumps, err := feishufake.LoadDumps("../integration/feishu/feishufake/testdata/public")
	if err != nil || len(dumps) < 3 {
		t.Fatalf("samples: %v", err)
	}
	fake.AddFolder("", "fld", "Handbook")
	fake.AddDocument("fld", dumps[2])
	c, err := client.New(client.Options{BaseURL: fake.URL, AppID: feishufake.AppID, AppSecret: feishufake.AppSecret,
		InitialBackoff: time.Millisecond}, client.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "pay"), 0o755); err != nil {
		t.Fatal(err)
	}
	svc := feishu.NewService(c, st, nil)
	svc.SetTargetRoot(root)
	f.h.FeishuPages(svc, feishu.DefaultConversion(), root).Routes(f.mux)

	res := f.get(t, "/feishu")
	if res.Code != http.StatusOK || !strings.Contains(res.body, `<label for="feishu-service">Target service</label>`) ||
		!strings.Contains(res.body, "No migrations yet.") {
		t.Fatalf("/feishu: %d\n%s", res.Code, res.body)
	}
	jar, tok := f.csrf(t)
	form := url.Values{"csrf": {tok}, "source": {"folder"}, "folder": {"fld"}, "service": {"component:default/pay"},
		"target": {"../escape"}, "images": {"link"}, "docsPath": {"feishu"}}
	res = f.post(t, "/feishu/migrations", form, jar)
	if res.Code != http.StatusBadRequest || !strings.Contains(res.body, `role="alert"`) || !strings.Contains(res.body, "targetDir") {
		t.Errorf("escaping target: %d", res.Code)
	}
	form.Set("target", "pay")
	res = f.post(t, "/feishu/migrations", form, jar)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", res.Code, res.body)
	}
	loc := res.Header().Get("Location")
	res = f.get(t, loc)
	if res.Code != http.StatusOK || !strings.Contains(res.body, "succeeded") || !strings.Contains(res.body, dumps[2].Document.Title) {
		t.Fatalf("report page: %d\n%s", res.Code, res.body)
	}
	if _, err := os.Stat(filepath.Join(root, "pay", "mkdocs.yml")); err != nil {
		t.Errorf("migration did not write into the target root: %v", err)
	}
	res = f.post(t, loc+"/validate", url.Values{"csrf": {tok}}, jar)
	if res.Code != http.StatusOK || !strings.Contains(res.body, "Validation passed") {
		t.Errorf("validate: %d\n%s", res.Code, res.body)
	}
	res = f.post(t, loc+"/rollback", url.Values{"csrf": {tok}}, jar)
	if res.Code != http.StatusOK || !strings.Contains(res.body, "Rolled back") || !strings.Contains(res.body, "rolled_back") {
		t.Errorf("rollback: %d\n%s", res.Code, res.body)
	}
	res = f.post(t, loc+"/rollback", url.Values{"csrf": {tok}}, jar)
	if res.Code != http.StatusOK || !strings.Contains(res.body, "already rolled back") {
		t.Errorf("second rollback: %d", res.Code)
	}
	if res := f.post(t, loc+"/rollback", url.Values{"csrf": {"forged"}}, jar); res.Code != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", res.Code)
	}
	// A contractor is refused here whatever the policies say (who is an
	// administrator is the permission layer's decision on the route).
	req := httptest.NewRequest(http.MethodGet, "/feishu", nil)
	req = req.WithContext(access.NewContext(req.Context(), &access.Principal{Kind: access.KindUser, UserRef: "user:default/jo", Contractor: true}))
	if res := f.do(t, req); res.Code != http.StatusForbidden {
		t.Errorf("contractor: %d", res.Code)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "pay")); len(entries) != 0 {
		t.Errorf("target not empty after rollback: %v", entries)
	}
}
