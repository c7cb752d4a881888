package authn_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// fakeCatalog serves entities from testdata/catalog.json, evaluating the
// few filters sign-in sends (all-of key/value matches on flattened keys).
type fakeCatalog struct {
	mu    sync.Mutex
	byRef map[string]json.RawMessage
	flat  map[string]map[string][]string
}

func loadCatalog(t testing.TB) *fakeCatalog {
	t.Helper()
	b, err := os.ReadFile("testdata/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	c := &fakeCatalog{byRef: map[string]json.RawMessage{}, flat: map[string]map[string][]string{}}
	for _, raw := range list {
		var e struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		ns := e.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		ref := greenroom.EntityRef{Kind: e.Kind, Namespace: ns, Name: e.Metadata.Name}.String()
		c.byRef[ref] = raw
		var v any
		_ = json.Unmarshal(raw, &v)
		f := map[string][]string{}
		flatten("", v, f)
		c.flat[ref] = f
	}
	return c
}

func flatten(prefix string, v any, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, c, out)
		}
	case []any:
		for _, c := range x {
			flatten(prefix, c, out)
		}
	case string:
		out[strings.ToLower(prefix)] = append(out[strings.ToLower(prefix)], strings.ToLower(x))
	}
}

// set replaces an entity, as a catalog refresh would.
func (c *fakeCatalog) set(ref string, raw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byRef[ref] = json.RawMessage(raw)
}

func (c *fakeCatalog) EntityByName(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if raw, ok := c.byRef[ref.String()]; ok {
		return raw, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "no entity %s", ref)
}

func (c *fakeCatalog) match(ref string, f query.Filter) bool {
	switch f.Op {
	case query.OpAll:
		for _, s := range f.Sub {
			if !c.match(ref, s) {
				return false
			}
		}
		return true
	case query.OpMatch:
		vals := c.flat[ref][strings.ToLower(f.Key)]
		for _, want := range f.Values {
			if slices.Contains(vals, strings.ToLower(want)) {
				return true
			}
		}
		return false
	}
	panic("fakeCatalog: unexpected filter op")
}

func (c *fakeCatalog) QueryEntities(_ context.Context, q query.EntitiesQuery, _ query.Fields) (query.EntitiesPage[json.RawMessage], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var page query.EntitiesPage[json.RawMessage]
	refs := make([]string, 0, len(c.byRef))
	for r := range c.byRef {
		refs = append(refs, r)
	}
	slices.Sort(refs)
	for _, r := range refs {
		if q.Filter == nil || c.match(r, *q.Filter) {
			page.Items = append(page.Items, c.byRef[r])
		}
	}
	if q.Limit > 0 && len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
	}
	return page, nil
}

// auditLog records audit events.
type auditLog struct {
	mu  sync.Mutex
	evs []access.AuditEvent
}

func (a *auditLog) Audit(_ context.Context, ev access.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, ev)
	return nil
}

// find returns the events of action with decision.
func (a *auditLog) find(action, decision string) []access.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []access.AuditEvent
	for _, e := range a.evs {
		if e.Action == action && e.Decision == decision {
			out = append(out, e)
		}
	}
	return out
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a portal with sign-in in front of a page and an API route
// that report the principal.
type harness struct {
	t     testing.TB
	svc   *authn.Service
	srv   *httptest.Server
	store *store.Store
	audit *auditLog
	clock *clock
	cat   *fakeCatalog
}

// newHarness starts the server; configure fills the options (providers),
// whose BaseURL is the server's own.
func newHarness(t testing.TB, st *store.Store, configure func(o *authn.Options)) *harness {
	t.Helper()
	h := &harness{t: t, audit: &auditLog{}, clock: &clock{t: time.Now()}, store: st}
	if h.store == nil {
		h.store = storetest.SQLite(t)
	}
	mux := http.NewServeMux()
	var handler http.Handler = mux
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)
	h.cat = loadCatalog(t)
	o := authn.Options{BaseURL: h.srv.URL, Store: h.store, Catalog: h.cat, Auditor: h.audit, Now: h.clock.Now,
		Logger: storetest.Logger(t)}
	if configure != nil {
		configure(&o)
	}
	svc, err := authn.New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	svc.Routes(mux)
	whoami := func(w http.ResponseWriter, r *http.Request) {
		p := access.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if p == nil {
			io.WriteString(w, `{"anonymous":true}`)
			return
		}
		_ = json.NewEncoder(w).Encode(p)
	}
	mux.HandleFunc("GET /api/whoami", whoami)
	mux.HandleFunc("POST /api/things", whoami)
	mux.HandleFunc("POST /things", whoami)
	mux.HandleFunc("GET /catalog", whoami)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /api/events/http/github", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hook") })
	mux.HandleFunc("GET "+authn.SignInPath, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "signin page: "+authn.SignInFailure(r.URL.Query().Get("error")))
	})
	handler = svc.Middleware(mux)
	return h
}

// browser returns a client with a cookie jar that follows redirects.
func (h *harness) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// noRedirect returns a client with jar that stops at the first redirect.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (h *harness) get(c *http.Client, path string) (*http.Response, string) {
	h.t.Helper()
	return h.do(c, http.MethodGet, path, nil, nil)
}

func (h *harness) do(c *http.Client, method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = h.srv.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// cookie returns the jar's cookie name for the server, "" when none.
func (h *harness) cookie(c *http.Client, name string) string {
	u, _ := url.Parse(h.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// principal decodes GET /api/whoami.
func (h *harness) principal(c *http.Client) (*access.Principal, int) {
	h.t.Helper()
	resp, body := h.get(c, "/api/whoami")
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var p access.Principal
	if strings.Contains(body, `"anonymous"`) {
		return nil, resp.StatusCode
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		h.t.Fatalf("whoami: %v: %s", err, body)
	}
	return &p, resp.StatusCode
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
