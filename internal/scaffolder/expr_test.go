package scaffolder

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRender(t *testing.T) {
	e := NewEngine(Limits{})
	data := map[string]any{
		"parameters": map[string]any{
			"name": "billing", "replicas": float64(3), "tags": []any{"go", "api"},
			"repoUrl": "github.com?owner=acme&repo=billing", "owner": "group:default/team-a",
			"obj": map[string]any{"a": "x"},
		},
		"steps": map[string]any{"fetch": map[string]any{"output": map[string]any{"remoteUrl": "https://x/y"}}},
		"user":  map[string]any{"entity": map[string]any{"metadata": map[string]any{"name": "jdoe"}}},
	}
	tests := []struct {
		name, src, want string
	}{
		{"plain", "no expressions", "no expressions"},
		{"param", "svc-${{ parameters.name }}", "svc-billing"},
		{"number renders as in js", "${{ parameters.replicas }} replicas", "3 replicas"},
		{"missing renders empty", "[${{ parameters.missing }}]", "[]"},
		{"user", "by ${{ user.entity.metadata.name }}", "by jdoe"},
		{"steps", "${{ steps.fetch.output.remoteUrl }}/tree", "https://x/y/tree"},
		{"parseRepoUrl", "${{ (parameters.repoUrl | parseRepoUrl).owner }}", "acme"},
		{"projectSlug", "${{ parameters.repoUrl | projectSlug }}", "acme/billing"},
		{"parseEntityRef", "${{ (parameters.owner | parseEntityRef).name }}", "team-a"},
		{"parseEntityRef default kind", "${{ ('team-b' | parseEntityRef(defaultKind='group')).kind }}", "group"},
		{"pick", "${{ parameters.obj | pick('a') }}", "x"},
		{"if block", "{% if parameters.name == 'billing' %}yes{% else %}no{% endif %}", "yes"},
		{"for", "{% for t in parameters.tags %}<${{ t }}>{% endfor %}", "<go><api>"},
		{"default filter", "${{ parameters.missing | default('d') }}", "d"},
		{"numbers multiply", "${{ parameters.replicas * 2 }}", "6"},
		{"trailing newline kept", "a ${{ parameters.name }}\n", "a billing\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Render(tc.src, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

func TestRenderValueKeepsTypes(t *testing.T) {
	e := NewEngine(Limits{})
	data := map[string]any{"parameters": map[string]any{
		"tags": []any{"a", "b"}, "n": float64(2), "flag": true, "name": "x",
		"repoUrl": "github.com?owner=acme&repo=billing",
	}}
	in := map[string]any{
		"list":   "${{ parameters.tags }}",
		"num":    " ${{ parameters.n }} ",
		"flag":   "${{ parameters.flag }}",
		"mixed":  "n=${{ parameters.n }}",
		"nested": []any{"${{ parameters.name }}", 5},
		"repo":   "${{ parameters.repoUrl | parseRepoUrl }}",
		"gone":   "${{ parameters.nope }}",
	}
	got, err := e.RenderValue(in, data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"list": []any{"a", "b"}, "num": 2, "flag": true, "mixed": "n=2",
		"nested": []any{"x", 5},
		"repo":   map[string]any{"host": "github.com", "owner": "acme", "repo": "billing"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("RenderValue (-want +got):\n%s", d)
	}
}

func TestRenderBadInput(t *testing.T) {
	e := NewEngine(Limits{MaxOutput: 1000, MaxIterations: 500, Timeout: 2 * time.Second})
	tests := []struct{ name, src, want string }{
		{"syntax", "${{ parameters.name ", "template syntax"},
		{"huge output", "{% for i in range(400) %}0123456789{% endfor %}", "exceeds 1000 bytes"},
		{"too many iterations", "{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", "iterations"},
		{"include is refused", "{% include '/etc/passwd' %}", "template syntax"},
		{"macro is refused", "{% macro f() %}${{ f() }}{% endmacro %}${{ f() }}", "template syntax"},
		{"string repetition", "${{ 'x' * 10000000000 }}", "cannot be multiplied"},
		{"string repetition of a value", "${{ parameters.name * 100000000000 }}", "cannot be multiplied"},
		{"bad repo url", "${{ 'github.com?owner=a' | parseRepoUrl }}", "missing repo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Render(tc.src, map[string]any{"parameters": map[string]any{"name": "x"}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render(%q) error = %v, want one containing %q", tc.src, err, tc.want)
			}
		})
	}
}

func TestCookiecutter(t *testing.T) {
	e := NewEngine(Limits{})
	got, err := e.RenderCookiecutter("name: {{ cookiecutter.name }} ${{ keep }}", map[string]any{"cookiecutter": map[string]any{"name": "svc"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "name: svc $") {
		t.Errorf("got %q", got)
	}
}
