package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCatalogClientLocations runs the real @backstage/catalog-client's
// location calls (e2e/catalog-client/locations.test.mjs) against a live
// serve that reads url locations from a local HTTP server, allowed by
// Backstage's backend.reading.allow.
func TestCatalogClientLocations(t *testing.T) {
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
	files := httptest.NewServer(http.FileServer(http.Dir("testdata/remote")))
	defer files.Close()
	work := t.TempDir()
	host := strings.TrimPrefix(files.URL, "http://")
	cfg := writeConfig(t, work, fmt.Sprintf("backend:\n  reading:\n    allow:\n      - host: %s\n", host))
	p := serve(t, work, nil, "--config", cfg)
	waitEntities(t, p.base, "?filter=kind=component", 25)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "locations.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GREENROOM_URL="+p.base, "GREENROOM_FILES="+files.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("catalog-client locations e2e failed: %v\n%s", err, out)
	}
	t.Logf("catalog-client locations e2e:\n%s", out)
}
