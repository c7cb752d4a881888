package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

func TestFeishuAPI(t *testing.T) {
	fake := feishufake.New()
	t.Cleanup(fake.Close)
	dumps, err := feishufake.LoadDumps("../integration/feishu/feishufake/testdata/public")
	if err != nil || len(dumps) < 3 {
		t.Fatalf("samples: %v", err)
	}
	fake.AddFolder("", "fld", "Handbook")
	fake.AddDocument("fld", dumps[2])
	c, _ := client.New(client.Options{BaseURL: fake.URL, AppID: feishufake.AppID, AppSecret: feishufake.AppSecret,
		InitialBackoff: time.Millisecond}, client.Deps{})
	root := t.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "pay"), 0o755)
	svc := feishu.NewService(c, storetest.SQLite(t), nil)
	svc.SetTargetRoot(root)
	mux := http.NewServeMux()
	NewFeishu(svc, slog.New(slog.DiscardHandler)).Routes(mux)
	do := func(method, path, body string, p *access.Principal) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if p != nil {
			req = req.WithContext(access.NewContext(req.Context(), p))
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	errName := func(m map[string]any) string {
		e, _ := m["error"].(map[string]any)
		s, _ := e["name"].(string)
		return s
	}

	if code, body := do("POST", "/api/feishu/migrations", `{"folderToken": 3}`, nil); code != 400 || errName(body) != "InputError" {
		t.Errorf("bad JSON: %d %v", code, body)
	}
	if code, body := do("POST", "/api/feishu/migrations", `{"folderToken":"fld","targetService":"component:default/pay","targetDir":"/etc"}`, nil); code != 400 {
		t.Errorf("absolute targetDir: %d %v", code, body)
	}
	admin := &access.Principal{Kind: access.KindUser, UserRef: "user:default/ada", Roles: []string{access.RolePlatformAdmin}}
	code, body := do("POST", "/api/feishu/migrations", `{"folderToken":"fld","targetService":"component:default/pay","targetDir":"pay","conversion":{"handleImages":"link"}}`, admin)
	if code != 202 || body["status"] != feishu.StatusSucceeded {
		t.Fatalf("start: %d %v", code, body)
	}
	id := body["id"].(string)
	req := body["request"].(map[string]any)
	if req["requestedBy"] != "user:default/ada" || req["preserveHierarchy"] != true {
		t.Errorf("request = %v", req)
	}
	if conv := req["conversion"].(map[string]any); conv["convertTables"] != true || conv["preserveFormatting"] != true {
		t.Errorf("a partial conversion lost the defaults: %v", conv)
	}
	if code, body := do("GET", "/api/feishu/migrations", "", admin); code != 200 || len(body["items"].([]any)) != 1 {
		t.Errorf("list: %d %v", code, body)
	}
	if code, body := do("GET", "/api/feishu/migrations/"+id, "", admin); code != 200 || body["report"].(map[string]any)["successCount"] != 1.0 {
		t.Errorf("get: %d %v", code, body)
	}
	if code, body := do("POST", "/api/feishu/migrations/"+id+"/validate", "", admin); code != 200 || body["ok"] != true {
		t.Errorf("validate: %d %v", code, body)
	}
	if code, body := do("POST", "/api/feishu/migrations/"+id+"/rollback", "", admin); code != 200 || body["status"] != feishu.StatusRolledBack {
		t.Errorf("rollback: %d %v", code, body)
	}
	if code, body := do("POST", "/api/feishu/migrations/"+id+"/rollback", "", admin); code != 409 || errName(body) != "ConflictError" {
		t.Errorf("second rollback: %d %v", code, body)
	}
	if code, body := do("GET", "/api/feishu/migrations/fm-nope", "", admin); code != 404 || errName(body) != "NotFoundError" {
		t.Errorf("unknown: %d %v", code, body)
	}
	contractor := &access.Principal{Kind: access.KindUser, UserRef: "user:default/c", Roles: []string{access.RolePlatformAdmin}, Contractor: true}
	if code, _ := do("GET", "/api/feishu/migrations", "", contractor); code != 403 {
		t.Errorf("contractor: %d", code)
	}
	if code, _ := do("GET", "/api/feishu/migrations?limit=0", "", nil); code != 400 {
		t.Errorf("limit=0: %d", code)
	}
}
