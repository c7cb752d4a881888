package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCatalogClient runs the real @backstage/catalog-client (npm) against a
// live greenroom serve with the demo company: e2e/catalog-client holds the
// calls and their assertions. .ci/run installs the npm package.
func TestCatalogClient(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("../../e2e/catalog-client")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@backstage", "catalog-client"))
	if err != nil || modErr != nil {
		msg := "node or e2e/catalog-client/node_modules missing (run npm ci --prefix e2e/catalog-client)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED LOUDLY: " + msg)
	}
	p := serve(t, t.TempDir(), nil)
	waitEntities(t, p.base, "?filter=kind=component", 25)
	waitStitched(t, p.base)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "client.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GREENROOM_URL="+p.base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("catalog-client e2e failed: %v\n%s", err, out)
	}
	t.Logf("catalog-client e2e:\n%s", out)
}

// waitStitched waits until the demo's entities carry their relations.
func waitStitched(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ents []struct {
			Metadata  struct{ UID string }
			Relations []any
		}
		getJSON(t, base+"/api/catalog/entities?filter=kind=group", &ents)
		if len(ents) > 0 && ents[0].Metadata.UID != "" && ents[0].Relations != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("demo entities not stitched within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
