package entity

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestRelationsGolden derives the relations of each entity set under
// testdata/relations and compares them, and the stitched relations arrays
// they give each entity, with the .golden file beside it.
func TestRelationsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/relations/*.yaml")
	if len(files) == 0 {
		t.Fatal("no relation test sets")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			es := readEntities(t, file)
			var b strings.Builder
			var all []Relation
			for _, e := range es {
				if ps := Validate(e); ps != nil && e.APIVersion() != "backstage.io/v1beta2" {
					t.Errorf("%s: %v", e.Ref(), ps)
				}
				rels, err := Relations(e)
				if err != nil {
					t.Fatalf("%s: %v", e.Ref(), err)
				}
				b.WriteString("# from " + e.Ref().String() + "\n")
				for _, r := range rels {
					b.WriteString(r.Type + " " + r.Source.String() + " -> " + r.Target.String() + "\n")
				}
				all = append(all, rels...)
			}
			for _, e := range es {
				js, err := json.Marshal(StitchedRelations(e.Ref(), all))
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("# stitched " + e.Ref().String() + "\n" + string(js) + "\n")
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("relations differ from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestRelationsErrors(t *testing.T) {
	e := New(map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
		"metadata": map[string]any{"name": "a"},
		"spec": map[string]any{
			"owner":     "team-a",
			"dependsOn": []any{"db", "resource:ok-db", ""},
			"system":    "", // falsy: the processor skips it
		},
	})
	rels, err := Relations(e)
	if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Fatalf("err = %v, want an invalid error", err)
	}
	for _, s := range []string{`spec.dependsOn[0]: entity reference "db" had missing or empty kind`, "spec.dependsOn[2]: entity reference must not be empty"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	var got []string
	for _, r := range rels {
		got = append(got, r.Type+" "+r.Target.String())
	}
	want := []string{"ownedBy group:default/team-a", "ownerOf component:default/a", "dependsOn resource:default/ok-db", "dependencyOf component:default/a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the readable references still relate (-want +got):\n%s", diff)
	}
}

// Backstage's processor accepts compound references where its schemas are
// not enforced; Relations does too.
func TestRelationsCompound(t *testing.T) {
	e := New(map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
		"metadata": map[string]any{"name": "a", "namespace": "ns"},
		"spec": map[string]any{
			"owner":        map[string]any{"name": "team-a"},
			"providesApis": []any{map[string]any{"kind": "API", "namespace": "other", "name": "x"}},
		},
	})
	rels, err := Relations(e)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		got = append(got, r.Type+" "+r.Source.String()+" "+r.Target.String())
	}
	want := []string{
		"ownedBy component:ns/a group:ns/team-a", "ownerOf group:ns/team-a component:ns/a",
		"providesApi component:ns/a api:other/x", "apiProvidedBy api:other/x component:ns/a",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestRelationJSON(t *testing.T) {
	r := Relation{Type: RelationOwnedBy, Source: greenroom.EntityRef{Kind: "Component", Namespace: "default", Name: "x"},
		Target: greenroom.EntityRef{Kind: "Group", Namespace: "default", Name: "Team-A"}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"type":"ownedBy","targetRef":"group:default/team-a"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	for _, in := range []string{
		`{"type":"ownedBy","targetRef":"group:default/team-a"}`,
		`{"type":"ownedBy","target":{"kind":"group","namespace":"default","name":"team-a"}}`,
	} {
		var back Relation
		if err := json.Unmarshal([]byte(in), &back); err != nil {
			t.Fatal(err)
		}
		if back.Type != RelationOwnedBy || back.Target.String() != "group:default/team-a" {
			t.Errorf("Unmarshal(%s) = %+v", in, back)
		}
	}
	var bad Relation
	if err := json.Unmarshal([]byte(`{"type":"ownedBy"}`), &bad); err == nil {
		t.Error("a relation without a target must not unmarshal")
	}
}

func TestInverseRelation(t *testing.T) {
	n := 0
	for typ, inv := range inverseRelations {
		n++
		if back, ok := InverseRelation(inv); !ok || back != typ {
			t.Errorf("InverseRelation(InverseRelation(%s)) = %s", typ, back)
		}
	}
	if n != 14 {
		t.Errorf("%d relation types, want Backstage's 14", n)
	}
	if _, ok := InverseRelation("relatesTo"); ok {
		t.Error("an unknown type has no inverse")
	}
	// Every pair the emission table uses is an inverse pair.
	for kind, kr := range builtinRelations {
		for _, f := range kr.fields {
			if inv, _ := InverseRelation(f.outgoing); inv != f.incoming {
				t.Errorf("%s.spec.%s: %s and %s are not inverses", kind, f.field, f.outgoing, f.incoming)
			}
		}
	}
}
