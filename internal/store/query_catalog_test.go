package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"greenroom/internal/store"
)

// catalogVersion names the generator's output; change it when genCatalog
// changes so cached benchmark databases are rebuilt.
const catalogVersion = "v1"

// words make names, titles and descriptions.
var words = strings.Fields(`payment order cart checkout search catalog user account billing invoice
	ledger shipping inventory pricing promo review rating media image video stream notify email sms
	auth token session profile admin report metric audit event queue cache gateway proxy edge config
	feature flag experiment recommend ranking fraud risk kyc loyalty wallet`)

var tagWords = strings.Fields(`java go python typescript kotlin rust grpc rest graphql kafka postgres
	redis s3 k8s lambda terraform critical pci gdpr internal public beta legacy frontend backend data ml
	mobile ios android web batch streaming tier1 tier2 tier3 oncall`)

// genCatalog returns n entities shaped like a large Backstage catalog:
// about half components, the rest APIs, resources, users, groups, systems
// and domains, with owners, systems, tags, annotations, links and
// relations. It is deterministic for a given n.
func genCatalog(n int) []store.EntityRecord {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	groups := max(1, n/100)
	systems := max(1, n/50)
	domains := max(1, n/500)
	users := n / 5
	apis := n * 3 / 20
	resources := n / 10
	components := n - groups - systems - domains - users - apis - resources
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	word := func() string { return pick(words) }
	ns := func() string {
		if r.IntN(10) == 0 {
			return pick([]string{"payments", "platform", "data", "mobile", "security"})
		}
		return "default"
	}
	ref := func(kind string, i int, prefix string) string {
		return fmt.Sprintf("%s:default/%s-%d", kind, prefix, i)
	}
	groupRef := func() string { return ref("group", r.IntN(groups), "team") }
	systemRef := func() string { return ref("system", r.IntN(systems), "system") }

	var out []store.EntityRecord
	add := func(kind, name, namespace string, spec map[string]any, relations []map[string]any) {
		meta := map[string]any{
			"name":        name,
			"namespace":   namespace,
			"title":       strings.ToUpper(name[:1]) + name[1:],
			"description": fmt.Sprintf("The %s %s %s for the %s team.", word(), word(), strings.ToLower(kind), word()),
		}
		if r.IntN(20) == 0 {
			meta["description"] = strings.Repeat("A very long description that goes on. ", 8)
		}
		var tags []string
		for range r.IntN(5) {
			tags = append(tags, pick(tagWords))
		}
		if tags != nil {
			meta["tags"] = tags
		}
		repo := fmt.Sprintf("acme/%s", name)
		ann := map[string]any{
			"backstage.io/managed-by-location":        "url:https://github.com/" + repo + "/blob/main/catalog-info.yaml",
			"backstage.io/managed-by-origin-location": "url:https://github.com/" + repo + "/blob/main/catalog-info.yaml",
			"github.com/project-slug":                 repo,
		}
		if r.IntN(2) == 0 {
			ann["backstage.io/techdocs-ref"] = "dir:."
		}
		meta["annotations"] = ann
		if r.IntN(2) == 0 {
			meta["labels"] = map[string]any{"tier": fmt.Sprint(1 + r.IntN(3))}
		}
		if r.IntN(3) == 0 {
			meta["links"] = []any{map[string]any{"url": "https://dash.example.com/" + name, "title": "Dashboard"}}
		}
		ent := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}
		if relations != nil {
			ent["relations"] = relations
		}
		body, err := json.Marshal(ent)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		out = append(out, store.EntityRecord{
			Ref:  strings.ToLower(kind) + ":" + namespace + "/" + name,
			Kind: kind, Namespace: namespace, Name: name,
			Hash: hex.EncodeToString(sum[:16]), Body: body,
		})
	}
	rel := func(typ, target string) map[string]any { return map[string]any{"type": typ, "targetRef": target} }

	for i := range domains {
		owner := groupRef()
		add("Domain", fmt.Sprintf("domain-%d", i), "default", map[string]any{"owner": owner}, []map[string]any{rel("ownedBy", owner)})
	}
	for i := range systems {
		owner, domain := groupRef(), ref("domain", r.IntN(domains), "domain")
		add("System", fmt.Sprintf("system-%d", i), "default", map[string]any{"owner": owner, "domain": domain},
			[]map[string]any{rel("ownedBy", owner), rel("partOf", domain)})
	}
	for i := range groups {
		spec := map[string]any{"type": pick([]string{"team", "team", "team", "department"}), "children": []any{}}
		var rels []map[string]any
		if i > 0 {
			parent := ref("group", r.IntN(i), "team")
			spec["parent"] = parent
			rels = append(rels, rel("childOf", parent))
		}
		add("Group", fmt.Sprintf("team-%d", i), "default", spec, rels)
	}
	for i := range users {
		group := groupRef()
		name := fmt.Sprintf("user-%d", i)
		add("User", name, "default", map[string]any{
			"profile":  map[string]any{"displayName": "User " + fmt.Sprint(i), "email": name + "@example.com"},
			"memberOf": []any{group},
		}, []map[string]any{rel("memberOf", group)})
	}
	for i := range apis {
		owner, system := groupRef(), systemRef()
		add("API", fmt.Sprintf("%s-api-%d", word(), i), ns(), map[string]any{
			"type":       pick([]string{"openapi", "openapi", "grpc", "graphql", "asyncapi"}),
			"lifecycle":  pick([]string{"production", "production", "experimental", "deprecated"}),
			"owner":      owner,
			"system":     system,
			"definition": strings.Repeat("openapi: 3.0.0\n", 20),
		}, []map[string]any{rel("ownedBy", owner), rel("partOf", system)})
	}
	for i := range resources {
		owner, system := groupRef(), systemRef()
		add("Resource", fmt.Sprintf("%s-db-%d", word(), i), ns(), map[string]any{
			"type": pick([]string{"database", "s3-bucket", "queue", "cache"}), "owner": owner, "system": system,
		}, []map[string]any{rel("ownedBy", owner), rel("partOf", system)})
	}
	for i := range components {
		owner, system := groupRef(), systemRef()
		spec := map[string]any{
			"type":      pick([]string{"service", "service", "service", "website", "library"}),
			"lifecycle": pick([]string{"production", "production", "production", "experimental", "deprecated"}),
			"owner":     owner,
			"system":    system,
		}
		rels := []map[string]any{rel("ownedBy", owner), rel("partOf", system)}
		var deps, provides []any
		for range r.IntN(3) {
			d := ref("resource", r.IntN(max(1, resources)), "x")
			deps = append(deps, d)
			rels = append(rels, rel("dependsOn", d))
		}
		if r.IntN(2) == 0 && apis > 0 {
			a := fmt.Sprintf("api:default/api-%d", r.IntN(apis))
			provides = append(provides, a)
			rels = append(rels, rel("providesApi", a))
		}
		if deps != nil {
			spec["dependsOn"] = deps
		}
		if provides != nil {
			spec["providesApis"] = provides
		}
		add("Component", fmt.Sprintf("%s-%s-%d", word(), word(), i), ns(), spec, rels)
	}
	return out
}
