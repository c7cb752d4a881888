package access

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"greenroom/internal/catalog/query"
)

// propEntity is a generated catalog entity as the store holds it (with
// the ownedBy relation processing adds).
type propEntity struct {
	Kind, NS, Name, Type, Lifecycle, Owner string
	Tags                                   []string
	Annotations, Labels                    map[string]string
}

func (e propEntity) ref() string { return strings.ToLower(e.Kind) + ":" + e.NS + "/" + e.Name }

func (e propEntity) body() []byte {
	spec := map[string]any{}
	if e.Type != "" {
		spec["type"] = e.Type
	}
	if e.Lifecycle != "" {
		spec["lifecycle"] = e.Lifecycle
	}
	meta := map[string]any{"name": e.Name, "namespace": e.NS, "annotations": e.Annotations, "labels": e.Labels}
	if e.Tags != nil {
		meta["tags"] = e.Tags
	}
	ent := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": e.Kind, "metadata": meta, "spec": spec}
	if e.Owner != "" {
		spec["owner"] = e.Owner
		ent["relations"] = []any{map[string]any{"type": "ownedBy", "targetRef": e.Owner}}
	}
	b, _ := json.Marshal(ent)
	return b
}

var (
	genKinds       = []string{"Component", "API", "System"}
	genNamespaces  = []string{"default", "payments", "ops"}
	genTypes       = []string{"service", "website", "library", ""}
	genLifecycles  = []string{"production", "experimental", ""}
	genOwners      = []string{"group:default/team-a", "group:payments/team-b", ""}
	genTags        = []string{"pci", "public", "java", "go"}
	genDepartments = []string{"finance", "Finance", "eng", ""}
)

func drawEntity(t *rapid.T, i int) propEntity {
	e := propEntity{
		Kind: rapid.SampledFrom(genKinds).Draw(t, "kind"), NS: rapid.SampledFrom(genNamespaces).Draw(t, "ns"),
		Name: fmt.Sprintf("e%d", i), Type: rapid.SampledFrom(genTypes).Draw(t, "type"),
		Lifecycle: rapid.SampledFrom(genLifecycles).Draw(t, "lifecycle"), Owner: rapid.SampledFrom(genOwners).Draw(t, "owner"),
		Tags:        rapid.SliceOfNDistinct(rapid.SampledFrom(genTags), 0, 3, rapid.ID[string]).Draw(t, "tags"),
		Annotations: map[string]string{}, Labels: map[string]string{},
	}
	if d := rapid.SampledFrom(genDepartments).Draw(t, "department"); d != "" {
		e.Annotations["greenroom.io/department"] = d
	}
	if rapid.Bool().Draw(t, "has-tier") {
		e.Annotations["example.com/tier"] = rapid.SampledFrom([]string{"gold", "", "silver"}).Draw(t, "tier")
	}
	if rapid.Bool().Draw(t, "has-env") {
		e.Labels["env"] = rapid.SampledFrom([]string{"prod", "dev"}).Draw(t, "env")
	}
	return e
}

// drawCondition draws a Cedar boolean expression over the resource, the
// principal and literals, of the shapes read policies may use.
func drawCondition(t *rapid.T, depth int) string {
	if depth <= 0 || rapid.IntRange(0, 2).Draw(t, "leaf") == 0 {
		atoms := []func() string{
			func() string {
				return fmt.Sprintf(`resource.kind == %q`, strings.ToLower(rapid.SampledFrom(genKinds).Draw(t, "k")))
			},
			func() string {
				return fmt.Sprintf(`resource.namespace != %q`, rapid.SampledFrom(genNamespaces).Draw(t, "n"))
			},
			func() string { return fmt.Sprintf(`resource.type == %q`, rapid.SampledFrom(genTypes).Draw(t, "t")) },
			func() string {
				return fmt.Sprintf(`resource.lifecycle == %q`, rapid.SampledFrom(genLifecycles).Draw(t, "l"))
			},
			func() string { return fmt.Sprintf(`resource.owner == %q`, rapid.SampledFrom(genOwners).Draw(t, "o")) },
			func() string {
				return fmt.Sprintf(`resource.tags.contains(%q)`, rapid.SampledFrom(genTags).Draw(t, "tag"))
			},
			func() string { return `resource.tags.containsAny(["pci", "public"])` },
			func() string { return `resource.tags.containsAll(["java", "go"])` },
			func() string { return `resource.tags.isEmpty()` },
			func() string { return `resource.annotations has "example.com/tier"` },
			func() string { return `resource.annotations["example.com/tier"] == "gold"` },
			func() string { return `resource.annotations["example.com/tier"] == ""` },
			func() string { return `resource.labels.env != "prod"` },
			func() string { return `resource.name like "e1*"` },
			func() string { return `resource.type like "*"` },
			func() string { return `resource.department == principal.department` },
			func() string { return `resource.department == "finance"` },
			func() string { return `resource.restricted` },
			func() string { return `resource.production` },
			func() string { return `principal.contractor` },
			func() string { return `["website", "library"].contains(resource.type)` },
			func() string { return `principal.ownership.contains(resource.owner)` },
			func() string { return `resource == Entity::"component:default/e1"` },
			func() string { return `resource in [Entity::"api:ops/e2", Entity::"system:payments/e3"]` },
			func() string { return `resource is Entity` },
			func() string { return `resource.integration == ""` },
			func() string { return `resource has lifecycle` },
			func() string { return `context.contractor.allowedNamespaces.contains(resource.namespace)` },
		}
		return atoms[rapid.IntRange(0, len(atoms)-1).Draw(t, "atom")]()
	}
	a, b := drawCondition(t, depth-1), drawCondition(t, depth-1)
	switch rapid.IntRange(0, 3).Draw(t, "op") {
	case 0:
		return "(" + a + " && " + b + ")"
	case 1:
		return "(" + a + " || " + b + ")"
	case 2:
		return "!(" + a + ")"
	}
	return "(if " + a + " then " + b + " else " + drawCondition(t, depth-1) + ")"
}

// drawPolicies draws an administrator's read policies.
func drawPolicies(t *rapid.T) string {
	var b strings.Builder
	for i := range rapid.IntRange(1, 4).Draw(t, "policies") {
		effect := rapid.SampledFrom([]string{"permit", "forbid"}).Draw(t, "effect")
		principal := rapid.SampledFrom([]string{"principal", `principal in Role::"viewer"`, `principal in Role::"auditor"`}).Draw(t, "principal")
		action := rapid.SampledFrom([]string{"action", `action == Action::"read"`, `action in [Action::"read", Action::"update"]`}).Draw(t, "action")
		resource := rapid.SampledFrom([]string{"resource", "resource is Entity"}).Draw(t, "resource")
		clause := rapid.SampledFrom([]string{"when", "unless"}).Draw(t, "clause")
		fmt.Fprintf(&b, "@id(\"p%d\")\n%s (%s, %s, %s)\n%s { %s };\n", i, effect, principal, action, resource, clause, drawCondition(t, 3))
	}
	return b.String()
}

// Property: permission-aware reads. For any entities and any translatable
// read policies, the read filter a principal's policies become selects
// exactly the entities per-entity Cedar evaluation lets them read.
func TestReadFilterAgreesWithCedar(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		policy := Policy{Enabled: true, Contractors: Contractors{
			Permissions: ContractorPermissions{AllowedNamespaces: rapid.SliceOfNDistinct(rapid.SampledFrom(genNamespaces), 0, 2, rapid.ID[string]).Draw(t, "allowed")},
			Boundaries:  AccessBoundaries{RestrictedServices: []string{"component:default/e1", "api:ops/e2"}},
		}}
		text := drawPolicies(t)
		policy.Files = []PolicyFile{{Name: "gen.cedar", Text: []byte(text)}}
		e, err := NewEngine(policy)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		p := &Principal{Kind: KindUser, UserRef: "user:default/u", Contractor: rapid.Bool().Draw(t, "contractor"),
			Roles:         rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"viewer", "auditor", "developer"}), 0, 2, rapid.ID[string]).Draw(t, "roles"),
			OwnershipRefs: []string{"group:default/team-a"},
			Attributes:    map[string]string{"department": rapid.SampledFrom(genDepartments).Draw(t, "pdept")}}
		f, all, none, err := e.ReadFilter(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rapid.IntRange(1, 8).Draw(t, "entities") {
			ent := drawEntity(t, i)
			body := ent.body()
			res, err := EntityResource(body)
			if err != nil {
				t.Fatal(err)
			}
			want := e.Decide(Request{Principal: p, Action: ActionRead, Resource: res})
			if len(want.PolicyErrors) > 0 && strings.Contains(strings.Join(want.PolicyErrors, " "), "type") {
				t.Logf("policy errors: %v", want.PolicyErrors)
			}
			rows, err := query.BuildSearchJSON(body, "")
			if err != nil {
				t.Fatal(err)
			}
			got := all || (!none && f.Match(rows))
			if got != want.Allowed {
				fj, _ := json.Marshal(f)
				t.Fatalf("entity %s: filter says %v, Cedar %v (%s)\npolicies:\n%s\nfilter (all=%v none=%v): %s\nentity: %s",
					ent.ref(), got, want.Allowed, want.Reason, text, all, none, fj, body)
			}
		}
	})
}

func TestReadPolicyRefused(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown attribute", `permit (principal, action, resource) when { resource.ownr == "x" };`, `no attribute "ownr"`},
		{"two attributes", `forbid (principal, action == Action::"read", resource) when { resource.kind == resource.type };`, "two resource attributes"},
		{"infix pattern", `forbid (principal, action, resource) when { resource.name like "*-core" };`, "prefix patterns"},
		{"capitals", `forbid (principal, action, resource) when { resource.type == "Service" };`, `write "service"`},
		{"annotation key case", `forbid (principal, action, resource) when { resource.annotations has "Example.com/x" };`, "lowercase"},
		{"ordering", `forbid (principal, action, resource) when { resource.name < "x" };`, "does not translate"},
		{"tags equality", `forbid (principal, action, resource) when { resource.tags == ["a"] };`, "not =="},
		{"set containsAll tags", `forbid (principal, action, resource) when { ["a"].containsAll(resource.tags) };`, "containsAll"},
		{"short entity uid", `forbid (principal, action, resource) when { resource in [Entity::"svc"] };`, "not a full entity ref"},
		{"entity uid capitals", `forbid (principal, action, resource) when { resource == Entity::"component:default/Svc" };`, "lowercase"},
		{"attribute as condition", `forbid (principal, action, resource) when { resource.kind };`, "not a boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := examplePolicy()
			p.Files = []PolicyFile{{Name: "admin.cedar", Text: []byte("// read policies\n\n@id(\"bad\")\n" + tc.text)}}
			_, err := NewEngine(p)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, s := range []string{"admin.cedar line 3", "bad", tc.want} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	// Policies on other actions, or on route-level resources, are not
	// read policies: they need not translate.
	p := examplePolicy()
	p.Files = []PolicyFile{{Name: "ok.cedar", Text: []byte(`
permit (principal, action == Action::"update", resource) when { resource.name < "x" };
forbid (principal, action, resource == Resource::"audit") when { resource.name like "*x*" };`)}}
	if _, err := NewEngine(p); err != nil {
		t.Fatal(err)
	}
}

func TestReadFilterShapes(t *testing.T) {
	viewer := &Principal{Kind: KindUser, UserRef: "user:default/v", Roles: []string{RoleViewer}, Attributes: map[string]string{"department": "Finance"}}
	for _, tc := range []struct {
		name, text string
		all, none  bool
		want       string // the filter, as JSON
	}{
		{name: "defaults: a viewer reads everything", all: true},
		{name: "forbid by tag", text: `forbid (principal, action == Action::"read", resource) when { resource.tags.contains("pci") };`,
			want: `{"not":{"key":"metadata.tags","values":["pci"]}}`},
		{name: "principal attribute folded in", text: `forbid (principal, action, resource is Entity) unless { resource.department == principal.department };`,
			want: `{"key":"metadata.annotations.greenroom.io/department","values":["finance"]}`},
		{name: "principal scope not matching", text: `forbid (principal in Role::"auditor", action, resource) when { resource.kind == "user" };`, all: true},
		{name: "forbid everything", text: `forbid (principal, action in Action::"read", resource);`, none: true},
		{name: "prefix", text: `forbid (principal, action, resource) when { resource.name like "tmp-*" };`,
			want: `{"not":{"key":"metadata.name","hasPrefix":"tmp-"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := examplePolicy()
			if tc.text != "" {
				p.Files = []PolicyFile{{Name: "admin.cedar", Text: []byte(tc.text)}}
			}
			e, err := NewEngine(p)
			if err != nil {
				t.Fatal(err)
			}
			f, all, none, err := e.ReadFilter(viewer)
			if err != nil {
				t.Fatal(err)
			}
			if all != tc.all || none != tc.none {
				t.Fatalf("all=%v none=%v, want %v %v", all, none, tc.all, tc.none)
			}
			if tc.want != "" {
				if b, _ := json.Marshal(f); string(b) != tc.want {
					t.Fatalf("filter %s, want %s", b, tc.want)
				}
			}
		})
	}
}

// The example in docs/access.md loads, and does what it says.
func TestShippedReadPolicyExample(t *testing.T) {
	text, err := os.ReadFile("../../docs/policies/reads.cedar")
	if err != nil {
		t.Fatal(err)
	}
	p := examplePolicy()
	p.Bindings = append(p.Bindings, Binding{Role: "partner", Members: []string{"group:default/partners"}})
	p.Files = []PolicyFile{{Name: "reads.cedar", Text: text}}
	e, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	pci := propEntity{Kind: "Component", NS: "default", Name: "vault", Owner: "group:default/team-a", Tags: []string{"pci"}}
	public := propEntity{Kind: "Component", NS: "default", Name: "docs", Tags: []string{"public"}}
	fin := propEntity{Kind: "Component", NS: "default", Name: "ledger", Lifecycle: "production", Annotations: map[string]string{"greenroom.io/department": "Finance"}}
	for _, tc := range []struct {
		name string
		p    *Principal
		ent  propEntity
		want bool
	}{
		{"pci, another team", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{RoleViewer}}, pci, false},
		{"pci, owner", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{RoleViewer}, OwnershipRefs: []string{"group:default/team-a"}}, pci, true},
		{"pci, admin", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{RolePlatformAdmin}}, pci, true},
		{"finance production, eng", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{RoleViewer}, Attributes: map[string]string{"department": "eng"}}, fin, false},
		{"finance production, finance", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{RoleViewer}, Attributes: map[string]string{"department": "Finance"}}, fin, true},
		{"partner, public", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{"partner"}}, public, true},
		{"partner, untagged", &Principal{Kind: KindUser, UserRef: "user:default/x", Roles: []string{"partner"}}, fin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, all, none, err := e.ReadFilter(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := query.BuildSearchJSON(tc.ent.body(), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := all || (!none && f.Match(rows)); got != tc.want {
				t.Errorf("visible = %v, want %v", got, tc.want)
			}
		})
	}
}
