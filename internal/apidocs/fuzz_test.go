package apidocs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzTypes = []string{"openapi", "asyncapi", "graphql"}

// FuzzRender feeds arbitrary definitions to every viewer: none may panic
// or fail, and whatever the input, the fragment keeps the rules
// checkFragment states (no element or attribute from the input, ordered
// headings, links to ids that exist).
func FuzzRender(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	invalid, _ := filepath.Glob("testdata/invalid/*")
	for _, file := range append(files, invalid...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		typ := uint8(0)
		switch {
		case strings.Contains(file, "asyncapi"):
			typ = 1
		case strings.HasSuffix(file, ".graphql"):
			typ = 2
		}
		f.Add(typ, string(b))
	}
	f.Add(uint8(0), `{"openapi":"3.0.0","paths":{"/a":{"get":{"responses":{"200":{"$ref":"#/paths/~1a/get/responses/200"}}}}}}`)
	f.Add(uint8(0), "openapi: 3.1.0\ncomponents:\n  schemas:\n    A: {items: {$ref: '#/components/schemas/A'}, allOf: [{$ref: '#/components/schemas/A'}]}\n")
	f.Fuzz(func(t *testing.T, typ uint8, def string) {
		h, err := Render(fuzzTypes[int(typ)%len(fuzzTypes)], def, Options{})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if strings.Contains(strings.ToLower(string(h)), "<script") {
			t.Fatalf("a <script> element in the fragment")
		}
		checkFragment(t, string(h), 2)
	})
}
