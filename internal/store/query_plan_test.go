package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
)

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abd", true},
		{"a\U0010FFFF", "b", true},
		{"a\U0010FFFF\U0010FFFF", "b", true},
		{"a\uD7FF", "a\uE000", true}, // past the surrogates, which UTF-8 cannot hold
		{"é", "ê", true},
		{"\U0010FFFF", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := prefixEnd(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestKindScope(t *testing.T) {
	kinds := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, string(rune('a'+i)))
		}
		return out
	}
	tests := []struct {
		name string
		f    query.Filter
		want []string
	}{
		{"kind values, lowercased and sorted", query.In("Kind", "User", "component", "USER"), []string{"component", "user"}},
		{"one of the conditions", query.All(query.In("kind", "a"), query.In("spec.type", "x")), []string{"a"}},
		{"several kind conditions intersect", query.All(query.In("kind", "a", "b"), query.In("kind", "b", "c")), []string{"b"}},
		{"alternatives unite", query.Any(query.In("kind", "a"), query.All(query.In("kind", "b"), query.Exists("x"))), []string{"a", "b"}},
		{"an alternative without kinds", query.Any(query.In("kind", "a"), query.In("x", "1")), nil},
		{"negation", query.Not(query.In("kind", "a")), nil},
		{"existence", query.Exists("kind"), nil},
		{"no values", query.In("kind"), nil},
		{"no kind in common", query.All(query.In("kind", "a"), query.In("kind", "b")), nil},
		{"a prefix", query.Prefix("kind", "comp"), nil},
		{"at most maxScopeKinds", query.In("kind", kinds(maxScopeKinds)...), kinds(maxScopeKinds)},
		{"too many kinds", query.In("kind", kinds(maxScopeKinds+1)...), nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, kindScope(tt.f)); diff != "" {
			t.Errorf("%s: kindScope(%+v) (-want +got):\n%s", tt.name, tt.f, diff)
		}
	}
}

func TestScopeRest(t *testing.T) {
	tests := []struct {
		name  string
		f     query.Filter
		kinds []string
		want  query.Filter
	}{
		{"the kind condition holds", query.All(query.In("kind", "A"), query.In("x", "1")), []string{"a"}, query.In("x", "1")},
		{"alternatives of kinds all hold", query.Any(query.In("kind", "a"), query.In("kind", "b")), []string{"a", "b"}, query.All()},
		{"a wider kind condition holds", query.All(query.In("kind", "a", "b"), query.In("x", "1")), []string{"a"}, query.In("x", "1")},
		{"a kind condition some pass stays", query.In("kind", "a"), []string{"a", "b"}, query.In("kind", "a")},
		{"a kind condition none pass fails", query.Not(query.In("kind", "c")), []string{"a"}, query.All()},
		{"a failing alternative goes", query.Any(query.All(query.In("kind", "c"), query.In("x", "1")), query.In("y", "2")), []string{"a"}, query.In("y", "2")},
		{"a failing conjunct fails all", query.All(query.In("kind", "c"), query.In("x", "1")), []string{"a"}, query.Any()},
		{"other keys stay", query.Not(query.In("spec.kind", "a")), []string{"a"}, query.Not(query.In("spec.kind", "a"))},
		{"existence of kind stays", query.Exists("kind"), []string{"a"}, query.Exists("kind")},
		{"per kind, a part that holds for each", query.All(query.Any(query.In("kind", "a"), query.All(query.In("kind", "b"), query.Exists("x"))), query.In("y", "2")),
			[]string{"a", "b"}, query.All(query.Any(query.In("kind", "a"), query.All(query.In("kind", "b"), query.Exists("x"))), query.In("y", "2"))},
		{"per kind, users or teams", query.All(query.Any(query.In("kind", "user"), query.In("kind", "group")), query.In("spec.type", "team")),
			[]string{"group", "user"}, query.In("spec.type", "team")},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, scopeRest(tt.f, tt.kinds)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
