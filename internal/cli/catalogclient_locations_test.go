package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCatalogClientLocations runs the real @backstage/catalog-client's
// location calls (e2e/catalog-client/locations.test.mjs) against a live
// serve that reads url locations from a local HTTP server, allowed by
// Backstage's backend.reading.allow.
func TestCatalogClientLocations(t *testing.T) {
	t.Parallel()
	dir, node := catalogClientE2E(t)
	files := httptest.NewServer(http.FileServer(http.Dir("testdata/remote")))
	defer files.Close()
	work := t.TempDir()
	host := strings.TrimPrefix(files.URL, "http://")
	cfg := writeConfig(t, work, fmt.Sprintf("backend:\n  reading:\n    allow:\n      - host: %s\n", host))
	p := serve(t, work, nil, "--config", cfg)
	waitEntities(t, p.base, "?filter=kind=component", 25)
	runNodeTest(t, dir, node, "locations.test.mjs", "GREENROOM_URL="+p.base, "GREENROOM_FILES="+files.URL)
}
