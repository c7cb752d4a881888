package catalog

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
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
	ents, errs := readTree(fsys, "all.yaml")
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
		{"url target", fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: v1\nkind: Location\nmetadata: {name: x}\nspec: {target: 'https://example.com/x.yaml'}\n")}}, "only relative file targets"},
		{"absolute placeholder", fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: v1\nkind: API\nmetadata: {name: x}\nspec: {definition: {$text: 'https://x'}}\n")}}, "needs a relative file path"},
		{"alias bomb", fstest.MapFS{"all.yaml": {Data: []byte(aliasBomb)}}, "all.yaml:7:8: too many values (the limit is 1000000, aliases included)"},
		{"deep nesting", fstest.MapFS{"all.yaml": {Data: []byte("kind: Component\nspec: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n")}}, "all.yaml:2:"},
		{"too many documents", fstest.MapFS{"all.yaml": {Data: []byte(strings.Repeat("--- {}\n", maxDocuments+1))}}, "more than 10000 documents"},
		{"duplicate key", fstest.MapFS{"all.yaml": {Data: []byte("kind: Component\nmetadata:\n  name: a\n  name: b\n")}}, `all.yaml:4:3: duplicate key: mapping key "name" already defined at [3:3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, errs := readTree(tt.fsys, "all.yaml")
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
	ents, errs := readTree(fsys, "all.yaml")
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
	ents, errs := readTree(fsys, "all.yaml")
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
