package cli

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// portalFiles is what the register journey imports, served from loopback.
var portalFiles = fstest.MapFS{
	"repo/catalog-info.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: e2e-registered
  title: E2E Registered
  description: Registered through the portal by the end-to-end test.
spec:
  type: service
  lifecycle: experimental
  owner: team-invoicing
`)},
}

// TestPortalE2E walks the portal's journeys in real headless Chromium
// (e2e/portal/portal.test.mjs, playwright-core driving Debian's chromium)
// against a live greenroom serve: filters, text search, the graph by
// keyboard, team and user pages, registration with a dry run, a live
// update through the push API, axe-core on every page type in both
// themes, layout with a hostile entity, and the README's screenshots
// (written to docs/screenshots with GREENROOM_UPDATE_SCREENSHOTS=1, else
// to a temporary directory and checked; pngquant, when installed, shrinks
// the committed ones). Without chromium or the npm
// packages it skips loudly, and fails under CI=true.
func TestPortalE2E(t *testing.T) {
	t.Parallel()
	dir, node := nodeE2E(t, "portal", "playwright-core", "axe-core")
	browser := os.Getenv("CHROMIUM")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(browser); err != nil {
		msg := "chromium missing at " + browser + " (apt-get install chromium, or set CHROMIUM)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED LOUDLY: " + msg)
	}
	files := httptest.NewServer(http.FileServerFS(portalFiles))
	defer files.Close()
	work := t.TempDir()
	const token = "portal-e2e-push-token"
	cfg := writeConfig(t, work, fmt.Sprintf(`backend:
  reading:
    allow:
      - host: %s
  auth:
    externalAccess:
      - type: static
        options: {token: %s, subject: portal-e2e}
`, strings.TrimPrefix(files.URL, "http://"), token))
	p := serve(t, work, nil, "--config", cfg)
	waitEntities(t, p.base, "?filter=kind=component", 25)
	waitStitched(t, p.base)

	shots := filepath.Join(work, "screenshots")
	if os.Getenv("GREENROOM_UPDATE_SCREENSHOTS") == "1" {
		var err error
		if shots, err = filepath.Abs("../../docs/screenshots"); err != nil {
			t.Fatal(err)
		}
	}
	runNodeTestFor(t, 8*time.Minute, dir, node, "portal.test.mjs", "GREENROOM_URL="+p.base, "GREENROOM_FILES="+files.URL,
		"GREENROOM_PUSH_TOKEN="+token, "GREENROOM_SCREENSHOTS="+shots, "CHROMIUM="+browser)

	if q, err := exec.LookPath("pngquant"); err == nil && os.Getenv("GREENROOM_UPDATE_SCREENSHOTS") == "1" {
		// Keep the committed PNGs small: 256 colours are plenty for the UI.
		files, _ := filepath.Glob(filepath.Join(shots, "*.png"))
		args := append([]string{"--force", "--skip-if-larger", "--strip", "--ext", ".png", "--quality", "70-95"}, files...)
		if out, err := exec.Command(q, args...).CombinedOutput(); err != nil {
			t.Logf("pngquant: %v\n%s", err, out)
		}
	}
	for _, name := range []string{"home", "catalog", "entity", "graph"} {
		for _, theme := range []string{"light", "dark"} {
			f := filepath.Join(shots, name+"-"+theme+".png")
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			img, err := png.DecodeConfig(bytes.NewReader(b))
			if err != nil || img.Width != 1280 || img.Height != 800 {
				t.Errorf("%s: %dx%d, %v; want a 1280x800 PNG", f, img.Width, img.Height, err)
			}
		}
	}
}
