package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"pgregory.net/rapid"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

// attrEntity is a generated component or group with the attributes read
// policies look at.
type attrEntity struct {
	propEntity
	typ, lifecycle string
	tags           []string
	annotations    map[string]string
	labels         map[string]string
}

func (e attrEntity) yaml() string {
	var meta strings.Builder
	fmt.Fprintf(&meta, "{name: %s, namespace: %s", e.name, e.ns)
	if len(e.tags) > 0 {
		fmt.Fprintf(&meta, ", tags: [%s]", strings.Join(e.tags, ", "))
	}
	for _, m := range []struct {
		key  string
		vals map[string]string
	}{{"annotations", e.annotations}, {"labels", e.labels}} {
		if len(m.vals) == 0 {
			continue
		}
		var kv []string
		for k, v := range m.vals {
			kv = append(kv, fmt.Sprintf("'%s': '%s'", k, v))
		}
		slices.Sort(kv)
		fmt.Fprintf(&meta, ", %s: {%s}", m.key, strings.Join(kv, ", "))
	}
	meta.WriteString("}")
	if e.kind == "Group" {
		return fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: %s\nspec: {type: team, children: []}", meta.String())
	}
	deps := "[]"
	if len(e.dependsOn) > 0 {
		deps = "['" + strings.Join(e.dependsOn, "', '") + "']"
	}
	return fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: %s\nspec: {type: %s, lifecycle: %s, owner: '%s', dependsOn: %s}",
		meta.String(), e.typ, e.lifecycle, e.owner, deps)
}

func genAttrCatalog(t *rapid.T) []attrEntity {
	var out []attrEntity
	for _, p := range genCatalog(t) {
		e := attrEntity{propEntity: p, typ: rapid.SampledFrom([]string{"service", "website", "library"}).Draw(t, "type"),
			lifecycle:   rapid.SampledFrom([]string{"production", "experimental"}).Draw(t, "lifecycle"),
			tags:        rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"pci", "public", "java"}), 0, 2, rapid.ID[string]).Draw(t, "tags"),
			annotations: map[string]string{}, labels: map[string]string{}}
		if d := rapid.SampledFrom([]string{"", "finance", "eng"}).Draw(t, "department"); d != "" {
			e.annotations["greenroom.io/department"] = d
		}
		if rapid.Bool().Draw(t, "tiered") {
			e.annotations["example.com/tier"] = rapid.SampledFrom([]string{"gold", "silver"}).Draw(t, "tier")
		}
		if rapid.Bool().Draw(t, "labelled") {
			e.labels["env"] = rapid.SampledFrom([]string{"prod", "dev"}).Draw(t, "env")
		}
		out = append(out, e)
	}
	return out
}

// genReadCondition draws a read policy condition on entity attributes.
func genReadCondition(t *rapid.T, depth int) string {
	if depth <= 0 || rapid.IntRange(0, 2).Draw(t, "leaf") == 0 {
		return rapid.SampledFrom([]string{
			`resource.kind == "group"`,
			`resource.namespace == "secret"`,
			`resource.type == "library"`,
			`resource.lifecycle == "production"`,
			`resource.owner == "group:default/g0"`,
			`principal.ownership.contains(resource.owner)`,
			`resource.tags.contains("pci")`,
			`resource.tags.containsAny(["public", "java"])`,
			`resource.tags.isEmpty()`,
			`resource.annotations has "example.com/tier"`,
			`resource.annotations["example.com/tier"] == "gold"`,
			`resource.labels["env"] != "prod"`,
			`resource.name like "a*"`,
			`resource.department == principal.department`,
			`resource.production`,
			`resource in [Entity::"component:default/alpha", Entity::"group:team-x/g1"]`,
			`["website", "library"].contains(resource.type)`,
		}).Draw(t, "atom")
	}
	a, b := genReadCondition(t, depth-1), genReadCondition(t, depth-1)
	switch rapid.IntRange(0, 2).Draw(t, "op") {
	case 0:
		return "(" + a + " && " + b + ")"
	case 1:
		return "(" + a + " || " + b + ")"
	}
	return "!(" + a + ")"
}

// Property: permission-aware reads. For any catalog and any read policies
// on entity attributes (permits and forbids, on the resource and the
// principal), every catalog read endpoint (list, by-query walked with
// cursors and its total, facets, by-refs, by-name, by-uid, ancestry)
// returns exactly the entities per-entity Cedar evaluation lets the
// caller read, and no visible entity names a hidden one.
func TestReadPoliciesFilterEveryReadPath(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		ents := genAttrCatalog(rt)
		var text strings.Builder
		for i := range rapid.IntRange(1, 3).Draw(rt, "policies") {
			effect := rapid.SampledFrom([]string{"permit", "forbid"}).Draw(rt, "effect")
			fmt.Fprintf(&text, "@id(\"gen%d\")\n%s (principal, action == Action::\"read\", resource is Entity) when { %s };\n", i, effect, genReadCondition(rt, 2))
		}
		policy := access.Policy{Enabled: true, Files: []access.PolicyFile{{Name: "gen.cedar", Text: []byte(text.String())}}}
		engine, err := access.NewEngine(policy)
		if err != nil {
			rt.Fatalf("%v\n%s", err, text.String())
		}
		role := rapid.SampledFrom([]string{access.RoleViewer, "none"}).Draw(rt, "role")
		caller := &access.Principal{Kind: access.KindUser, UserRef: "user:default/u", Roles: []string{role},
			OwnershipRefs: []string{"user:default/u", "group:default/g0"},
			Attributes:    map[string]string{"department": rapid.SampledFrom([]string{"finance", "eng"}).Draw(rt, "pdept")}}

		var docs []string
		for _, e := range ents {
			docs = append(docs, e.yaml())
		}
		st := storetest.SQLite(t)
		fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.Join(docs, "\n---\n"))}}
		svc, err := catalog.NewService(st, []catalog.Source{{Name: "test", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
		if err != nil {
			rt.Fatal(err)
		}
		if err := svc.Refresh(t.Context()); err != nil {
			rt.Fatal(err)
		}
		if p := svc.Problems(); len(p) > 0 {
			rt.Fatalf("fixture problems: %v", p)
		}
		// The truth: Cedar on each stored entity (read unscoped).
		all, err := svc.Entities(t.Context(), catalog.Query{})
		if err != nil {
			rt.Fatal(err)
		}
		if len(all) != len(ents) {
			rt.Fatalf("stored %d of %d entities", len(all), len(ents))
		}
		catalogRead := engine.Decide(access.Request{Principal: caller, Action: access.ActionRead, Resource: access.Resource{Type: "catalog"}}).Allowed
		allowed, uids := map[string]bool{}, map[string]string{}
		var want, hidden []string
		for _, b := range all {
			res, err := access.EntityResource(b)
			if err != nil {
				rt.Fatal(err)
			}
			var e propEnt
			_ = json.Unmarshal(b, &e)
			uids[res.Ref] = e.Metadata.UID
			if catalogRead && engine.Decide(access.Request{Principal: caller, Action: access.ActionRead, Resource: res}).Allowed {
				allowed[res.Ref] = true
				want = append(want, res.Ref)
			} else {
				hidden = append(hidden, res.Ref)
			}
		}
		slices.Sort(want)

		authz, err := access.NewAuthorizer(policy, nil, nil)
		if err != nil {
			rt.Fatal(err)
		}
		authz.SetEntities(st)
		svc.SetReadFilter(authz.ReadScope)
		mux := http.NewServeMux()
		New(svc, slog.New(slog.DiscardHandler)).Routes(mux)
		get := func(method, target, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, target, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req = req.WithContext(access.NewContext(req.Context(), caller))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			asked := strings.ToLower(target + " " + body)
			for _, h := range hidden {
				named := strings.Contains(asked, h) || strings.Contains(asked, strings.Replace(h, ":", "/", 1))
				if !named && strings.Contains(strings.ToLower(rec.Body.String()), h) {
					rt.Fatalf("%s %s reveals %s: %s\npolicies:\n%s", method, target, h, rec.Body, text.String())
				}
			}
			return rec
		}
		refsOf := func(body []byte) []string {
			var items []propEnt
			if err := json.Unmarshal(body, &items); err != nil {
				rt.Fatalf("decode %s: %v", body, err)
			}
			var out []string
			for _, e := range items {
				out = append(out, strings.ToLower(e.Kind)+":"+e.Metadata.Namespace+"/"+e.Metadata.Name)
			}
			slices.Sort(out)
			return out
		}
		fail := func(format string, args ...any) {
			rt.Fatalf(format+"\npolicies:\n%s", append(args, text.String())...)
		}

		if got := refsOf(get("GET", "/api/catalog/entities", "").Body.Bytes()); !slices.Equal(got, want) {
			fail("list = %v, want %v", got, want)
		}
		var walked []string
		target := "/api/catalog/entities/by-query?limit=2&orderField=metadata.name,asc"
		for range 50 {
			var page struct {
				Items      json.RawMessage `json:"items"`
				TotalItems int             `json:"totalItems"`
				PageInfo   struct {
					NextCursor string `json:"nextCursor"`
				} `json:"pageInfo"`
			}
			rec := get("GET", target, "")
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
				rt.Fatalf("by-query %s: %s", target, rec.Body)
			}
			if page.TotalItems != len(want) {
				fail("totalItems = %d, want %d", page.TotalItems, len(want))
			}
			walked = append(walked, refsOf(page.Items)...)
			if page.PageInfo.NextCursor == "" {
				break
			}
			if dec, _ := base64.StdEncoding.DecodeString(page.PageInfo.NextCursor); strings.Contains(string(dec), `"filter"`) {
				rt.Fatalf("cursor carries the scope: %s", dec)
			}
			target = "/api/catalog/entities/by-query?cursor=" + url.QueryEscape(page.PageInfo.NextCursor)
		}
		slices.Sort(walked)
		if !slices.Equal(walked, want) {
			fail("by-query walk = %v, want %v", walked, want)
		}
		var refs []string
		for _, e := range ents {
			refs = append(refs, e.ref())
		}
		body, _ := json.Marshal(map[string]any{"entityRefs": refs})
		var byRefs struct {
			Items []json.RawMessage `json:"items"`
		}
		_ = json.Unmarshal(get("POST", "/api/catalog/entities/by-refs", string(body)).Body.Bytes(), &byRefs)
		for i, r := range refs {
			if isNull := string(byRefs.Items[i]) == "null"; isNull == allowed[r] {
				fail("by-refs %s: %s (allowed %v)", r, byRefs.Items[i], allowed[r])
			}
		}
		var facets struct {
			Facets map[string][]struct {
				Value string `json:"value"`
				Count int    `json:"count"`
			} `json:"facets"`
		}
		_ = json.Unmarshal(get("GET", "/api/catalog/entity-facets?facet=kind&facet=relations.ownedBy&facet=spec.dependsOn", "").Body.Bytes(), &facets)
		total := 0
		for _, f := range facets.Facets["kind"] {
			total += f.Count
		}
		if total != len(want) {
			fail("facet counts %d, want %d", total, len(want))
		}
		for _, e := range ents {
			path := "/api/catalog/entities/by-name/" + strings.ToLower(e.kind) + "/" + e.ns + "/" + e.name
			for _, target := range []string{path, path + "/ancestry", "/api/catalog/entities/by-uid/" + uids[e.ref()]} {
				rec := get("GET", target, "")
				if allowed[e.ref()] != (rec.Code == http.StatusOK) {
					fail("%s: %d (allowed %v) %s", target, rec.Code, allowed[e.ref()], rec.Body)
				}
			}
		}
	})
}
