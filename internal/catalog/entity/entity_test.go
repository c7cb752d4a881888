package entity

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
)

// decodeAny decodes JSON the way Parse does, for comparing documents.
func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Any entity document survives Parse and MarshalJSON with every field,
// known or not, and every number written as it was.
func TestRoundTrip(t *testing.T) {
	in := []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Widget","vendorRoot":{"a":[1,2.50,1e3,-0]},
		"metadata":{"name":"w","x-custom":{"deep":[null,true,"<&>"]}},
		"spec":{"big":12345678901234567890123,"float":0.1000}}`)
	e, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(decodeAny(t, in), decodeAny(t, out)); diff != "" {
		t.Errorf("round trip lost data (-in +out):\n%s", diff)
	}
	canon, err := CanonicalJSON(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, lit := range []string{"2.50", "1e3", "-0", "12345678901234567890123", "0.1000", `"<&>"`} {
		if !bytes.Contains(canon, []byte(lit)) {
			t.Errorf("canonical JSON %s does not keep %s as written", canon, lit)
		}
	}
	// As a field of another type too.
	var wrapper struct{ Entity *Entity }
	if err := json.Unmarshal([]byte(`{"Entity":`+string(in)+`}`), &wrapper); err != nil {
		t.Fatal(err)
	}
	if wrapper.Entity.Kind() != "Widget" {
		t.Errorf("embedded entity kind = %q", wrapper.Entity.Kind())
	}
}

func TestRoundTripTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*")
	for _, file := range files {
		if ext := filepath.Ext(file); ext != ".yaml" && ext != ".json" {
			continue
		}
		for _, e := range readEntities(t, file) {
			before, err := CanonicalJSON(e)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(before)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := CanonicalJSON(back)
			if !bytes.Equal(before, after) {
				t.Errorf("%s: canonical JSON is not stable:\n%s\n%s", file, before, after)
			}
		}
	}
}

func TestParseRejectsNonObjects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `null`, `{"a":1} {"b":2}`, `{"a":`} {
		if _, err := Parse([]byte(in)); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("Parse(%q) err = %v, want an invalid error", in, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/component.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := yamlEntities(t, "component.yaml", data)[0]
	if e.APIVersion() != "backstage.io/v1alpha1" || e.Kind() != "Component" || e.Name() != "Petstore_Service.v2" || e.Namespace() != "pets" {
		t.Errorf("envelope accessors: %q %q %q %q", e.APIVersion(), e.Kind(), e.Name(), e.Namespace())
	}
	if got, want := e.Ref(), (greenroom.EntityRef{Kind: "Component", Namespace: "pets", Name: "Petstore_Service.v2"}); got != want {
		t.Errorf("Ref = %+v, want %+v", got, want)
	}
	if got := e.Ref().String(); got != "component:pets/petstore_service.v2" {
		t.Errorf("Ref().String() = %q", got)
	}
	want := Metadata{
		Name: "Petstore_Service.v2", Namespace: "pets", Title: "Petstore", Description: "Sells pets.",
		Labels: map[string]string{"example.com/tier": "gold", "plain": ""},
		Annotations: map[string]string{
			"backstage.io/techdocs-ref": "dir:.", "github.com/project-slug": "acme/petstore",
			"note": "any string at all, even with spaces",
		},
		Tags: []string{"java", "c++", "c#", "k8s:prod", "web-app"},
		Links: []Link{
			{URL: "https://admin.example.com/petstore", Title: "Admin", Icon: "dashboard", Type: "admin-dashboard"},
			{URL: "mailto:pets@example.com"},
		},
	}
	if diff := cmp.Diff(want, e.Metadata()); diff != "" {
		t.Errorf("Metadata (-want +got):\n%s", diff)
	}
	if got := e.Annotation("github.com/project-slug"); got != "acme/petstore" {
		t.Errorf("Annotation = %q", got)
	}
	if got := e.Spec()["owner"]; got != "user:default/jdoe" {
		t.Errorf("Spec()[owner] = %v", got)
	}
	if e.Status() != nil || e.Relations() != nil {
		t.Error("an entity from a file has no status or relations")
	}

	empty := New(nil)
	if empty.Namespace() != "default" || empty.Kind() != "" || empty.Spec() != nil {
		t.Error("an empty entity reads as empty, in the default namespace")
	}
}

func TestStitchedEntity(t *testing.T) {
	e := readEntities(t, "testdata/valid/stitched.json")[0]
	md := e.Metadata()
	if md.UID != "e01199ab-08cc-44c2-8e19-5c29ded82521" || md.Etag != "lsndfkjsndfkjnsdfkjnsd==" {
		t.Errorf("uid/etag = %q %q", md.UID, md.Etag)
	}
	var got []string
	for _, r := range e.Relations() {
		got = append(got, r.Type+" "+r.Source.String()+" "+r.Target.String())
	}
	want := []string{"ownedBy component:default/petstore group:default/team-a", "partOf component:default/petstore system:default/petstore"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Relations (-want +got):\n%s", diff)
	}
	if e.Status()["vendor"] == nil {
		t.Error("unknown status fields are kept")
	}

	c := e.Clone()
	c.SetRelations([]Relation{{Type: RelationOwnedBy, Target: greenroom.EntityRef{Kind: "Group", Namespace: "default", Name: "B"}}})
	c.SetMetadata("etag", "new")
	if len(e.Relations()) != 2 || e.Metadata().Etag == "new" {
		t.Error("Clone must be deep")
	}
	js, _ := json.Marshal(c.Raw()["relations"])
	if string(js) != `[{"targetRef":"group:default/b","type":"ownedBy"}]` {
		t.Errorf("SetRelations wrote %s", js)
	}
	c.SetRelations(nil)
	if _, ok := c.Raw()["relations"]; ok {
		t.Error("SetRelations(nil) removes the array")
	}
}

func TestHash(t *testing.T) {
	a, _ := Parse([]byte(`{"kind":"Component","metadata":{"name":"a","labels":{"x":"1","y":"2"}},"spec":{"owner":"t"}}`))
	b, _ := Parse([]byte(`{"spec":{"owner":"t"},"metadata":{"labels":{"y":"2","x":"1"},"name":"a","uid":"u1","etag":"e1","generation":4},"kind":"Component"}`))
	c, _ := Parse([]byte(`{"kind":"Component","metadata":{"name":"a","labels":{"x":"1","y":"2"}},"spec":{"owner":"u"}}`))
	ha, err := Hash(a)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := Hash(b)
	hc, _ := Hash(c)
	if ha != hb {
		t.Errorf("key order, uid, etag and generation must not change the hash: %s != %s", ha, hb)
	}
	if ha == hc {
		t.Error("a change to spec must change the hash")
	}
	if len(ha) != 64 {
		t.Errorf("hash %q is not hex SHA-256", ha)
	}
	if b.Metadata().UID != "u1" {
		t.Error("Hash must not modify the entity")
	}
	ca, _ := CanonicalJSON(a)
	if want := `{"kind":"Component","metadata":{"labels":{"x":"1","y":"2"},"name":"a"},"spec":{"owner":"t"}}`; string(ca) != want {
		t.Errorf("CanonicalJSON = %s, want %s", ca, want)
	}
	if _, err := Hash(New(map[string]any{"bad": make(chan int)})); err == nil {
		t.Error("a value JSON cannot hold is an error")
	}
}

func TestZeroEntity(t *testing.T) {
	var e Entity
	if ps := Validate(&e); len(ps) != 3 {
		t.Errorf("the zero entity lacks apiVersion, kind and metadata: %v", ps)
	}
	e.SetMetadata("name", "x")
	e.SetRelations([]Relation{})
	if e.Name() != "x" || e.Relations() != nil {
		t.Errorf("writes to the zero entity: %v", e.Raw())
	}
	if c := e.Clone(); c.Name() != "x" {
		t.Error("Clone of a written zero entity")
	}
}
