package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

func TestReadTree(t *testing.T) {
	fsys := fstest.MapFS{
		"all.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec:
  targets: [./a.yaml, ./sub/all.yaml, ./broken.yaml, ./missing.yaml, ./all.yaml]
`)},
		"a.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: a}
spec: {type: service, owner: team, lifecycle: production}
---
---
- not an object
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: a-api}
spec:
  type: openapi
  definition:
    $text: ./apis/a.yaml
`)},
		"apis/a.yaml": {Data: []byte("openapi: 3.0.0\n")},
		"sub/all.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: sub}
spec: {target: ../a.yaml}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: sub2}
spec: {target: ./b.yaml}
`)},
		"sub/b.yaml":  {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n")},
		"broken.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: [\n")},
	}
	ents, errs := readTree(t.Context(), fsys, "all.yaml", nil)
	var names []string
	for _, e := range ents {
		names = append(names, e.Data["metadata"].(map[string]any)["name"].(string))
	}
	if got, want := strings.Join(names, ","), "root,a,a-api,sub,sub2,team"; got != want {
		t.Errorf("entities = %s, want %s (each file read once, cycles ignored)", got, want)
	}
	api := ents[2].Data["spec"].(map[string]any)
	if api["definition"] != "openapi: 3.0.0\n" {
		t.Errorf("$text not resolved: %v", api["definition"])
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"a.yaml:7: document 2 is not an object", "broken.yaml:2:", "missing.yaml"} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors lack %q:\n%s", want, joined)
		}
	}
	if len(errs) != 3 {
		t.Errorf("%d errors, want 3:\n%s", len(errs), joined)
	}
}

func TestReadTreeBounds(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"file too large", fstest.MapFS{"all.yaml": {Data: []byte(strings.Repeat("#", maxFileBytes+1))}}, "larger than"},
		{"url target without a URL reader", fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: v1\nkind: Location\nmetadata: {name: x}\nspec: {target: 'https://example.com/x.yaml'}\n")}},
			`all.yaml:1: location target "https://example.com/x.yaml": reading URLs is not configured on this server`},
		{"url placeholder without a URL reader", fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: v1\nkind: API\nmetadata: {name: x}\nspec: {definition: {$text: 'https://x'}}\n")}},
			"all.yaml:1: document 1: definition: $text https://x: reading URLs is not configured on this server"},
		{"empty placeholder", fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: v1\nkind: API\nmetadata: {name: x}\nspec: {definition: {$text: ''}}\n")}}, "needs a relative path or an http(s) URL"},
		{"other scheme", fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: v1\nkind: Location\nmetadata: {name: x}\nspec: {target: 'ftp://example.com/x.yaml'}\n")}},
			`all.yaml:1: location target "ftp://example.com/x.yaml": only relative paths and http(s) URLs can be read`},
		{"alias bomb", fstest.MapFS{"all.yaml": {Data: []byte(aliasBomb)}}, "all.yaml:7:8: too many values (the limit is 1000000, aliases included)"},
		{"deep nesting", fstest.MapFS{"all.yaml": {Data: []byte("kind: Component\nspec: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n")}}, "all.yaml:2:"},
		{"too many documents", fstest.MapFS{"all.yaml": {Data: []byte(strings.Repeat("--- {}\n", maxDocuments+1))}}, "more than 10000 documents"},
		{"invalid UTF-8", fstest.MapFS{"all.yaml": {Data: []byte("kind: Component\nmetadata:\n  name: é-\xff\n")}}, "all.yaml:3:11: the file is not valid UTF-8: byte 0xFF"},
		{"duplicate key", fstest.MapFS{"all.yaml": {Data: []byte("kind: Component\nmetadata:\n  name: a\n  name: b\n")}}, `all.yaml:4:3: duplicate key: mapping key "name" already defined at [3:3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, errs := readTree(t.Context(), tt.fsys, "all.yaml", nil)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("readTree took %v", d)
			}
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("errors = %v, want %q", errs, tt.want)
			}
		})
	}
}

const aliasBomb = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// TestReadTreeDocuments checks that every document of a stream is read:
// empty documents and explicit nulls are skipped, never ending the stream.
func TestReadTreeDocuments(t *testing.T) {
	fsys := fstest.MapFS{"all.yaml": {Data: []byte("metadata: {name: one}\n---\n---\n- x\n---\n--- null\n---\nmetadata: {name: two}\n...\nmetadata: {name: three}\n")}}
	ents, errs := readTree(t.Context(), fsys, "all.yaml", nil)
	var names []string
	for _, e := range ents {
		names = append(names, e.Data["metadata"].(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"one", "two", "three"}, names); diff != "" {
		t.Errorf("entities (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || errs[0].Error() != "all.yaml:4: document 2 is not an object" {
		t.Errorf("errors = %v, want document 2 only", errs)
	}
}

func TestReadTreePlaceholders(t *testing.T) {
	fsys := fstest.MapFS{
		"all.yaml": {Data: []byte(`kind: API
metadata: {name: api}
spec:
  yaml: {$yaml: ./defs/api.yaml}
  json: {$json: ./defs/api.json}
  text: {$text: ./defs/api.yaml}
---
kind: API
metadata: {name: broken}
spec: {definition: {$yaml: ./defs/broken.yaml}}
---
kind: API
metadata: {name: two}
spec: {definition: {$yaml: ./defs/two.yaml}}
`)},
		"defs/api.yaml":    {Data: []byte("openapi: 3.0.0\npaths: {/x: {get: {}}}\nversion: 2\n")},
		"defs/api.json":    {Data: []byte(`{"openapi": "3.0.0"}`)},
		"defs/broken.yaml": {Data: []byte("a: 1\na: 2\n")},
		"defs/two.yaml":    {Data: []byte("a: 1\n---\nb: 2\n")},
	}
	ents, errs := readTree(t.Context(), fsys, "all.yaml", nil)
	if len(ents) != 1 {
		t.Fatalf("%d entities, want 1: %v", len(ents), ents)
	}
	want := map[string]any{
		"yaml": map[string]any{"openapi": "3.0.0", "paths": map[string]any{"/x": map[string]any{"get": map[string]any{}}}, "version": int64(2)},
		"json": map[string]any{"openapi": "3.0.0"},
		"text": "openapi: 3.0.0\npaths: {/x: {get: {}}}\nversion: 2\n",
	}
	if diff := cmp.Diff(want, ents[0].Data["spec"]); diff != "" {
		t.Errorf("resolved spec (-want +got):\n%s", diff)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	wantErrs := []string{
		`all.yaml:8: document 2: definition: $yaml: defs/broken.yaml:2:1: duplicate key: mapping key "a" already defined at [1:1]`,
		"all.yaml:12: document 3: definition: $yaml: defs/two.yaml:3:1: expected one YAML document; document 2 is extra",
	}
	if diff := cmp.Diff(wantErrs, msgs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// testURLReader is the tests' URLReader: a GET with the reader's size
// limit, 404 as not_found and any other failure as unavailable.
type testURLReader struct{ client *http.Client }

// NewTestURLReader returns the tests' URLReader for other test packages.
func NewTestURLReader(c *http.Client) URLReader { return testURLReader{c} }

func (r testURLReader) ReadURL(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "%s: %w", rawURL, err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: rawURL + ": unreachable", Err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, greenroom.Errorf(greenroom.CodeNotFound, "not found")
	case resp.StatusCode != http.StatusOK:
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFileBytes+1))
	if err != nil {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: rawURL + ": read failed", Err: err}
	}
	return data, nil
}

// treeServer serves files (path → content, "{{base}}" replaced by the
// server's URL) and counts the requests per path; a path missing from
// files is a 404, one whose content is "500" fails.
type treeServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newTreeServer(t *testing.T, files map[string]string) *treeServer {
	t.Helper()
	ts := &treeServer{hits: map[string]int{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.hits[r.URL.Path]++
		ts.mu.Unlock()
		body, ok := files[r.URL.Path]
		switch {
		case !ok:
			http.NotFound(w, r)
		case body == "500":
			http.Error(w, "down", http.StatusInternalServerError)
		default:
			io.WriteString(w, strings.ReplaceAll(body, "{{base}}", ts.URL))
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *treeServer) hitsOf(p string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.hits[p]
}

func entityNames(ents []rawEntity) []string {
	var out []string
	for _, e := range ents {
		meta, _ := e.Data["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		out = append(out, name)
	}
	return out
}

func errorTexts(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

const urlComponent = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: %s}\nspec: {type: service, owner: team, lifecycle: production}\n"

func TestReadTreeURLs(t *testing.T) {
	comp := func(name string) string { return strings.ReplaceAll(urlComponent, "%s", name) }
	ts := newTreeServer(t, map[string]string{
		"/repo/all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec:
  targets:
    - ./a.yaml
    - sub/b.yaml
    - ../other/c.yaml
    - '{{base}}/abs/d.yaml'
    - ./all.yaml
    - ./missing.yaml
    - ./big.yaml
    - ./a.yaml#fragment
`,
		"/repo/a.yaml":     "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: a}\nspec: {type: openapi, lifecycle: production, owner: team, definition: {$text: ./docs/a.md}}\n",
		"/repo/docs/a.md":  "# a\n",
		"/repo/sub/b.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: b}\nspec: {targets: [../a.yaml, ./e.yaml, /top.yaml]}\n",
		"/repo/sub/e.yaml": comp("e"),
		"/top.yaml":        comp("top"),
		"/other/c.yaml":    comp("c"),
		"/abs/d.yaml":      comp("d"),
		"/repo/big.yaml":   strings.Repeat("#", maxFileBytes+1),
		"/flaky/all.yaml":  "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: flaky}\nspec: {targets: [./ok.yaml, ./down.yaml]}\n",
		"/flaky/ok.yaml":   comp("ok"),
		"/flaky/down.yaml": "500",
		"/deep/0.yaml":     deepChain(0),
	})
	urls := testURLReader{ts.Client()}
	tests := []struct {
		name      string
		fsys      fstest.MapFS
		root      string
		urls      URLReader
		wantNames []string
		wantErrs  []string // substrings, in order
		wantFiles map[string]string
	}{
		{
			name: "relative and absolute targets, a cycle, a 404 and an oversized file",
			root: ts.URL + "/repo/all.yaml",
			urls: urls,
			// each file read once: a.yaml is named three times, all.yaml by itself
			wantNames: []string{"root", "a", "b", "e", "top", "c", "d"},
			wantErrs: []string{
				ts.URL + "/repo/missing.yaml: not found",
				ts.URL + "/repo/big.yaml: file is larger than 10485760 bytes",
			},
			wantFiles: map[string]string{"e": ts.URL + "/repo/sub/e.yaml", "top": ts.URL + "/top.yaml", "c": ts.URL + "/other/c.yaml", "d": ts.URL + "/abs/d.yaml"},
		},
		{
			name:     "root not found",
			root:     ts.URL + "/nope.yaml",
			urls:     urls,
			wantErrs: []string{ts.URL + "/nope.yaml: not found"},
		},
		{
			name: "an unavailable file keeps the whole source back",
			root: ts.URL + "/flaky/all.yaml",
			urls: urls,
			// no entities at all: the caller keeps what the source had
			wantErrs: []string{ts.URL + "/flaky/down.yaml: status 500"},
		},
		{
			name:      "absolute URL target in a file tree",
			fsys:      fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: local}\nspec: {targets: ['" + ts.URL + "/other/c.yaml', ./x.yaml]}\n")}, "x.yaml": {Data: []byte(comp("x"))}},
			root:      "all.yaml",
			urls:      urls,
			wantNames: []string{"local", "c", "x"},
			wantFiles: map[string]string{"c": ts.URL + "/other/c.yaml", "x": "x.yaml"},
		},
		{
			name:      "URL root without a URL reader",
			root:      ts.URL + "/repo/all.yaml",
			wantErrs:  []string{ts.URL + "/repo/all.yaml: reading URLs is not configured on this server"},
			wantNames: nil,
		},
		{
			name:      "depth limit over URLs",
			root:      ts.URL + "/deep/0.yaml",
			urls:      deepReader{urls, ts.URL},
			wantNames: deepNames(),
			wantErrs:  []string{ts.URL + "/deep/17.yaml: locations nested deeper than 16"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fsys fs.FS
			if tt.fsys != nil {
				fsys = tt.fsys
			}
			ents, errs := readTree(t.Context(), fsys, tt.root, tt.urls)
			if diff := cmp.Diff(tt.wantNames, entityNames(ents)); diff != "" {
				t.Errorf("entities (-want +got):\n%s", diff)
			}
			got := errorTexts(errs)
			if len(got) != len(tt.wantErrs) {
				t.Fatalf("errors = %q, want %d like %q", got, len(tt.wantErrs), tt.wantErrs)
			}
			for i, want := range tt.wantErrs {
				if !strings.Contains(got[i], want) {
					t.Errorf("error %d = %q, want %q", i, got[i], want)
				}
			}
			for _, e := range ents {
				name := entityNames([]rawEntity{e})[0]
				if want, ok := tt.wantFiles[name]; ok && e.File != want {
					t.Errorf("%s read from %q, want %q", name, e.File, want)
				}
			}
		})
	}
	if n := ts.hitsOf("/repo/a.yaml"); n != 1 {
		t.Errorf("a.yaml fetched %d times, want once", n)
	}
	if n := ts.hitsOf("/repo/all.yaml"); n != 1 { // the no-reader case makes no request
		t.Errorf("all.yaml fetched %d times, want once", n)
	}
	t.Run("placeholder relative to the URL", func(t *testing.T) {
		ents, _ := readTree(t.Context(), nil, ts.URL+"/repo/a.yaml", urls)
		if len(ents) != 1 || ents[0].Data["spec"].(map[string]any)["definition"] != "# a\n" {
			t.Errorf("$text not read relative to the URL: %v", ents)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ents, errs := readTree(ctx, nil, ts.URL+"/repo/all.yaml", urls)
		if len(ents) != 0 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Errorf("entities %v, errors %v; want none and context.Canceled", ents, errs)
		}
	})
}

// deepChain is a Location file of a chain that goes deeper than
// maxLocationDepth: /deep/N.yaml names /deep/N+1.yaml.
func deepChain(n int) string {
	return fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: deep-%d}\nspec: {target: ./%d.yaml}\n", n, n+1)
}

func deepNames() []string {
	var out []string
	for i := 0; i <= maxLocationDepth; i++ {
		out = append(out, fmt.Sprintf("deep-%d", i))
	}
	return out
}

// deepReader serves /deep/N.yaml for any N without listing them all.
type deepReader struct {
	URLReader
	base string
}

func (d deepReader) ReadURL(ctx context.Context, rawURL string) ([]byte, error) {
	var n int
	if _, err := fmt.Sscanf(strings.TrimPrefix(rawURL, d.base), "/deep/%d.yaml", &n); err == nil {
		return []byte(deepChain(n)), nil
	}
	return d.URLReader.ReadURL(ctx, rawURL)
}

func TestResolveTarget(t *testing.T) {
	tests := []struct {
		base, target, want, err string
	}{
		{"dir/all.yaml", "./a.yaml", "dir/a.yaml", ""},
		{"dir/all.yaml", "../x/a.yaml", "x/a.yaml", ""},
		{"dir/all.yaml", "/srv/a.yaml", "srv/a.yaml", ""},
		{"dir/all.yaml", "https://h.example/a.yaml#top", "https://h.example/a.yaml", ""},
		{"https://h.example/r/all.yaml", "./sub/a.yaml", "https://h.example/r/sub/a.yaml", ""},
		{"https://h.example/r/all.yaml", "../a.yaml?ref=main", "https://h.example/a.yaml?ref=main", ""},
		{"https://h.example/r/all.yaml", "/top.yaml", "https://h.example/top.yaml", ""},
		{"https://h.example/r/all.yaml", "//other.example/a.yaml", "https://other.example/a.yaml", ""},
		{"https://h.example/r/all.yaml", "mailto:x@example.com", "", "only relative paths and http(s) URLs"},
		{"dir/all.yaml", "file:///etc/passwd", "", "only relative paths and http(s) URLs"},
		{"dir/all.yaml", "https://h example/a", "", "not a valid URL or path"},
	}
	for _, tt := range tests {
		got, err := resolveTarget(tt.base, tt.target)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("resolveTarget(%q, %q) = %q, %v; want error %q", tt.base, tt.target, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveTarget(%q, %q) = %q, %v; want %q", tt.base, tt.target, got, err, tt.want)
		}
	}
}
