package catalog

import (
	"errors"
	"testing"
	"testing/fstest"
)

// FuzzReadTree reads an arbitrary all.yaml beside a few well-formed files
// it may name as Location targets or placeholders. readTree must not
// panic, and every problem must be a *LocationError naming a file.
// Seeds: testdata/fuzz/FuzzReadTree.
func FuzzReadTree(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"all.yaml":         {Data: data},
			"a.yaml":           {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\nspec: {type: service, owner: team}\n")},
			"loc.yaml":         {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: loc}\nspec: {targets: [./a.yaml, ./all.yaml, ./missing.yaml]}\n")},
			"docs/readme.md":   {Data: []byte("# readme\n")},
			"docs/openapi.yml": {Data: []byte("openapi: 3.0.0\ninfo: {title: x}\n")},
			"docs/schema.json": {Data: []byte(`{"type": "object"}`)},
		}
		ents, errs := readTree(t.Context(), fsys, "all.yaml", nil)
		for _, err := range errs {
			var le *LocationError
			if !errors.As(err, &le) || le.File == "" {
				t.Fatalf("error %#v (%v) is not a *LocationError with a file", err, err)
			}
			if le.Error() == "" {
				t.Fatal("empty error message")
			}
		}
		for _, e := range ents {
			if e.Data == nil || e.File == "" {
				t.Fatal("entity without data or file")
			}
		}
	})
}
