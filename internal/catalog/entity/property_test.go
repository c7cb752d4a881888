package entity

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"greenroom/internal/greenroom"
)

// genSet draws a consistent entity set: every reference names an entity of
// the set, written in one of the forms Backstage reads in that field's
// context (short name, namespace/name, kind:name, kind:namespace/name, a
// compound object), with the kind in any case.
func genSet(t *rapid.T) []*Entity {
	namespaces := []string{"default", "pets", "ops"}
	type node struct {
		kind, ns, name string
		spec           map[string]any
	}
	var nodes []*node
	byKind := map[string][]*node{}
	taken := map[string]bool{}
	counts := map[string]int{"Group": 4, "User": 4, "Domain": 2, "System": 3, "Component": 5, "API": 3, "Resource": 3}
	for _, kind := range []string{"Group", "User", "Domain", "System", "Component", "API", "Resource"} {
		n := rapid.IntRange(1, counts[kind]).Draw(t, kind+" count")
		for range n {
			nd := &node{kind: kind, ns: rapid.SampledFrom(namespaces).Draw(t, "namespace"),
				name: rapid.StringMatching(`[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,3})?`).Draw(t, "name"), spec: map[string]any{}}
			key := strings.ToLower(kind + ":" + nd.ns + "/" + nd.name)
			if taken[key] {
				continue
			}
			taken[key] = true
			nodes = append(nodes, nd)
			byKind[kind] = append(byKind[kind], nd)
		}
	}
	// ref writes a reference from self to target in a random valid form.
	ref := func(self, target *node, defaultKind string) any {
		kind := rapid.SampledFrom([]string{target.kind, strings.ToLower(target.kind), strings.ToUpper(target.kind)}).Draw(t, "kind case")
		kindImplied := strings.EqualFold(defaultKind, target.kind)
		nsImplied := self.ns == target.ns
		forms := []string{"kind:ns/name", "compound"}
		if kindImplied {
			forms = append(forms, "ns/name")
			if nsImplied {
				forms = append(forms, "name")
			}
		}
		if nsImplied {
			forms = append(forms, "kind:name")
		}
		switch rapid.SampledFrom(forms).Draw(t, "form") {
		case "name":
			return target.name
		case "ns/name":
			return target.ns + "/" + target.name
		case "kind:name":
			return kind + ":" + target.name
		case "compound":
			c := map[string]any{"name": target.name}
			if !kindImplied || rapid.Bool().Draw(t, "explicit kind") {
				c["kind"] = kind
			}
			if !nsImplied || rapid.Bool().Draw(t, "explicit namespace") {
				c["namespace"] = target.ns
			}
			return c
		default:
			return kind + ":" + target.ns + "/" + target.name
		}
	}
	pick := func(kinds ...string) *node {
		var pool []*node
		for _, k := range kinds {
			pool = append(pool, byKind[k]...)
		}
		if len(pool) == 0 {
			return nil
		}
		return rapid.SampledFrom(pool).Draw(t, "target")
	}
	one := func(self *node, field, defaultKind string, kinds ...string) {
		if rapid.Bool().Draw(t, "set "+field) {
			if target := pick(kinds...); target != nil {
				self.spec[field] = ref(self, target, defaultKind)
			}
		}
	}
	many := func(self *node, field, defaultKind string, kinds ...string) {
		n := rapid.IntRange(0, 3).Draw(t, field+" count")
		items := []any{}
		for range n {
			if target := pick(kinds...); target != nil {
				items = append(items, ref(self, target, defaultKind))
			}
		}
		self.spec[field] = items
	}
	for _, nd := range nodes {
		switch nd.kind {
		case "Component", "API", "Resource", "System", "Domain":
			nd.spec["owner"] = ref(nd, pick("Group", "User"), "Group")
		}
		switch nd.kind {
		case "Component":
			nd.spec["type"], nd.spec["lifecycle"] = "service", "production"
			one(nd, "system", "System", "System")
			one(nd, "subcomponentOf", "Component", "Component")
			many(nd, "providesApis", "API", "API")
			many(nd, "consumesApis", "API", "API")
			many(nd, "dependsOn", "", "Component", "Resource")
			many(nd, "dependencyOf", "", "Component", "Resource")
		case "API":
			nd.spec["type"], nd.spec["lifecycle"], nd.spec["definition"] = "openapi", "production", "openapi: 3.0.0"
			one(nd, "system", "System", "System")
		case "Resource":
			nd.spec["type"] = "database"
			one(nd, "system", "System", "System")
			many(nd, "dependsOn", "", "Component", "Resource")
			many(nd, "dependencyOf", "", "Component", "Resource")
		case "System":
			one(nd, "domain", "Domain", "Domain")
		case "Domain":
			one(nd, "subdomainOf", "Domain", "Domain")
		case "Group":
			nd.spec["type"] = "team"
			one(nd, "parent", "Group", "Group")
			many(nd, "children", "Group", "Group")
			many(nd, "members", "User", "User")
		case "User":
			many(nd, "memberOf", "Group", "Group")
		}
	}
	out := make([]*Entity, len(nodes))
	for i, nd := range nodes {
		out[i] = New(map[string]any{
			"apiVersion": "backstage.io/v1alpha1", "kind": nd.kind,
			"metadata": map[string]any{"name": nd.name, "namespace": nd.ns},
			"spec":     nd.spec,
		})
	}
	return out
}

// Property: relation symmetry — for any generated entity set, every relation has its inverse
func TestRelationSymmetry(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		set := genSet(t)
		inSet := map[string]bool{}
		for _, e := range set {
			inSet[e.Ref().String()] = true
		}
		key := func(typ string, s, d greenroom.EntityRef) string { return typ + " " + s.String() + " " + d.String() }
		have := map[string]bool{}
		var all []Relation
		for _, e := range set {
			rels, err := Relations(e)
			if err != nil {
				t.Fatalf("%s: %v", e.Ref(), err)
			}
			for _, r := range rels {
				have[key(r.Type, r.Source, r.Target)] = true
			}
			all = append(all, rels...)
		}
		for _, r := range all {
			inv, ok := InverseRelation(r.Type)
			if !ok {
				t.Fatalf("relation type %q has no inverse", r.Type)
			}
			if !have[key(inv, r.Target, r.Source)] {
				t.Fatalf("%s has no inverse %s", key(r.Type, r.Source, r.Target), key(inv, r.Target, r.Source))
			}
			// The set is consistent, so each end must resolve to one of it.
			if !inSet[r.Source.String()] || !inSet[r.Target.String()] {
				t.Fatalf("%s leaves the set: a reference resolved to the wrong kind or namespace", key(r.Type, r.Source, r.Target))
			}
		}
	})
}

// Property: every entity the generator draws, whose references are all
// well-formed strings, passes validation.
func TestGeneratedEntitiesValidate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		for _, e := range genSet(t) {
			compound := false
			for _, v := range e.Spec() {
				if hasObject(v) {
					compound = true
				}
			}
			ps := Validate(e)
			if !compound && ps != nil {
				t.Fatalf("%s: %v", e.Ref(), ps)
			}
			if compound && ps == nil {
				t.Fatalf("%s: compound references are not allowed by the kind schemas", e.Ref())
			}
		}
	})
}

func hasObject(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return true
	case []any:
		for _, c := range t {
			if hasObject(c) {
				return true
			}
		}
	}
	return false
}

// The scanning validators implement exactly the regular expressions of
// Backstage's validator functions.
func TestValidatorsMatchRegexps(t *testing.T) {
	checks := []struct {
		name  string
		fn    func(string) bool
		re    *regexp.Regexp
		maxLn int
	}{
		{"objectName", isValidObjectName, regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`), 63},
		{"kind", isValidKind, regexp.MustCompile(`^[a-zA-Z][a-z0-9A-Z]*$`), 63},
		{"dnsLabel", isValidDNSLabel, regexp.MustCompile(`^[a-z0-9]+(\-[a-z0-9]+)*$`), 63},
		{"tag", isValidTag, regexp.MustCompile(`^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$`), 63},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				s := rapid.StringOfN(rapid.SampledFrom([]rune("aZ09-_.:+#/ é")), 0, 70, -1).Draw(t, "s")
				want := len(s) >= 1 && len(s) <= c.maxLn && c.re.MatchString(s)
				if got := c.fn(s); got != want {
					t.Fatalf("%s(%q) = %v, want %v", c.name, s, got, want)
				}
			})
		})
	}
}

func TestFormatValidators(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		fn   func(string) bool
		ok   []string
		bad  []string
	}{
		{"apiVersion", isValidAPIVersion,
			[]string{"backstage.io/v1alpha1", "v1", "my-company.net/v1", "a.b.c/V1beta3"},
			[]string{"", "1.0", "backstage.io/", "/v1", "Backstage.io/v1", "a/b/c", "x_y.io/v1", "backstage.io/v1-alpha", "a/" + long(64)}},
		{"key", isValidKey,
			[]string{"a", "backstage.io/techdocs-ref", "x.y/Name_1.2", long(63), strings.Repeat("a.", 126) + "a/x"},
			[]string{"", "a/", "/a", "a/b/c", "A.io/x", "x/" + long(64), long(254) + "/x", "a..b/x", "-a.io/x"}},
		{"dnsSubdomain", isValidDNSSubdomain,
			[]string{"a", "a.b", "a-1.b-2", strings.Repeat("a.", 126) + "a"},
			[]string{"", ".", "a.", ".a", "a..b", "A", long(64), strings.Repeat("a.", 127)}},
		{"url", isValidURL,
			[]string{"https://example.com", "http://localhost:8080/x?y#z", "mailto:a@b.c", "file:///etc", " https://x.io ", "urn:isbn:1", "ftp://h/p", "https:/example.com", "https:example.com", "https:///example.com"},
			[]string{"", "example.com", "/path", "not a url", "https://", "http://host:99999", "http://a b", "://x", "https:///", "http:?q"}},
		{"string", isValidString, []string{"x", " x "}, []string{"", "   ", "\t\n", "\uFEFF"}},
	}
	for _, tt := range tests {
		for _, s := range tt.ok {
			if !tt.fn(s) {
				t.Errorf("%s(%q) = false, want true", tt.name, s)
			}
		}
		for _, s := range tt.bad {
			if tt.fn(s) {
				t.Errorf("%s(%q) = true, want false", tt.name, s)
			}
		}
	}
}

func ExampleRelations() {
	e, _ := Parse([]byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
		"metadata":{"name":"petstore","namespace":"pets"},
		"spec":{"type":"service","lifecycle":"production","owner":"team-a","dependsOn":["resource:db"]}}`))
	rels, _ := Relations(e)
	for _, r := range rels {
		fmt.Println(r.Type, r.Source, "->", r.Target)
	}
	// Output:
	// ownedBy component:pets/petstore -> group:pets/team-a
	// ownerOf group:pets/team-a -> component:pets/petstore
	// dependsOn component:pets/petstore -> resource:pets/db
	// dependencyOf resource:pets/db -> component:pets/petstore
}
