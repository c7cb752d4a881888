package cli

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// layer ranks the module's packages: a package may import packages of its
// own layer or lower ones, never higher (../shared/STYLE.md §1).
func layer(pkg string) (int, bool) {
	p := strings.TrimPrefix(pkg, "greenroom/")
	switch {
	case p == "internal/greenroom", p == "internal/yamltree", p == "internal/startgc", p == "examples", p == "templates":
		return 0, true
	case p == "internal/catalog", strings.HasPrefix(p, "internal/catalog/"), p == "internal/scaffolder", p == "internal/techdocs", strings.HasPrefix(p, "internal/techdocs/"), p == "internal/search",
		p == "internal/access", strings.HasPrefix(p, "internal/access/"), p == "internal/deploy", p == "internal/observe", p == "internal/cost",
		p == "internal/workflow", p == "internal/ai", p == "internal/aiops", p == "internal/analytics", p == "internal/feishu", p == "internal/apidocs":
		return 1, true
	case strings.HasPrefix(p, "internal/store"), p == "internal/jobs", strings.HasPrefix(p, "internal/integration"), strings.HasPrefix(p, "internal/search/"),
		p == "internal/config":
		return 2, true
	case p == "internal/web", strings.HasPrefix(p, "internal/web/"), p == "internal/api", p == "internal/graphql":
		return 3, true
	case p == "internal/server":
		return 4, true
	case p == "internal/cli":
		return 5, true
	case p == "cmd/greenroom":
		return 6, true
	}
	return 0, false
}

// violations returns the import edges that break the layering, from lines
// of "pkg import import…".
func violations(lines []string) []string {
	var out []string
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		from, ok := layer(pkg)
		if !ok {
			out = append(out, pkg+" has no layer: add it to layer() in layering_test.go")
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, "greenroom/") {
				if pkg == "greenroom/internal/greenroom" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					out = append(out, pkg+" must use the standard library only, imports "+imp)
				}
				continue
			}
			if to, ok := layer(imp); ok && to > from {
				out = append(out, fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports must flow downwards", pkg, from, imp, to))
			}
		}
	}
	return out
}

func TestLayeringRules(t *testing.T) {
	tests := []struct {
		line string
		bad  bool
	}{
		{"greenroom/internal/catalog greenroom/internal/greenroom encoding/json", false},
		{"greenroom/internal/store greenroom/internal/catalog", false},
		{"greenroom/internal/catalog greenroom/internal/store", true},
		{"greenroom/internal/api greenroom/internal/server", true},
		{"greenroom/internal/greenroom github.com/google/uuid", true},
		{"greenroom/internal/mystery", true},
		{"greenroom/internal/cli greenroom/internal/server greenroom/examples", false},
	}
	for _, tt := range tests {
		if got := len(violations([]string{tt.line})) > 0; got != tt.bad {
			t.Errorf("%q: violation = %v, want %v", tt.line, got, tt.bad)
		}
	}
}

func TestImportLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "greenroom/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list found only %d packages", len(lines))
	}
	for _, v := range violations(lines) {
		t.Error(v)
	}
}
