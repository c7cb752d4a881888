package entity

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzValidate feeds arbitrary bytes through Parse, Validate, Relations
// and Hash. None may panic; every problem has a path and a message;
// validation is deterministic; canonical JSON reads back to the same entity.
// The seed corpus is testdata/fuzz/FuzzValidate plus every testdata entity.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*")
	for _, file := range files {
		if filepath.Ext(file) != ".yaml" && filepath.Ext(file) != ".json" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if filepath.Ext(file) == ".json" {
			f.Add(data)
			continue
		}
		for _, e := range yamlEntities(f, file, data) {
			js, err := CanonicalJSON(e)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(js)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			return
		}
		ps := Validate(e)
		for _, p := range ps {
			if p.Path == "" || p.Message == "" {
				t.Fatalf("problem without a path or message: %#v", p)
			}
		}
		if again := Validate(e); !reflect.DeepEqual(ps, again) {
			t.Fatalf("validation is not deterministic:\n%v\n%v", ps, again)
		}
		rels, err := Relations(e)
		if err == nil && ps == nil {
			for _, r := range rels {
				if _, ok := InverseRelation(r.Type); !ok || r.Target.Name == "" || r.Source.Name == "" {
					t.Fatalf("bad relation %+v from a valid entity", r)
				}
			}
		}
		_ = e.Metadata()
		_ = e.Relations()
		canon, err := CanonicalJSON(e)
		if err != nil {
			t.Fatalf("a parsed entity must marshal: %v", err)
		}
		back, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical JSON does not parse: %v", err)
		}
		if !reflect.DeepEqual(e.Raw(), back.Raw()) {
			t.Fatalf("round trip changed the entity:\n%s", canon)
		}
		if _, err := Hash(e); err != nil {
			t.Fatal(err)
		}
	})
}
