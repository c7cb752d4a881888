package entity

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"greenroom/examples"
)

// yamlEntities parses every document of a YAML stream into an entity,
// through goccy/go-yaml's YAMLToJSON so that the entity is read from JSON as
// in production. Empty documents are skipped.
func yamlEntities(tb testing.TB, name string, data []byte) []*Entity {
	tb.Helper()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	var out []*Entity
	for i, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc.Body.String()))
		if err != nil {
			tb.Fatalf("%s: document %d: %v", name, i+1, err)
		}
		e, err := Parse(js)
		if err != nil {
			tb.Fatalf("%s: document %d: %v", name, i+1, err)
		}
		out = append(out, e)
	}
	return out
}

// demoEntity is one entity of the bundled demo, with the file it is in.
type demoEntity struct {
	file   string
	entity *Entity
}

// loadDemo reads the Acme Ledger demo the way the catalog does: from the
// root Location through every Location's targets, relative to the file
// naming them, with $text placeholders replaced by the file they name.
func loadDemo(tb testing.TB) []demoEntity {
	tb.Helper()
	var out []demoEntity
	seen := map[string]bool{}
	var read func(name string)
	read = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		data, err := fs.ReadFile(examples.FS, name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range yamlEntities(tb, name, data) {
			resolveText(tb, examples.FS, path.Dir(name), e.Raw())
			out = append(out, demoEntity{name, e})
			if e.Kind() != "Location" {
				continue
			}
			var targets []string
			if t, ok := e.Spec()["target"].(string); ok {
				targets = append(targets, t)
			}
			for _, t := range e.Spec()["targets"].([]any) {
				targets = append(targets, t.(string))
			}
			for _, t := range targets {
				read(path.Join(path.Dir(name), t))
			}
		}
	}
	read(examples.Root)
	if len(out) == 0 {
		tb.Fatal("the demo has no entities")
	}
	return out
}

// resolveText replaces {"$text": "./file"} objects, as Backstage's
// placeholder processor does before validation.
func resolveText(tb testing.TB, fsys fs.FS, dir string, v any) {
	tb.Helper()
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if m, ok := c.(map[string]any); ok && len(m) == 1 {
				if p, ok := m["$text"].(string); ok {
					data, err := fs.ReadFile(fsys, path.Join(dir, strings.TrimPrefix(p, "./")))
					if err != nil {
						tb.Fatal(err)
					}
					t[k] = string(data)
					continue
				}
			}
			resolveText(tb, fsys, dir, c)
		}
	case []any:
		for _, c := range t {
			resolveText(tb, fsys, dir, c)
		}
	}
}

func demoEntities(tb testing.TB) []*Entity {
	tb.Helper()
	var out []*Entity
	for _, d := range loadDemo(tb) {
		out = append(out, d.entity)
	}
	return out
}
