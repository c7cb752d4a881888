package entity

import (
	"strings"
	"testing"

	"greenroom/internal/greenroom"
)

func TestParseRefInContext(t *testing.T) {
	ref := func(k, ns, n string) greenroom.EntityRef { return greenroom.EntityRef{Kind: k, Namespace: ns, Name: n} }
	tests := []struct {
		in, kind, ns string
		want         greenroom.EntityRef
		err          string // substring of the error; "" for none
	}{
		{"a:b/c", "", "", ref("a", "b", "c"), ""},
		{"a:b/c", "x", "y", ref("a", "b", "c"), ""},
		{"b/c", "x", "y", ref("x", "b", "c"), ""},
		{"a:c", "x", "y", ref("a", "y", "c"), ""},
		{"a:c", "x", "", ref("a", "default", "c"), ""},
		{"c", "x", "y", ref("x", "y", "c"), ""},
		{"c", "x", "", ref("x", "default", "c"), ""},
		{"Component:Pets/Petstore", "", "", ref("Component", "Pets", "Petstore"), ""},
		// Current Backstage keeps colons and slashes after the separators in
		// the name, and a slash before the first colon makes it all name.
		{"a:b:c", "", "", ref("a", "default", "b:c"), ""},
		{"a/b/c", "x", "", ref("x", "a", "b/c"), ""},
		{"a/b:c", "x", "", ref("x", "a", "b:c"), ""},
		{"a:b/c/d", "", "", ref("a", "b", "c/d"), ""},
		{"a:b/c:d", "", "", ref("a", "b", "c:d"), ""},
		{" team-a", "group", "", ref("group", "default", " team-a"), ""}, // no trimming
		{"b/c", "", "", greenroom.EntityRef{}, `"b/c" had missing or empty kind`},
		{"c", "", "", greenroom.EntityRef{}, "missing or empty kind (e.g. did not start with \"component:\" or similar)"},
		{"", "x", "", greenroom.EntityRef{}, "must not be empty"},
		{":b/c", "x", "", greenroom.EntityRef{}, "was not on the form [<kind>:][<namespace>/]<name>"},
		{"a:/c", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{"a:b/", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{"a:/", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{":b/", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{":/c", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{":/", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{"/c", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{"b/", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{":c", "x", "", greenroom.EntityRef{}, "was not on the form"},
		{"a:", "x", "", greenroom.EntityRef{}, "was not on the form"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRefInContext(tt.in, tt.kind, tt.ns)
			checkRefResult(t, got, err, tt.want, tt.err)
			// The shared vocabulary's parser resolves every ref the same way.
			g, gerr := greenroom.ParseEntityRef(tt.in, tt.kind, tt.ns)
			checkRefResult(t, g, gerr, tt.want, tt.err)
		})
	}
}

func TestParseRefValue(t *testing.T) {
	ref := func(k, ns, n string) greenroom.EntityRef { return greenroom.EntityRef{Kind: k, Namespace: ns, Name: n} }
	obj := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		in   any
		want greenroom.EntityRef
		err  string
	}{
		{"full", obj("kind", "a", "namespace", "b", "name", "c"), ref("a", "b", "c"), ""},
		{"no kind", obj("namespace", "b", "name", "c"), ref("x", "b", "c"), ""},
		{"no namespace", obj("kind", "a", "name", "c"), ref("a", "y", "c"), ""},
		{"name only", obj("name", "c"), ref("x", "y", "c"), ""},
		{"null parts default", obj("kind", nil, "namespace", nil, "name", "c"), ref("x", "y", "c"), ""},
		{"string", "c", ref("x", "y", "c"), ""},
		{"empty kind is no default", obj("kind", "", "namespace", "b", "name", "c"), greenroom.EntityRef{}, "missing or empty kind"},
		{"empty namespace is no default", obj("kind", "a", "namespace", "", "name", "c"), greenroom.EntityRef{}, "missing or empty namespace"},
		{"empty name", obj("kind", "a", "namespace", "b", "name", ""), greenroom.EntityRef{}, "missing or empty name"},
		{"no name", obj("kind", "a", "namespace", "b"), greenroom.EntityRef{}, "missing or empty name"},
		{"empty object", obj(), greenroom.EntityRef{}, "must not be empty"},
		{"nil", nil, greenroom.EntityRef{}, "must not be empty"},
		{"number", 7.0, greenroom.EntityRef{}, "must be a string or an object"},
		{"number name", obj("name", 7.0), greenroom.EntityRef{}, "has a name that is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRefValue(tt.in, "x", "y")
			checkRefResult(t, got, err, tt.want, tt.err)
		})
	}
}

func checkRefResult(t *testing.T, got greenroom.EntityRef, err error, want greenroom.EntityRef, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want one containing %q", err, wantErr)
		}
		if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("code = %q, want invalid", greenroom.ErrorCode(err))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
