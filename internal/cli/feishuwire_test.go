package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/internal/feishu"
	"greenroom/internal/integration/feishu/feishufake"
)

// TestServeRunsFeishuMigrationsAsJobs boots the server against a fake
// Feishu, starts a migration through the API and waits for its job.
func TestServeRunsFeishuMigrationsAsJobs(t *testing.T) {
	fake, dumps := feishuFake(t)
	for _, d := range dumps {
		fake.SetMembers(d.Document.DocumentID, []feishu.Member{{MemberType: "openid", MemberID: "ou_a", Perm: "view"}})
	}
	dir := t.TempDir()
	cfg := "feishu:\n  baseUrl: " + fake.URL + "\n  appId: " + feishufake.AppID + "\n  appSecret: " + feishufake.AppSecret + "\n" +
		"  permissionMapping:\n    - owner: group:default/docs\ngreenroom:\n  demo: false\n"
	if err := os.WriteFile(filepath.Join(dir, "app-config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, ".greenroom", "feishu", "svc")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	p := serve(t, dir, nil, "--config", "app-config.yaml")
	if code := get(http.DefaultClient, p.base+"/feishu"); code != http.StatusOK {
		t.Fatalf("/feishu: %d", code)
	}
	body := `{"folderToken":"fld","targetService":"component:default/svc","targetDir":"svc","preserveHierarchy":true}`
	resp, err := http.Post(p.base+"/api/feishu/migrations", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	deadline := time.Now().Add(30 * time.Second)
	var m feishu.Migration
	for time.Now().Before(deadline) {
		if getJSON(t, p.base+loc, &m) == http.StatusOK && m.Status != feishu.StatusQueued && m.Status != feishu.StatusRunning {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m.Status != feishu.StatusSucceeded || m.Report.SuccessCount != len(dumps) {
		t.Fatalf("migration: %s %+v", m.Status, m.Report)
	}
	for _, d := range m.Report.Documents {
		if d.Owner != "group:default/docs" {
			t.Errorf("%s: owner %q", d.ID, d.Owner)
		}
		if _, err := os.Stat(filepath.Join(target, d.Path)); err != nil {
			t.Errorf("page not written: %v", err)
		}
	}
	// Info lines reach the log within the sink's delay (logsink.go).
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.stderr.String(), "feishu migration finished"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("no log line for the finished migration")
			break
		}
	}
	if strings.Contains(p.stderr.String(), feishufake.AppSecret) {
		t.Error("the app secret was logged")
	}
}
