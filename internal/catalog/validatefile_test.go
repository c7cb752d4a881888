package catalog_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/entity"
)

func TestValidateFiles(t *testing.T) {
	pipeline := entity.CustomKind{APIVersion: "acme.example/v1", Kind: "Pipeline",
		Schema: []byte(`{"type":"object","required":["runner"],"properties":{"runner":{"type":"string","minLength":1}}}`)}
	tests := []struct {
		name     string
		files    []string
		custom   []entity.CustomKind
		entities int
		read     []string
		want     []string
		skipped  []string
	}{
		{
			name:     "valid tree with a Location, a placeholder and a url target",
			files:    []string{"testdata/validate/good.yaml"},
			entities: 6,
			read:     []string{"testdata/validate/good.yaml", "testdata/validate/more/systems.yaml"},
			skipped:  []string{`testdata/validate/good.yaml:31: location target "https://github.com/acme/other/blob/main/catalog-info.yaml": not checked: only files are read`},
		},
		{
			name:     "errors located by field",
			files:    []string{"testdata/validate/good.yaml", "testdata/validate/bad.yaml", "testdata/validate/syntax.yaml", "testdata/validate/more/systems.yaml"},
			entities: 11,
			read:     []string{"testdata/validate/good.yaml", "testdata/validate/more/systems.yaml", "testdata/validate/bad.yaml", "testdata/validate/syntax.yaml"},
			want: []string{
				`testdata/validate/bad.yaml:7:7: component:default/cart: metadata.tags[1]: is not valid; expected a string that is sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total but found "Not A Tag"`,
				`testdata/validate/bad.yaml:8:1: component:default/cart: spec.owner: required property "owner" is missing`,
				`testdata/validate/bad.yaml:17:5: component:default/wishlist: metadata.annotations["bad key!"]: key is not valid; expected a valid prefix and/or suffix: an optional DNS subdomain (at most 253 characters) and "/", then sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters but found "bad key!"`,
				`testdata/validate/bad.yaml:23: document 3 is not an object`,
				`testdata/validate/bad.yaml:26: component:default/checkout: entity is also defined at testdata/validate/good.yaml:1; the catalog keeps only the first location's`,
				`testdata/validate/bad.yaml:35: component:default/checkout: entity is defined twice in this location (first at testdata/validate/bad.yaml:26)`,
				`testdata/validate/bad.yaml:45:1: widget:default/w: kind: unknown kind "Widget" with apiVersion "backstage.io/v1alpha1": no built-in or registered kind recognizes the entity, possibly caused by a foreign kind or apiVersion (kinds compare case-sensitively)`,
				`testdata/validate/syntax.yaml:6:5: did not find expected ',' or ']' (while parsing a flow sequence at line 5, column 9)`,
			},
			skipped: []string{`testdata/validate/good.yaml:31: location target "https://github.com/acme/other/blob/main/catalog-info.yaml": not checked: only files are read`},
		},
		{
			name:     "custom kind unknown without configuration",
			files:    []string{"testdata/validate/custom.yaml"},
			entities: 1,
			read:     []string{"testdata/validate/custom.yaml"},
			want:     []string{`testdata/validate/custom.yaml:2:1: pipeline:default/deploy: kind: unknown kind "Pipeline" with apiVersion "acme.example/v1": no built-in or registered kind recognizes the entity, possibly caused by a foreign kind or apiVersion (kinds compare case-sensitively)`},
		},
		{
			name:     "custom kind schema applies",
			files:    []string{"testdata/validate/custom.yaml"},
			custom:   []entity.CustomKind{pipeline},
			entities: 1,
			read:     []string{"testdata/validate/custom.yaml"},
			want:     []string{`testdata/validate/custom.yaml:6:3: pipeline:default/deploy: spec.runner: must not be empty`},
		},
		{
			name:  "missing file",
			files: []string{"testdata/validate/nope.yaml"},
			read:  []string{"testdata/validate/nope.yaml"},
			want:  []string{"testdata/validate/nope.yaml: file does not exist"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := catalog.ValidateFiles(tt.files, tt.custom...)
			if err != nil {
				t.Fatal(err)
			}
			var got, skipped []string
			for _, p := range r.Problems {
				got = append(got, p.String())
			}
			for _, p := range r.Skipped {
				skipped = append(skipped, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.skipped, skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
			if r.Entities != tt.entities || !cmp.Equal(r.Files, tt.read) {
				t.Errorf("read %v, %d entities; want %v, %d", r.Files, r.Entities, tt.read, tt.entities)
			}
		})
	}
	if _, err := catalog.ValidateFiles(nil, entity.CustomKind{Kind: "bad kind"}); err == nil {
		t.Error("a malformed custom kind must be an error")
	}
}
