package entity

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

func problemPaths(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Path)
	}
	return out
}

func TestCustomKinds(t *testing.T) {
	v, err := NewValidator(
		CustomKind{APIVersion: "acme.example/v1", Kind: "Service", Schema: []byte(`{
			"type": "object", "required": ["tier"],
			"properties": {"tier": {"enum": ["gold", "silver"]}}}`)},
		// A schema written for Backstage, for the whole entity.
		CustomKind{APIVersion: "acme.example/v1", Kind: "Pipeline", Schema: []byte(`{
			"$schema": "http://json-schema.org/draft-07/schema",
			"$id": "PipelineV1",
			"allOf": [{"$ref": "Entity"}, {
				"type": "object", "required": ["spec"],
				"properties": {"spec": {"type": "object", "required": ["runner"],
					"properties": {"runner": {"type": "string", "minLength": 1}, "ref": {"$ref": "common#reference"}}}}}]}`)},
		CustomKind{APIVersion: "acme.example/v1", Kind: "Anything"},
	)
	if err != nil {
		t.Fatal(err)
	}
	entity := func(kind string, spec map[string]any, meta map[string]any) *Entity {
		raw := map[string]any{"apiVersion": "acme.example/v1", "kind": kind, "metadata": meta}
		if spec != nil {
			raw["spec"] = spec
		}
		return New(raw)
	}
	name := map[string]any{"name": "x"}
	tests := []struct {
		name string
		e    *Entity
		want []string
	}{
		{"spec schema, valid", entity("Service", map[string]any{"tier": "gold"}, name), nil},
		{"spec schema, invalid", entity("Service", map[string]any{"tier": "bronze"}, name), []string{"spec.tier"}},
		{"spec schema, missing spec", entity("Service", nil, name), []string{"spec"}},
		{"spec schema, envelope still checked", entity("Service", map[string]any{"tier": "gold"}, map[string]any{"name": "-x"}), []string{"metadata.name"}},
		{"entity schema, valid", entity("Pipeline", map[string]any{"runner": "gha",
			"ref": map[string]any{"kind": "a", "namespace": "b", "name": "c"}}, name), nil},
		{"entity schema, invalid", entity("Pipeline", map[string]any{"ref": map[string]any{"kind": "a"}}, name),
			[]string{"spec.ref.name", "spec.ref.namespace", "spec.runner"}},
		// The envelope problem is reported once, not once per schema.
		{"entity schema, envelope once", entity("Pipeline", map[string]any{"runner": "gha"}, map[string]any{"title": ""}),
			[]string{"metadata.name", "metadata.title"}},
		{"no schema", entity("Anything", map[string]any{"whatever": []any{1}}, name), nil},
		{"unregistered apiVersion", New(map[string]any{"apiVersion": "acme.example/v2", "kind": "Service", "metadata": name}), []string{"apiVersion"}},
		{"built-ins still known", New(map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Domain", "metadata": name}), []string{"spec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v.Validate(tt.e)
			if diff := cmp.Diff(tt.want, problemPaths(got)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\n%v", diff, got)
			}
		})
	}
	// The default validator knows none of them.
	if ps := Validate(entity("Service", map[string]any{"tier": "gold"}, name)); len(ps) != 1 || ps[0].Path != "kind" {
		t.Errorf("Validate without custom kinds = %v", ps)
	}
}

func TestCustomKindErrors(t *testing.T) {
	tests := []struct {
		name string
		kind CustomKind
		err  string
	}{
		{"bad kind", CustomKind{APIVersion: "a.io/v1", Kind: "my-kind"}, "not a valid kind"},
		{"bad apiVersion", CustomKind{APIVersion: "a.io/v1/x", Kind: "K"}, "not a valid kind"},
		{"redefines a built-in", CustomKind{APIVersion: "backstage.io/v1alpha1", Kind: "Component"}, "already defined"},
		{"not JSON", CustomKind{APIVersion: "a.io/v1", Kind: "K", Schema: []byte(`{`)}, "not JSON"},
		{"not a schema", CustomKind{APIVersion: "a.io/v1", Kind: "K", Schema: []byte(`{"type": 5}`)}, "does not compile"},
		// Nothing outside the embedded and given schemas is ever read.
		{"external ref", CustomKind{APIVersion: "a.io/v1", Kind: "K", Schema: []byte(`{"$ref": "file:///etc/passwd"}`)}, "does not compile"},
		{"remote ref", CustomKind{APIVersion: "a.io/v1", Kind: "K", Schema: []byte(`{"$ref": "https://example.com/s.json"}`)}, "does not compile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewValidator(tt.kind)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one containing %q", err, tt.err)
			}
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
				t.Errorf("code = %q", greenroom.ErrorCode(err))
			}
		})
	}
	if _, err := NewValidator(CustomKind{APIVersion: "a.io/v1", Kind: "K"}, CustomKind{APIVersion: "a.io/v1", Kind: "K"}); err == nil {
		t.Error("a kind registered twice is an error")
	}
}

func TestDescribesEntity(t *testing.T) {
	tests := map[string]bool{
		`{"properties": {"spec": {}}}`:               true,
		`{"properties": {"metadata": {}}}`:           true,
		`{"allOf": [{"$ref": "Entity"}]}`:            true,
		`{"anyOf": [{"properties": {"kind": {}}}]}`:  true,
		`{"properties": {"tier": {}}}`:               false,
		`{"type": "object", "required": ["owner"]}`:  false,
		`{"allOf": [{"properties": {"owner": {}}}]}`: false,
	}
	for in, want := range tests {
		doc := decodeAny(t, []byte(in))
		if got := describesEntity(doc, 0); got != want {
			t.Errorf("describesEntity(%s) = %v, want %v", in, got, want)
		}
	}
}
