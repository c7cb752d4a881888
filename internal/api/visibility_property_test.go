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

var (
	propNamespaces = []string{"default", "secret", "team-x"}
	propNames      = []string{"alpha", "beta", "gamma", "delta"}
)

// propEnt is the part of an entity the property reads.
type propEnt struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"metadata"`
}

type propEntity struct {
	kind, ns, name string
	owner          string   // group ref
	dependsOn      []string // component refs
}

func (e propEntity) ref() string { return strings.ToLower(e.kind) + ":" + e.ns + "/" + e.name }

// genCatalog draws groups and components spread over namespaces, with
// ownership and dependencies that cross namespaces.
func genCatalog(t *rapid.T) []propEntity {
	var groups, comps []propEntity
	seen := map[string]bool{}
	for i := range rapid.IntRange(1, 3).Draw(t, "groups") {
		g := propEntity{kind: "Group", ns: rapid.SampledFrom(propNamespaces).Draw(t, "gns"), name: fmt.Sprintf("g%d", i)}
		if !seen[g.ref()] {
			seen[g.ref()] = true
			groups = append(groups, g)
		}
	}
	for range rapid.IntRange(1, 10).Draw(t, "components") {
		c := propEntity{kind: "Component", ns: rapid.SampledFrom(propNamespaces).Draw(t, "ns"), name: rapid.SampledFrom(propNames).Draw(t, "name")}
		if seen[c.ref()] {
			continue
		}
		seen[c.ref()] = true
		c.owner = rapid.SampledFrom(groups).Draw(t, "owner").ref()
		comps = append(comps, c)
	}
	for i := range comps {
		for _, d := range comps {
			if d.ref() != comps[i].ref() && rapid.IntRange(0, 2).Draw(t, "dep") == 0 {
				comps[i].dependsOn = append(comps[i].dependsOn, d.ref())
			}
		}
	}
	return append(groups, comps...)
}

func (e propEntity) yaml() string {
	if e.kind == "Group" {
		return fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: %s, namespace: %s}\nspec: {type: team, children: []}", e.name, e.ns)
	}
	deps := "[]"
	if len(e.dependsOn) > 0 {
		deps = "['" + strings.Join(e.dependsOn, "', '") + "']"
	}
	return fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: %s, namespace: %s}\nspec: {type: service, lifecycle: production, owner: '%s', dependsOn: %s}",
		e.name, e.ns, e.owner, deps)
}

// Property: for any catalog and any contractor policy, a contractor never
// sees a restricted entity, or one outside the allowed namespaces, through
// any catalog endpoint (get by name and uid, list, by-query with cursors
// and totals, by-refs, facets, ancestry), not even as a relation or spec
// ref of an entity they may see (what the portal's graph draws), and a
// hidden entity answers 404 exactly like a missing one.
func TestContractorNeverSeesRestricted(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		ents := genCatalog(rt)
		var comps []string
		for _, e := range ents {
			if e.kind == "Component" {
				comps = append(comps, e.ref())
			}
		}
		allowed := rapid.SliceOfNDistinct(rapid.SampledFrom(propNamespaces), 0, 3, rapid.ID[string]).Draw(rt, "allowed")
		restricted := rapid.SliceOfNDistinct(rapid.SampledFrom(comps), 0, len(comps), rapid.ID[string]).Draw(rt, "restricted")
		policy := access.Policy{Enabled: true, Contractors: access.Contractors{
			Members: []string{"group:default/contractors"}, DefaultRole: access.RoleContractorViewer,
			Permissions: access.ContractorPermissions{AllowedNamespaces: allowed},
			Boundaries:  access.AccessBoundaries{RestrictedServices: restricted},
		}}
		visible := func(ref string) bool {
			_, rest, _ := strings.Cut(ref, ":")
			ns, _, _ := strings.Cut(rest, "/")
			return slices.Contains(allowed, ns) && !slices.Contains(restricted, ref)
		}
		var want, hidden []string
		for _, e := range ents {
			if visible(e.ref()) {
				want = append(want, e.ref())
			} else {
				hidden = append(hidden, e.ref())
			}
		}
		slices.Sort(want)

		var docs []string
		for _, e := range ents {
			docs = append(docs, e.yaml())
		}
		fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.Join(docs, "\n---\n"))}}
		svc, err := catalog.NewService(storetest.SQLite(t), []catalog.Source{{Name: "test", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
		if err != nil {
			rt.Fatal(err)
		}
		if err := svc.Refresh(t.Context()); err != nil {
			rt.Fatal(err)
		}
		if p := svc.Problems(); len(p) > 0 {
			rt.Fatalf("fixture problems: %v", p)
		}
		// uids, read unfiltered (no principal).
		uids := map[string]string{}
		all, err := svc.Entities(t.Context(), catalog.Query{})
		if err != nil {
			rt.Fatal(err)
		}
		for _, b := range all {
			var e propEnt
			_ = json.Unmarshal(b, &e)
			uids[strings.ToLower(e.Kind)+":"+e.Metadata.Namespace+"/"+e.Metadata.Name] = e.Metadata.UID
		}
		if len(uids) != len(ents) {
			rt.Fatalf("stored %d of %d entities", len(uids), len(ents))
		}
		authz, err := access.NewAuthorizer(policy, nil, nil)
		if err != nil {
			rt.Fatal(err)
		}
		svc.SetReadFilter(authz.ReadScope)
		mux := http.NewServeMux()
		New(svc, slog.New(slog.DiscardHandler)).Routes(mux)
		contractor := &access.Principal{Kind: access.KindUser, UserRef: "user:default/cy", Contractor: true,
			OwnershipRefs: []string{"user:default/cy", "group:default/contractors"}, Roles: []string{access.RoleContractorViewer}}

		get := func(method, target, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, target, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req = req.WithContext(access.NewContext(req.Context(), contractor))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			asked := strings.ToLower(target + " " + body)
			for _, h := range hidden {
				kind, rest, _ := strings.Cut(h, ":")
				if strings.Contains(asked, h) || strings.Contains(asked, kind+"/"+strings.Replace(rest, "/", "/", 1)) {
					continue // the caller named it: echoing it back reveals nothing
				}
				if strings.Contains(strings.ToLower(rec.Body.String()), h) {
					rt.Fatalf("%s %s reveals %s: %s", method, target, h, rec.Body)
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

		// list
		if got := refsOf(get("GET", "/api/catalog/entities", "").Body.Bytes()); !slices.Equal(got, want) {
			rt.Fatalf("list = %v, want %v", got, want)
		}
		// by-query, walked with cursors, with the total
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
				rt.Fatalf("totalItems = %d, want %d", page.TotalItems, len(want))
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
			rt.Fatalf("by-query walk = %v, want %v", walked, want)
		}
		// by-refs
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
			if isNull := string(byRefs.Items[i]) == "null"; isNull == visible(r) {
				rt.Fatalf("by-refs %s: %s (visible %v)", r, byRefs.Items[i], visible(r))
			}
		}
		// facets count only what is visible
		var facets struct {
			Facets map[string][]struct {
				Value string `json:"value"`
				Count int    `json:"count"`
			} `json:"facets"`
		}
		_ = json.Unmarshal(get("GET", "/api/catalog/entity-facets?facet=metadata.namespace&facet=relations.ownedBy&facet=spec.owner&facet=spec.dependsOn&facet=relations.dependsOn", "").Body.Bytes(), &facets)
		total := 0
		for _, f := range facets.Facets["metadata.namespace"] {
			if !slices.Contains(allowed, f.Value) {
				rt.Fatalf("facet shows namespace %s", f.Value)
			}
			total += f.Count
		}
		if total != len(want) {
			rt.Fatalf("facet counts %d, want %d", total, len(want))
		}
		// one entity: by name, by uid, ancestry; hidden ones answer as missing ones do
		missing := get("GET", "/api/catalog/entities/by-name/component/nowhere/none", "")
		for _, e := range ents {
			path := "/api/catalog/entities/by-name/" + strings.ToLower(e.kind) + "/" + e.ns + "/" + e.name
			// by-entity answers 404 for every entity here (no registered
			// location): a hidden one must answer the same.
			locPath := "/api/catalog/locations/by-entity/" + strings.ToLower(e.kind) + "/" + e.ns + "/" + e.name
			if rec := get("GET", locPath, ""); rec.Code != http.StatusNotFound || (!visible(e.ref()) && !strings.Contains(rec.Body.String(), "found no entity")) {
				rt.Fatalf("%s: %d %s", locPath, rec.Code, rec.Body)
			}
			for _, target := range []string{path, path + "/ancestry", "/api/catalog/entities/by-uid/" + uids[e.ref()]} {
				rec := get("GET", target, "")
				if visible(e.ref()) != (rec.Code == http.StatusOK) {
					rt.Fatalf("%s: %d (visible %v) %s", target, rec.Code, visible(e.ref()), rec.Body)
				}
				if rec.Code == http.StatusNotFound && target == path {
					var a, b errorBody
					_ = json.Unmarshal(rec.Body.Bytes(), &a)
					_ = json.Unmarshal(missing.Body.Bytes(), &b)
					wantMsg := strings.Replace(b.Error.Message, "component:nowhere/none", e.ref(), 1)
					if a.Error.Name != b.Error.Name || a.Error.Message != wantMsg {
						rt.Fatalf("hidden %s answers %+v, a missing entity %+v", e.ref(), a.Error, b.Error)
					}
				}
			}
		}
	})
}
