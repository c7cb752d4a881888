package catalogtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Bounds on what Generate accepts.
const (
	MinEntities = 20
	MaxEntities = 10_000_000
)

// Entity is one catalog-info.yaml document.
type Entity struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
}

// Metadata is the part of an entity's metadata the generator fills.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Links       []Link            `json:"links,omitempty"`
}

// Link is one entry of metadata.links.
type Link struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// ComponentSpec is the spec of a Component.
type ComponentSpec struct {
	Type         string   `json:"type"`
	Lifecycle    string   `json:"lifecycle"`
	Owner        string   `json:"owner"`
	System       string   `json:"system,omitempty"`
	ProvidesAPIs []string `json:"providesApis,omitempty"`
	ConsumesAPIs []string `json:"consumesApis,omitempty"`
	DependsOn    []string `json:"dependsOn,omitempty"`
}

// APISpec is the spec of an API.
type APISpec struct {
	Type       string `json:"type"`
	Lifecycle  string `json:"lifecycle"`
	Owner      string `json:"owner"`
	System     string `json:"system,omitempty"`
	Definition string `json:"definition"`
}

// ResourceSpec is the spec of a Resource.
type ResourceSpec struct {
	Type      string   `json:"type"`
	Owner     string   `json:"owner"`
	System    string   `json:"system,omitempty"`
	DependsOn []string `json:"dependsOn,omitempty"`
}

// SystemSpec is the spec of a System.
type SystemSpec struct {
	Owner  string `json:"owner"`
	Domain string `json:"domain,omitempty"`
}

// DomainSpec is the spec of a Domain.
type DomainSpec struct {
	Owner string `json:"owner"`
}

// GroupSpec is the spec of a Group. Children is always written, as
// Backstage's schema requires, even when empty.
type GroupSpec struct {
	Type     string   `json:"type"`
	Profile  Profile  `json:"profile"`
	Parent   string   `json:"parent,omitempty"`
	Children []string `json:"children"`
}

// UserSpec is the spec of a User.
type UserSpec struct {
	Profile  Profile  `json:"profile"`
	MemberOf []string `json:"memberOf"`
}

// Profile is a group's or user's profile.
type Profile struct {
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
}

// LocationSpec is the spec of a Location.
type LocationSpec struct {
	Type    string   `json:"type,omitempty"`
	Targets []string `json:"targets"`
}

// Namespace returns the entity's namespace, "default" when unset.
func (e Entity) Namespace() string {
	if e.Metadata.Namespace == "" {
		return "default"
	}
	return e.Metadata.Namespace
}

// Ref returns the entity's canonical reference, kind:namespace/name with
// the kind lowercased, as Backstage's stringifyEntityRef.
func (e Entity) Ref() string {
	return strings.ToLower(e.Kind) + ":" + e.Namespace() + "/" + e.Metadata.Name
}

// Counts is how many entities of each kind a catalog of a size holds.
type Counts struct {
	Groups, Users, Domains, Systems, APIs, Resources, Components int
}

// Total is the number of entities.
func (c Counts) Total() int {
	return c.Groups + c.Users + c.Domains + c.Systems + c.APIs + c.Resources + c.Components
}

// CountsFor returns the mix of a catalog of n entities: about one group per
// 100 entities, a user per 5, a domain per 500, a system per 50, 15% APIs,
// 10% resources, and components for the rest (about half).
func CountsFor(n int) Counts {
	c := Counts{
		Groups:    max(1, n/100),
		Users:     n / 5,
		Domains:   max(1, n/500),
		Systems:   max(1, n/50),
		APIs:      n * 3 / 20,
		Resources: n / 10,
	}
	c.Components = n - c.Groups - c.Users - c.Domains - c.Systems - c.APIs - c.Resources
	return c
}

// Kinds lists the kinds Generate produces, as Backstage spells them.
var Kinds = []string{"Group", "User", "Domain", "System", "API", "Resource", "Component"}

var words = strings.Fields(`payment order cart checkout search catalog user account billing invoice
	ledger shipping inventory pricing promo review rating media image video stream notify email sms
	auth token session profile admin report metric audit event queue cache gateway proxy edge config
	feature flag experiment recommend ranking fraud risk kyc loyalty wallet`)

// Words returns the vocabulary names, titles and descriptions are made of,
// for full-text queries that match.
func Words() []string { return slices.Clone(words) }

var tagWords = strings.Fields(`java go python typescript kotlin rust grpc rest graphql kafka postgres
	redis s3 k8s lambda terraform critical pci gdpr internal public beta legacy frontend backend data ml
	mobile ios android web batch streaming tier1 tier2 tier3 oncall`)

var (
	givenNames = strings.Fields(`ada alan barbara claude donald edsger frances grace guido hedy ken
		linus margaret niklaus radia rob sophie tim vint yukihiro`)
	surnames = strings.Fields(`lovelace turing liskov shannon knuth dijkstra allen hopper rossum lamarr
		thompson torvalds hamilton wirth perlman pike wilson berners cerf matsumoto`)
	otherNamespaces = []string{"payments", "platform", "data", "mobile", "security"}
)

// gen holds the state of one generation.
type gen struct {
	r     *rand.Rand
	c     Counts
	out   []Entity
	names map[string][]string // kind → names by index
	ns    map[string][]string // kind → namespaces by index
}

// Generate returns a catalog of n entities (MinEntities ≤ n ≤ MaxEntities)
// in the mix of CountsFor, ordered by kind: groups, users, domains,
// systems, APIs, resources, components. The same n and seed give the same
// catalog.
func Generate(n int, seed uint64) ([]Entity, error) {
	if n < MinEntities || n > MaxEntities {
		return nil, fmt.Errorf("catalogtest: %d entities asked; generate between %d and %d", n, MinEntities, MaxEntities)
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, uint64(n))), c: CountsFor(n), names: map[string][]string{}, ns: map[string][]string{}}
	g.out = make([]Entity, 0, n)
	g.plan()
	g.groups()
	g.users()
	g.domains()
	g.systems()
	g.apis()
	g.resources()
	g.components()
	return g.out, nil
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// plan names every entity first, so that references can point forwards.
func (g *gen) plan() {
	name := func(kind string, count int, mk func(i int) string, spread bool) {
		names, nss := make([]string, count), make([]string, count)
		for i := range count {
			names[i], nss[i] = mk(i), "default"
			if spread && g.r.IntN(10) == 0 {
				nss[i] = g.pick(otherNamespaces)
			}
		}
		g.names[kind], g.ns[kind] = names, nss
	}
	itoa := strconv.Itoa
	name("Group", g.c.Groups, func(i int) string { return "team-" + itoa(i) }, false)
	name("User", g.c.Users, func(i int) string { return g.pick(givenNames) + "-" + g.pick(surnames) + "-" + itoa(i) }, false)
	name("Domain", g.c.Domains, func(i int) string { return g.pick(words) + "-domain-" + itoa(i) }, false)
	name("System", g.c.Systems, func(i int) string { return g.pick(words) + "-system-" + itoa(i) }, false)
	name("API", g.c.APIs, func(i int) string { return g.pick(words) + "-api-" + itoa(i) }, true)
	resTypes := []string{"db", "bucket", "queue", "cache"}
	name("Resource", g.c.Resources, func(i int) string { return g.pick(words) + "-" + g.pick(resTypes) + "-" + itoa(i) }, true)
	name("Component", g.c.Components, func(i int) string { return g.pick(words) + "-" + g.pick(words) + "-" + itoa(i) }, true)
}

// ref writes a reference to entity i of kind from an entity in namespace
// from, as people write them: the short form within a namespace (with the
// kind prefix unless the field implies it), the full one across.
func (g *gen) ref(from, kind string, i int, impliedKind bool) string {
	name, ns := g.names[kind][i], g.ns[kind][i]
	prefix := strings.ToLower(kind) + ":"
	switch {
	case ns != from:
		return prefix + ns + "/" + name
	case impliedKind:
		return name
	}
	return prefix + name
}

// owner always names the group in full: the form that spec.owner filters
// match.
func (g *gen) owner() string { return "group:default/" + g.names["Group"][g.r.IntN(g.c.Groups)] }

func (g *gen) add(kind string, i int, spec Spec, title, description string) {
	name, ns := g.names[kind][i], g.ns[kind][i]
	m := Metadata{Name: name, Title: title, Description: description}
	if ns != "default" {
		m.Namespace = ns
	}
	g.out = append(g.out, Entity{APIVersion: "backstage.io/v1alpha1", Kind: kind, Metadata: m, Spec: spec})
}

// decorate adds what software entities carry in real catalogs: tags,
// annotations, labels and links.
func (g *gen) decorate() {
	e := &g.out[len(g.out)-1]
	seen := map[string]bool{}
	for range g.r.IntN(5) {
		if t := g.pick(tagWords); !seen[t] {
			seen[t] = true
			e.Metadata.Tags = append(e.Metadata.Tags, t)
		}
	}
	repo := "acme/" + e.Metadata.Name
	e.Metadata.Annotations = map[string]string{"github.com/project-slug": repo}
	if g.r.IntN(2) == 0 {
		e.Metadata.Annotations["backstage.io/techdocs-ref"] = "dir:."
	}
	if g.r.IntN(5) == 0 {
		e.Metadata.Annotations["pagerduty.com/service-id"] = fmt.Sprintf("P%06X", g.r.IntN(1<<24))
	}
	if g.r.IntN(2) == 0 {
		e.Metadata.Labels = map[string]string{"tier": strconv.Itoa(1 + g.r.IntN(3))}
	}
	if g.r.IntN(3) == 0 {
		e.Metadata.Links = []Link{{URL: "https://dash.example.com/" + e.Metadata.Name, Title: "Dashboard"}}
	}
}

func (g *gen) describe(kind, name string) (title, description string) {
	parts := strings.Split(name, "-")
	for i, w := range parts {
		parts[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	title = strings.Join(parts, " ")
	description = fmt.Sprintf("The %s %s %s of the %s team.", g.pick(words), g.pick(words), strings.ToLower(kind), g.pick(words))
	if g.r.IntN(20) == 0 {
		description += strings.Repeat(" It handles a lot of traffic and has a long history.", 6)
	}
	return title, description
}

func (g *gen) groups() {
	n := g.c.Groups
	parent := make([]int, n)
	children := make([][]string, n)
	for i := range n {
		parent[i] = -1
		if i > 0 {
			parent[i] = g.r.IntN(i)
			children[parent[i]] = append(children[parent[i]], g.names["Group"][i])
		}
	}
	for i := range n {
		spec := GroupSpec{Type: "team", Children: children[i]}
		if spec.Children == nil {
			spec.Children = []string{}
		}
		if len(children[i]) > 0 {
			spec.Type = "department"
		}
		name := g.names["Group"][i]
		spec.Profile = Profile{DisplayName: "Team " + strconv.Itoa(i), Email: name + "@acme.example"}
		if parent[i] >= 0 {
			spec.Parent = g.names["Group"][parent[i]]
		}
		g.add("Group", i, spec, "", fmt.Sprintf("Team %d builds %s and %s.", i, g.pick(words), g.pick(words)))
	}
}

func (g *gen) users() {
	for i := range g.c.Users {
		name := g.names["User"][i]
		parts := strings.Split(name, "-")
		display := strings.ToUpper(parts[0][:1]) + parts[0][1:] + " " + strings.ToUpper(parts[1][:1]) + parts[1][1:]
		member := []string{g.names["Group"][g.r.IntN(g.c.Groups)]}
		if g.r.IntN(4) == 0 {
			if other := g.names["Group"][g.r.IntN(g.c.Groups)]; other != member[0] {
				member = append(member, other)
			}
		}
		spec := UserSpec{Profile: Profile{DisplayName: display, Email: parts[0] + "." + parts[1] + "." + parts[2] + "@acme.example"}, MemberOf: member}
		g.add("User", i, spec, "", "")
	}
}

func (g *gen) domains() {
	for i := range g.c.Domains {
		title, desc := g.describe("Domain", g.names["Domain"][i])
		g.add("Domain", i, DomainSpec{Owner: g.owner()}, title, desc)
		g.decorate()
	}
}

func (g *gen) systems() {
	for i := range g.c.Systems {
		title, desc := g.describe("System", g.names["System"][i])
		spec := SystemSpec{Owner: g.owner(), Domain: g.ref("default", "Domain", g.r.IntN(g.c.Domains), true)}
		g.add("System", i, spec, title, desc)
		g.decorate()
	}
}

func (g *gen) system(from string) string {
	return g.ref(from, "System", g.r.IntN(g.c.Systems), true)
}

var apiTypes = []string{"openapi", "openapi", "openapi", "grpc", "graphql", "asyncapi"}

func (g *gen) apis() {
	for i := range g.c.APIs {
		name, ns := g.names["API"][i], g.ns["API"][i]
		typ := g.pick(apiTypes)
		title, desc := g.describe("API", name)
		spec := APISpec{Type: typ, Lifecycle: g.lifecycle(), Owner: g.owner(), System: g.system(ns), Definition: definition(typ, name)}
		g.add("API", i, spec, title, desc)
		g.decorate()
	}
}

// definition is a small API definition of the type, as catalog files
// inline them.
func definition(typ, name string) string {
	switch typ {
	case "grpc":
		return fmt.Sprintf("syntax = \"proto3\";\npackage acme.%s;\n\nservice Service {\n  rpc Get (GetRequest) returns (GetResponse);\n}\n\nmessage GetRequest { string id = 1; }\nmessage GetResponse { string id = 1; string body = 2; }\n", strings.ReplaceAll(name, "-", "_"))
	case "graphql":
		return "type Query {\n  item(id: ID!): Item\n  items(first: Int, after: String): [Item!]!\n}\n\ntype Item {\n  id: ID!\n  name: String!\n}\n"
	case "asyncapi":
		return fmt.Sprintf("asyncapi: 2.6.0\ninfo:\n  title: %s\n  version: 1.0.0\nchannels:\n  %s/events:\n    subscribe:\n      message:\n        payload:\n          type: object\n", name, name)
	}
	return fmt.Sprintf("openapi: 3.0.0\ninfo:\n  title: %s\n  version: 1.0.0\npaths:\n  /items/{id}:\n    get:\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema:\n            type: string\n      responses:\n        \"200\":\n          description: The item.\n", name)
}

func (g *gen) lifecycle() string {
	return g.pick([]string{"production", "production", "production", "experimental", "deprecated"})
}

func (g *gen) resources() {
	types := map[string]string{"db": "database", "bucket": "s3-bucket", "queue": "queue", "cache": "cache"}
	for i := range g.c.Resources {
		name, ns := g.names["Resource"][i], g.ns["Resource"][i]
		parts := strings.Split(name, "-")
		spec := ResourceSpec{Type: types[parts[len(parts)-2]], Owner: g.owner(), System: g.system(ns)}
		if i > 0 && g.r.IntN(10) == 0 {
			spec.DependsOn = []string{g.ref(ns, "Resource", g.r.IntN(i), false)}
		}
		title, desc := g.describe("Resource", name)
		g.add("Resource", i, spec, title, desc)
		g.decorate()
	}
}

func (g *gen) components() {
	for i := range g.c.Components {
		name, ns := g.names["Component"][i], g.ns["Component"][i]
		spec := ComponentSpec{
			Type:      g.pick([]string{"service", "service", "service", "website", "library"}),
			Lifecycle: g.lifecycle(),
			Owner:     g.owner(),
			System:    g.system(ns),
		}
		distinct := func(list []string, v string) []string {
			if slices.Contains(list, v) {
				return list
			}
			return append(list, v)
		}
		if g.c.APIs > 0 && g.r.IntN(5) < 2 {
			spec.ProvidesAPIs = []string{g.ref(ns, "API", g.r.IntN(g.c.APIs), true)}
		}
		for range g.r.IntN(4) {
			if g.c.APIs > 0 {
				spec.ConsumesAPIs = distinct(spec.ConsumesAPIs, g.ref(ns, "API", g.r.IntN(g.c.APIs), true))
			}
		}
		for range g.r.IntN(3) {
			if g.c.Resources > 0 {
				spec.DependsOn = distinct(spec.DependsOn, g.ref(ns, "Resource", g.r.IntN(g.c.Resources), false))
			}
		}
		if i > 0 && g.r.IntN(5) == 0 {
			spec.DependsOn = distinct(spec.DependsOn, g.ref(ns, "Component", g.r.IntN(i), false))
		}
		title, desc := g.describe("Component", name)
		g.add("Component", i, spec, title, desc)
		g.decorate()
	}
}
