package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/net/html"

	"greenroom/examples"
	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// The guards that the catalog service is everything the pages can use.
var (
	_ Catalog    = (*catalog.Service)(nil)
	_ Registrar  = (*catalog.Service)(nil)
	_ Health     = (*catalog.Service)(nil)
	_ ChangeFeed = (*catalog.Service)(nil)
)

// hostileTags is how many tags the hostile entity carries.
const hostileTags = 300

// hostileYAML is a source whose entities try to break the pages: script in
// text, javascript: links, hundreds of tags, very long titles, and an
// entity (flaky) whose latest version is invalid.
func hostileYAML(flakyValid bool) string {
	var tags []string
	for i := range hostileTags {
		tags = append(tags, fmt.Sprintf("tag-%03d", i))
	}
	flakySpec := "spec: {type: service, owner: team-payments, lifecycle: production}"
	if !flakyValid {
		flakySpec = "spec: {type: service, lifecycle: production}"
	}
	return `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile
  title: "` + strings.Repeat("Very long title ", 20) + `end"
  description: "<script>alert('pwned')</script> and <b>bold</b> & more"
  tags: [` + strings.Join(tags, ", ") + `]
  annotations:
    backstage.io/source-location: "url:javascript:alert(1)"
    example.com/dashboard: "javascript:alert(2)"
    example.com/wiki: "https://wiki.example.com/hostile"
  links:
    - url: "javascript:alert(3)"
      title: Evil link
    - url: "https://example.com/runbook"
      title: Runbook
    - url: "mailto:oncall@example.com"
      title: Mail on-call
spec:
  type: service
  lifecycle: experimental
  owner: team-payments
  system: payments-processing
  dependsOn: [component:payment-gateway, resource:does-not-exist]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: flaky
  description: Its latest version lost its owner.
` + flakySpec + `
`
}

// fixture is a portal over a real catalog: the demo company plus the
// hostile source, on a real store, with registration over an HTTP server
// of catalog files.
type fixture struct {
	svc   *catalog.Service
	h     *Handler
	mux   *http.ServeMux
	files string // base URL of the catalog file server
}

func newFixture(t testing.TB, st *store.Store) *fixture {
	t.Helper()
	hostile := fstest.MapFS{"hostile.yaml": {Data: []byte(hostileYAML(true))}}
	svc, err := catalog.NewService(st, []catalog.Source{
		{Name: "demo", FS: examples.FS, Root: examples.Root},
		{Name: "hostile", FS: hostile, Root: "hostile.yaml"},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServerFS(fstest.MapFS{
		"repo/catalog-info.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: remote-svc, description: Registered from a URL}\nspec: {type: service, owner: team-payments, lifecycle: experimental}\n")},
		"bad/catalog-info.yaml":  {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: bad-svc}\nspec: {type: service, lifecycle: production}\n")},
	}))
	t.Cleanup(srv.Close)
	svc.SetLocationStore(st)
	svc.SetURLReader(getReader{srv.Client()})
	h, err := New("Acme Portal", svc, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := h.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	hostile["hostile.yaml"] = &fstest.MapFile{Data: []byte(hostileYAML(false))}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Change events arrive asynchronously: wait for the last one, flaky's
	// update, so that the home page's list is complete.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _ := h.changes.recent(1)
		if len(c) == 1 && c[0].Ref == "component:default/flaky" && c[0].Type == catalog.EventUpdated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flaky's update never arrived; latest changes %v", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	return &fixture{svc: svc, h: h, mux: mux, files: srv.URL}
}

// getReader reads catalog files over HTTP for registered locations: a
// GET, 404 as not_found.
type getReader struct{ c *http.Client }

func (g getReader) ReadURL(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "%w", err)
	}
	resp, err := g.c.Do(req)
	if err != nil {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "unreachable", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, greenroom.Errorf(greenroom.CodeNotFound, "not found")
	}
	if resp.StatusCode != http.StatusOK {
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "status %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// response is a rendered page.
type response struct {
	*httptest.ResponseRecorder
	body string
	doc  *html.Node
}

func (f *fixture) do(t testing.TB, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	res := response{ResponseRecorder: rec, body: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		doc, err := html.Parse(strings.NewReader(res.body))
		if err != nil {
			t.Fatalf("%s: unparsable HTML: %v", req.URL, err)
		}
		res.doc = doc
	}
	return res
}

func (f *fixture) get(t testing.TB, path string, cookies ...*http.Cookie) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(t, req)
}

// post sends a form as the browser would from the portal's own page.
func (f *fixture) post(t testing.TB, path string, form url.Values, cookies ...*http.Cookie) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(t, req)
}

// csrf returns a CSRF cookie and the matching token, as a page load gives
// them.
func (f *fixture) csrf(t testing.TB) (*http.Cookie, string) {
	t.Helper()
	res := f.get(t, "/catalog-import")
	for _, c := range res.Result().Cookies() {
		if c.Name == csrfCookie {
			return c, c.Value
		}
	}
	t.Fatal("no CSRF cookie set")
	return nil, ""
}

// cookie returns the cookie named name a response set.
func cookie(t testing.TB, res response, name string) *http.Cookie {
	t.Helper()
	for _, c := range res.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("response sets no %s cookie", name)
	return nil
}
