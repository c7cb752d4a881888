package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"greenroom/internal/catalog/entity"
)

func mustValidator(t *testing.T) *entity.Validator {
	t.Helper()
	v, err := entity.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestProcess(t *testing.T) {
	p := &processor{validator: mustValidator(t)}
	src := Source{Name: "file:/srv/catalog/all.yaml", Root: "srv/catalog/all.yaml"}
	tests := []struct {
		name      string
		doc       string
		wantErrs  []string // substrings, one per error
		wantRels  int
		checkBody func(t *testing.T, body map[string]any)
	}{
		{
			name: "valid component with numbers and relations",
			doc: `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
				"metadata":{"name":"billing","uid":"forged","labels":{"tier":"1"}},
				"spec":{"type":"service","lifecycle":"production","owner":"team-a","system":"payments",
				        "dependsOn":["resource:db"],"replicas":3,"ratio":0.5},
				"relations":[{"type":"ownedBy","targetRef":"group:default/forged"}]}`,
			wantRels: 6,
			checkBody: func(t *testing.T, body map[string]any) {
				meta := body["metadata"].(map[string]any)
				if meta["namespace"] != "default" || meta["uid"] != nil {
					t.Errorf("metadata not normalised: %v", meta)
				}
				ann := meta["annotations"].(map[string]any)
				if ann["backstage.io/managed-by-location"] != "file:/srv/catalog/components.yaml" ||
					ann["backstage.io/managed-by-origin-location"] != "file:/srv/catalog/all.yaml" {
					t.Errorf("location annotations: %v", ann)
				}
				if _, ok := body["relations"]; ok {
					t.Error("input relations must be dropped")
				}
				if spec := body["spec"].(map[string]any); spec["replicas"] != float64(3) {
					t.Errorf("number not kept: %v", spec["replicas"])
				}
			},
		},
		{
			name:     "invalid name and tag, located",
			doc:      `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"bad name!","tags":["OK","fine"]},"spec":{"type":"service","lifecycle":"production","owner":"team-a"}}`,
			wantErrs: []string{"components.yaml:7: ", "metadata.name", "metadata.tags[0]"},
		},
		{
			name:     "kind not allowed",
			doc:      `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"g"},"spec":{"type":"team","children":[]}}`,
			wantErrs: []string{"kind Group is not allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data map[string]any
			dec := json.NewDecoder(strings.NewReader(tt.doc))
			if err := dec.Decode(&data); err != nil {
				t.Fatal(err)
			}
			if spec, ok := data["spec"].(map[string]any); ok && spec["replicas"] != nil {
				spec["replicas"] = int64(3) // as yamltree produces integers
			}
			s := src
			if tt.name == "kind not allowed" {
				s.AllowKinds = []string{"Component"}
			}
			out, errs := p.process(s, rawEntity{File: "srv/catalog/components.yaml", Line: 7, Data: data})
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			joined := strings.Join(msgs, "\n")
			for _, want := range tt.wantErrs {
				if !strings.Contains(joined, want) {
					t.Errorf("errors lack %q:\n%s", want, joined)
				}
			}
			if len(tt.wantErrs) == 0 && len(errs) > 0 {
				t.Fatalf("unexpected errors:\n%s", joined)
			}
			if len(tt.wantErrs) > 0 {
				return
			}
			if out.rec.Ref != "component:default/billing" || out.rec.Hash == "" || out.rec.Source != s.Name {
				t.Errorf("record %+v", out.rec)
			}
			if len(out.relations) != tt.wantRels {
				t.Errorf("%d relations, want %d: %v", len(out.relations), tt.wantRels, out.relations)
			}
			var body map[string]any
			if err := json.Unmarshal(out.rec.Body, &body); err != nil {
				t.Fatal(err)
			}
			tt.checkBody(t, body)
		})
	}
}
