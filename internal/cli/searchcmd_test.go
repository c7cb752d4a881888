package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSearchCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target, err := filepath.Abs("testdata/catalog/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf("catalog:\n  rules:\n    - allow: [Component, API, Resource, System, Domain, Group, User, Location]\n  locations:\n    - type: file\n      target: %s\n", target))
	p := serve(t, dir, nil, "--config", cfg)
	waitEntities(t, p.base, "", 6)
	empty := "testdata/catalog/empty.yaml"
	search := func(a ...string) (int, string, string) {
		return runMain(t, append([]string{"-c", empty, "search"}, a...)...)
	}
	// The index follows the catalog within moments of start.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, stdout, stderr := search("checkut", "--server", p.base)
		if code == 0 && strings.Contains(stdout, "/catalog/default/component/checkout") {
			if !strings.Contains(stdout, "RANK  TYPE") {
				t.Errorf("table:\n%s", stdout)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkout not found: exit %d\n%s\n%s", code, stdout, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, stdout, stderr := search("ledger", "--server", p.base, "--filter", "kind=api", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"numberOfResults":1`) || !strings.Contains(stdout, "ledger-api") {
		t.Errorf("json: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = search("reindex", "--server", p.base)
	if code != 0 || !strings.HasPrefix(stdout, "indexed ") {
		t.Errorf("reindex: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, bad := range [][]string{{"x", "--limit", "0"}, {"x", "--filter", "kind"}, {"x", "-o", "yaml"}} {
		if code, _, stderr := search(append(bad, "--server", p.base)...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", bad, code, stderr)
		}
	}
	if code, _, stderr := search("x", "--server", p.base, "--filter", "color=red"); code != 1 || !strings.Contains(stderr, "not supported") {
		t.Errorf("unknown filter: exit %d, %s", code, stderr)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	code, stdout, stderr = search("ledgr", "--data-dir", filepath.Join(dir, ".greenroom"))
	if code != 0 || !strings.Contains(stdout, "ledger") {
		t.Errorf("local data dir: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
