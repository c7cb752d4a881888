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
	dir, node := catalogClientE2E(t)
	p := serve(t, t.TempDir(), nil)
	waitEntities(t, p.base, "?filter=kind=component", 25)
	waitStitched(t, p.base)
	runNodeTest(t, dir, node, "client.test.mjs", "GREENROOM_URL="+p.base)
}

// catalogClientE2E returns e2e/catalog-client and node, skipping loudly
// (failing under CI=true) when node or the npm packages are missing.
func catalogClientE2E(t *testing.T) (dir, node string) {
	t.Helper()
	return nodeE2E(t, "catalog-client", "@backstage/catalog-client")
}

// nodeE2E returns e2e/<name> and node, skipping loudly (failing under
// CI=true) when node or one of the npm packages is missing.
func nodeE2E(t *testing.T, name string, packages ...string) (dir, node string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("../../e2e", name))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	var missing error
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p)); err != nil {
			missing = err
		}
	}
	if err != nil || missing != nil {
		msg := "node or e2e/" + name + "/node_modules missing (run npm ci --prefix e2e/" + name + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED LOUDLY: " + msg)
	}
	return dir, node
}

// runNodeTest runs one node:test file in dir with env added, failing the
// test with its output when any journey fails.
func runNodeTest(t *testing.T, dir, node, file string, env ...string) {
	t.Helper()
	runNodeTestFor(t, 2*time.Minute, dir, node, file, env...)
}

// runNodeTestFor is runNodeTest with a time limit of its own.
func runNodeTestFor(t *testing.T, limit time.Duration, dir, node, file string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", file)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", file, err, out)
	}
	t.Logf("%s:\n%s", file, out)
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
