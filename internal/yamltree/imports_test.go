package yamltree

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package at the bottom of the module: the standard
// library and go.yaml.in/yaml/v4 only, nothing of Greenroom. Only the
// tests may use goccy/go-yaml, the parser yamltree had before, as a
// reference.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
			if !std && p != "go.yaml.in/yaml/v4" {
				t.Errorf("%s imports %s; yamltree may use only the standard library and go.yaml.in/yaml/v4", name, p)
			}
		}
	}
}
