package entity

import "testing"

// Every entity of the bundled demo must pass every Backstage rule, and its
// references must all resolve to demo entities.
func TestDemoEntitiesValidate(t *testing.T) {
	demo := loadDemo(t)
	refs := map[string]bool{}
	for _, d := range demo {
		refs[d.entity.Ref().String()] = true
	}
	for _, d := range demo {
		ref := d.entity.Ref().String()
		for _, p := range Validate(d.entity) {
			t.Errorf("%s %s: %s", d.file, ref, p)
		}
		rels, err := Relations(d.entity)
		if err != nil {
			t.Errorf("%s %s: relations: %v", d.file, ref, err)
		}
		for _, r := range rels {
			if !refs[r.Target.String()] || !refs[r.Source.String()] {
				t.Errorf("%s %s: relation %s %s → %s points outside the demo", d.file, ref, r.Type, r.Source, r.Target)
			}
		}
	}
	if len(demo) < 100 {
		t.Errorf("read %d demo entities, want the whole demo (over 100)", len(demo))
	}
}
