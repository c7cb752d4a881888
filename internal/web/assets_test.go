package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html/atom"

	"greenroom/internal/store/storetest"
)

func TestAssetsAndCaching(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	page := f.get(t, "/catalog")
	var urls []string
	for _, l := range byTag(page.doc, atom.Link) {
		h, _ := attr(l, "href")
		urls = append(urls, h)
	}
	for _, s := range byTag(page.doc, atom.Script) {
		src, _ := attr(s, "src")
		urls = append(urls, src)
	}
	hashed := regexp.MustCompile(`^/static/(app|icon|search)\.([0-9a-f]{10})\.(css|js|svg)$`)
	if len(urls) != 4 {
		t.Fatalf("asset URLs %v", urls)
	}
	for _, u := range urls {
		m := hashed.FindStringSubmatch(u)
		if m == nil {
			t.Errorf("asset URL %s is not content-hashed", u)
			continue
		}
		res := f.get(t, u)
		if res.Code != 200 {
			t.Errorf("%s: %d", u, res.Code)
			continue
		}
		if cc := res.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
		src, err := os.ReadFile("static/" + m[1] + "." + m[3])
		if err != nil {
			t.Fatal(err)
		}
		// The served body is named by its own hash; app.css also carries
		// the stylesheets sections add (graph, API viewers) after the file.
		sum := sha256.Sum256([]byte(res.body))
		if hex.EncodeToString(sum[:5]) != m[2] || !strings.HasPrefix(res.body, string(src)) {
			t.Errorf("%s does not serve static/%s.%s by its hash", u, m[1], m[3])
		}
		want := map[string]string{"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"}[m[3]]
		if ct := res.Header().Get("Content-Type"); ct != want {
			t.Errorf("%s: Content-Type %q, want %q", u, ct, want)
		}
	}
	for _, bad := range []string{"/static/app.css", "/static/app.0000000000.css", "/static/..%2froutes.go"} {
		if res := f.get(t, bad); res.Code != 404 {
			t.Errorf("%s: %d", bad, res.Code)
		}
	}

	// Pages revalidate with their ETag.
	cookie := cookie(t, page, csrfCookie)
	first := f.get(t, "/catalog", cookie)
	req := httptest.NewRequest(http.MethodGet, "/catalog", nil)
	req.AddCookie(cookie)
	req.Header.Set("If-None-Match", first.Header().Get("ETag"))
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("revalidation: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	req.Header.Set("If-None-Match", `W/"stale"`)
	rec = httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("stale ETag: %d", rec.Code)
	}
}

// TestJavaScriptIsSmall keeps the script an enhancement: a few hundred
// lines, no inline handlers, nothing fetched from elsewhere.
func TestJavaScriptIsSmall(t *testing.T) {
	js, err := os.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(js), "\n"); n > 300 {
		t.Errorf("app.js has %d lines", n)
	}
	for _, bad := range []string{"eval(", "innerHTML", "http://", "https://", "document.write"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	css, _ := io.ReadAll(strings.NewReader(mustRead(t, "static/app.css")))
	if strings.Contains(string(css), "@import") || strings.Contains(string(css), "url(http") {
		t.Error("app.css loads from elsewhere")
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestColdLoadBudget keeps a first visit of each main page, HTML and every
// asset it loads, under 150 KB before compression.
func TestColdLoadBudget(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	assets := 0
	for _, name := range []string{"app.css", "app.js", "icon.svg"} {
		assets += len(f.get(t, f.h.assets.URL(name)).body)
	}
	const budget = 150 << 10
	for _, p := range []string{"/", "/catalog", "/catalog?filters%5Bkind%5D=&limit=100", "/catalog/default/component/payment-gateway",
		"/catalog/default/component/hostile", "/catalog/default/group/engineering", "/catalog/default/user/tomas.novak", "/api-docs", "/catalog-import"} {
		res := f.get(t, p)
		if total := len(res.body) + assets; total > budget {
			t.Errorf("%s: a cold load is %d bytes, over the %d budget", p, total, budget)
		}
	}
}

func TestAddStylesheet(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	before := f.h.assets.URL("app.css")
	f.h.AddStylesheet(".gr-graph { margin: 0; }")
	after := f.h.assets.URL("app.css")
	if after == before {
		t.Fatal("the stylesheet URL did not change with its content")
	}
	if res := f.get(t, "/"); !strings.Contains(res.body, `href="`+after+`"`) {
		t.Error("pages do not link the new stylesheet")
	}
	res := f.get(t, after)
	if res.Code != 200 || !strings.HasPrefix(res.body, mustRead(t, "static/app.css")) || !strings.HasSuffix(res.body, "\n.gr-graph { margin: 0; }") {
		t.Errorf("the new stylesheet: %d", res.Code)
	}
	if res := f.get(t, before); res.Code != 404 {
		t.Errorf("the old stylesheet URL: %d", res.Code)
	}
}
