package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// scannedRoute is a ServeMux pattern registered in source.
type scannedRoute struct {
	pattern string
	at      string // file:line
}

// scanRoutes finds every mux.Handle and mux.HandleFunc call with a literal
// pattern in the non-test files of dirs, so that a route added anywhere is
// seen by the route checks (OpenAPI, authorization matrix) without anyone
// listing it. A pattern that is not a string literal is an error: the
// checks could not see it.
func scanRoutes(t *testing.T, dirs ...string) []scannedRoute {
	t.Helper()
	var out []scannedRoute
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(fset, f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) < 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "root" {
					return true // fakes' own muxes
				}
				at := fset.Position(call.Pos()).String()
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: route pattern is not a string literal; the route checks (OpenAPI, authorization matrix) cannot see it", at)
					return true
				}
				p, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, scannedRoute{pattern: p, at: at})
				return true
			})
		}
	}
	return out
}
