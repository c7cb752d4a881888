package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

// newTestAPI serves a real catalog on a SQLite store holding a small
// catalog: a group owning three components and an API.
func newTestAPI(t *testing.T) *http.ServeMux {
	t.Helper()
	var docs []string
	docs = append(docs, "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}")
	for i, typ := range []string{"service", "service", "website"} {
		docs = append(docs, fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: comp-%d, tags: [go]}\nspec: {type: %s, lifecycle: production, owner: team-a, providesApis: [api-x]}", i, typ))
	}
	docs = append(docs, "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: api-x}\nspec: {type: openapi, lifecycle: production, owner: team-a, definition: 'openapi: 3.0.0'}")
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.Join(docs, "\n---\n"))}}
	svc, err := catalog.NewService(storetest.SQLite(t), []catalog.Source{{Name: "test", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p := svc.Problems(); len(p) > 0 {
		t.Fatalf("fixture problems: %v", p)
	}
	mux := http.NewServeMux()
	New(svc, slog.New(slog.DiscardHandler)).Routes(mux)
	return mux
}

func call(t *testing.T, mux *http.ServeMux, method, target, body string, into any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	if into != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, target, rec.Body, err)
		}
	}
	return rec
}

type ent struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"metadata"`
	Spec      map[string]any `json:"spec"`
	Relations []struct{ Type, TargetRef string }
}

func names(ents []ent) string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Metadata.Name)
	}
	return strings.Join(out, ",")
}

func TestEntitiesEndpoints(t *testing.T) {
	mux := newTestAPI(t)
	tests := []struct {
		target string
		want   string
	}{
		{"/api/catalog/entities?filter=kind=component,spec.type=service", "comp-0,comp-1"},
		{"/api/catalog/entities?filter=kind=group&filter=kind=API", "api-x,team-a"},
		{"/api/catalog/entities?filter=kind=component&order=desc:metadata.name&limit=2", "comp-2,comp-1"},
		{"/api/catalog/entities?filter=relations.ownedby=group:default/team-a&order=asc:metadata.name", "api-x,comp-0,comp-1,comp-2"},
		{"/api/catalog/entities?filter=metadata.tags.go&filter=kind=GROUP&order=asc:metadata.name", "comp-0,comp-1,comp-2,team-a"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var got []ent
			if rec := call(t, mux, "GET", tt.target, "", &got); rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if names(got) != tt.want {
				t.Errorf("got %s, want %s", names(got), tt.want)
			}
		})
	}

	t.Run("stitched relations both ways", func(t *testing.T) {
		var team ent
		call(t, mux, "GET", "/api/catalog/entities/by-name/group/default/team-a", "", &team)
		n := 0
		for _, r := range team.Relations {
			if r.Type == "ownerOf" {
				n++
			}
		}
		if n != 4 || team.Metadata.UID == "" {
			t.Errorf("team-a: %d ownerOf relations, uid %q: %+v", n, team.Metadata.UID, team.Relations)
		}
	})

	t.Run("fields and link header", func(t *testing.T) {
		var got []map[string]any
		rec := call(t, mux, "GET", "/api/catalog/entities?filter=kind=component&fields=metadata.name&limit=1&order=asc:metadata.name", "", &got)
		if len(got) != 1 || len(got[0]) != 1 || got[0]["metadata"].(map[string]any)["name"] != "comp-0" {
			t.Errorf("projection: %v", got)
		}
		if link := rec.Header().Get("Link"); !strings.Contains(link, "after=") || !strings.Contains(link, `rel="next"`) {
			t.Errorf("Link = %q", link)
		}
	})

	t.Run("by-query cursor walk", func(t *testing.T) {
		var page struct {
			Items      []ent
			TotalItems int
			PageInfo   struct{ NextCursor string }
		}
		call(t, mux, "GET", "/api/catalog/entities/by-query?filter=kind=component&limit=2&orderField=metadata.name,asc&totalItems=true", "", &page)
		first := names(page.Items)
		if page.TotalItems != 3 || first != "comp-0,comp-1" || page.PageInfo.NextCursor == "" {
			t.Fatalf("first page %+v", page)
		}
		cursor := page.PageInfo.NextCursor
		page.PageInfo.NextCursor = "" // absent on the last page
		call(t, mux, "GET", "/api/catalog/entities/by-query?cursor="+cursor, "", &page)
		if names(page.Items) != "comp-2" || page.PageInfo.NextCursor != "" {
			t.Errorf("second page %+v", page)
		}
	})

	t.Run("by-refs keeps order and nulls", func(t *testing.T) {
		var resp struct{ Items []*ent }
		call(t, mux, "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/comp-2","component:default/nope","API:default/api-x"],"fields":["metadata.name"]}`, &resp)
		if len(resp.Items) != 3 || resp.Items[0].Metadata.Name != "comp-2" || resp.Items[1] != nil || resp.Items[2].Metadata.Name != "api-x" {
			t.Errorf("items %+v", resp.Items)
		}
	})

	t.Run("by-uid get and delete", func(t *testing.T) {
		var c ent
		call(t, mux, "GET", "/api/catalog/entities/by-name/component/default/comp-2", "", &c)
		var got ent
		if rec := call(t, mux, "GET", "/api/catalog/entities/by-uid/"+c.Metadata.UID, "", &got); rec.Code != 200 || got.Metadata.Name != "comp-2" {
			t.Fatalf("by uid: %d %+v", rec.Code, got)
		}
		if rec := call(t, mux, "DELETE", "/api/catalog/entities/by-uid/"+c.Metadata.UID, "", nil); rec.Code != 204 {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		var eb errorBody
		if rec := call(t, mux, "GET", "/api/catalog/entities/by-uid/"+c.Metadata.UID, "", &eb); rec.Code != 404 || eb.Error.Name != "NotFoundError" {
			t.Errorf("after delete: %d %+v", rec.Code, eb)
		}
		if rec := call(t, mux, "DELETE", "/api/catalog/entities/by-uid/"+c.Metadata.UID, "", &eb); rec.Code != 404 {
			t.Errorf("second delete: %d", rec.Code)
		}
	})

	t.Run("facets", func(t *testing.T) {
		var resp struct {
			Facets map[string][]struct {
				Value string
				Count int
			}
		}
		call(t, mux, "GET", "/api/catalog/entity-facets?facet=spec.type&filter=kind=component", "", &resp)
		got := fmt.Sprint(resp.Facets["spec.type"])
		if got != "[{service 2}]" { // comp-2, the website, was deleted above
			t.Errorf("facets %s", got)
		}
	})
}

func TestEntitiesErrors(t *testing.T) {
	mux := newTestAPI(t)
	tests := []struct {
		method, target, body string
		status               int
		name                 string
	}{
		{"GET", "/api/catalog/entities?limit=abc", "", 400, "InputError"},
		{"GET", "/api/catalog/entities?order=sideways:metadata.name", "", 400, "InputError"},
		{"GET", "/api/catalog/entities/by-query?cursor=!!!", "", 400, "InputError"},
		{"GET", "/api/catalog/entity-facets", "", 400, "InputError"},
		{"POST", "/api/catalog/entities/by-refs", "{", 400, "InputError"},
		{"POST", "/api/catalog/entities/by-refs", `{}`, 400, "InputError"},
		{"GET", "/api/catalog/entities/by-name/component/default/nope", "", 404, "NotFoundError"},
		{"POST", "/api/catalog/refresh", `{"entityRef":"a:/c"}`, 400, "InputError"},
		{"POST", "/api/catalog/refresh", "", 503, "ServiceUnavailableError"}, // no job queue in this test
		{"POST", "/api/catalog/refresh", `{"entityRef":"component:default/nope"}`, 404, "NotFoundError"},
		{"POST", "/api/catalog/refresh", `{"entityRef":"component:default/comp-0"}`, 503, "ServiceUnavailableError"},
		{"DELETE", "/api/nowhere", "", 404, "NotFoundError"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target+" "+tt.body, func(t *testing.T) {
			var eb errorBody
			rec := call(t, mux, tt.method, tt.target, tt.body, &eb)
			if rec.Code != tt.status || eb.Error.Name != tt.name || eb.Response.StatusCode != tt.status || eb.Request.Method != tt.method {
				t.Errorf("got %d %+v, want %d %s", rec.Code, eb, tt.status, tt.name)
			}
		})
	}
}

func TestValidateEntity(t *testing.T) {
	mux := newTestAPI(t)
	const good = `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"ok"},"spec":{"type":"service","lifecycle":"production","owner":"team-a"}}`
	tests := []struct {
		name, body string
		status     int
		want       []string // substrings of the error messages
	}{
		{"valid", `{"entity":` + good + `,"location":"url:https://git.example/x/catalog-info.yaml"}`, 200, nil},
		{"invalid fields", `{"entity":{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"bad name","tags":["UP"]},"spec":{"type":"service","lifecycle":"production","owner":"team-a"}},"location":"url:https://x/y"}`, 400, []string{"metadata.name", "metadata.tags[0]"}},
		{"not url location", `{"entity":` + good + `,"location":"file:/x.yaml"}`, 400, []string{"only 'url:<target>' is supported"}},
		{"not an object", `{"entity":[1],"location":"url:https://x/y"}`, 400, []string{"must be a JSON object"}},
		{"malformed body", `{`, 400, []string{"not valid JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, mux, "POST", "/api/catalog/validate-entity", tt.body, nil)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 {
				return
			}
			var resp struct{ Errors []serializedError }
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Errors) == 0 {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			var msgs []string
			for _, e := range resp.Errors {
				if e.Name != "InputError" {
					t.Errorf("error name %q", e.Name)
				}
				msgs = append(msgs, e.Message)
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.Join(msgs, "\n"), w) {
					t.Errorf("errors lack %q: %v", w, msgs)
				}
			}
		})
	}
}

// The predicate endpoints, with the bodies catalog-client 1.16 sends.
func TestPredicateEndpoints(t *testing.T) {
	mux := newTestAPI(t)
	type queryPage struct {
		Items      []ent
		TotalItems int
		PageInfo   struct{ NextCursor, PrevCursor string }
	}
	t.Run("by-query walk", func(t *testing.T) {
		var page queryPage
		body := `{"query":{"$all":[{"kind":"component"},{"spec.type":{"$in":["service"]}},{"$not":{"metadata.name":{"$hasPrefix":"COMP-9"}}}]},
			"orderBy":[{"field":"metadata.name","order":"desc"}],"limit":1,"fields":["metadata.name,kind"]}`
		if rec := call(t, mux, "POST", "/api/catalog/entities/by-query", body, &page); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if names(page.Items) != "comp-1" || page.TotalItems != 2 || page.PageInfo.NextCursor == "" || page.Items[0].Spec != nil {
			t.Fatalf("first page %+v", page)
		}
		raw, err := base64.StdEncoding.DecodeString(page.PageInfo.NextCursor)
		if err != nil || !strings.Contains(string(raw), `"query":{"$all"`) {
			t.Errorf("cursor %s carries no query (%v)", raw, err)
		}
		next := page.PageInfo.NextCursor
		page = queryPage{}
		call(t, mux, "POST", "/api/catalog/entities/by-query", `{"cursor":"`+next+`","limit":1}`, &page)
		if names(page.Items) != "comp-0" || page.TotalItems != 2 || page.PageInfo.NextCursor != "" || page.PageInfo.PrevCursor == "" {
			t.Errorf("second page %+v", page)
		}
		// GET takes the same cursor.
		page = queryPage{}
		call(t, mux, "GET", "/api/catalog/entities/by-query?cursor="+url.QueryEscape(next), "", &page)
		if names(page.Items) != "comp-0" {
			t.Errorf("GET with a predicate cursor: %+v", page)
		}
	})
	t.Run("by-query totalItems exclude", func(t *testing.T) {
		var page queryPage
		call(t, mux, "POST", "/api/catalog/entities/by-query", `{"query":{"kind":"component"},"totalItems":"exclude"}`, &page)
		if len(page.Items) != 3 || page.TotalItems != 0 {
			t.Errorf("page %+v", page)
		}
		call(t, mux, "GET", "/api/catalog/entities/by-query?filter=kind=component&totalItems=exclude", "", &page)
		if len(page.Items) != 3 || page.TotalItems != 0 {
			t.Errorf("GET page %+v", page)
		}
	})
	t.Run("facets", func(t *testing.T) {
		var resp struct {
			Facets map[string][]struct {
				Value string
				Count int
			}
		}
		call(t, mux, "POST", "/api/catalog/entity-facets", `{"facets":["spec.type","kind"],"query":{"$any":[{"kind":"component"},{"spec.type":"openapi"}]}}`, &resp)
		if got := fmt.Sprint(resp.Facets); got != "map[kind:[{API 1} {Component 3}] spec.type:[{openapi 1} {service 2} {website 1}]]" {
			t.Errorf("facets %s", got)
		}
	})
	t.Run("by-refs with query and filter", func(t *testing.T) {
		var resp struct{ Items []*ent }
		call(t, mux, "POST", "/api/catalog/entities/by-refs?filter=spec.lifecycle=production",
			`{"entityRefs":["component:default/comp-2","api:default/api-x","group:default/team-a"],"query":{"kind":{"$in":["component","group"]}}}`, &resp)
		if len(resp.Items) != 3 || resp.Items[0] == nil || resp.Items[0].Metadata.Name != "comp-2" || resp.Items[1] != nil || resp.Items[2] != nil {
			t.Errorf("items %+v", resp.Items)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct{ target, body, msg string }{
			{"/api/catalog/entities/by-query", `{"query":{"$all":[{"kind":"component"},{"kind":{"$eq":1}}]}}`,
				"query.$all[1].kind: unknown operator $eq (expected $exists, $in, $contains or $hasPrefix)"},
			{"/api/catalog/entities/by-query", `{"limit":-5}`, "limit: must be a whole number from 0 to 2147483647"},
			{"/api/catalog/entities/by-query", `{"cursor":""}`, "Cursor cannot be empty"},
			{"/api/catalog/entities/by-query", `[`, ""},
			{"/api/catalog/entity-facets", `{"query":{"kind":"component"}}`, "Missing or empty facets parameter"},
			{"/api/catalog/entity-facets", `{"facets":["kind"],"query":[]}`, "query: must be an object, got an array"},
			{"/api/catalog/entities/by-refs", `{"entityRefs":[],"query":{"$not":{}, "kind":"x"}}`,
				"query: $not must be the only key of its object; wrap it and the other conditions in $all"},
		} {
			var eb errorBody
			rec := call(t, mux, "POST", tt.target, tt.body, &eb)
			if rec.Code != 400 || eb.Error.Name != "InputError" || (tt.msg != "" && eb.Error.Message != tt.msg) {
				t.Errorf("POST %s %s: %d %+v, want 400 %q", tt.target, tt.body, rec.Code, eb.Error, tt.msg)
			}
		}
	})
}

// The by-name and by-query handlers write the catalog's stored JSON as it
// is: the same document whether the read cache answered or not, with the
// cache's answer in X-Greenroom-Cache.
func TestCachedReadsServeTheSameBody(t *testing.T) {
	mux := newTestAPI(t)
	for _, target := range []string{
		"/api/catalog/entities/by-name/component/default/comp-1",
		"/api/catalog/entities/by-query?filter=kind=component&limit=2&orderField=metadata.name,asc",
	} {
		first := call(t, mux, http.MethodGet, target, "", nil)
		again := call(t, mux, http.MethodGet, target, "", nil)
		if first.Code != http.StatusOK || again.Code != http.StatusOK {
			t.Fatalf("%s: status %d then %d", target, first.Code, again.Code)
		}
		if h1, h2 := first.Header().Get("X-Greenroom-Cache"), again.Header().Get("X-Greenroom-Cache"); h1 != "miss" || h2 != "hit" {
			t.Errorf("%s: X-Greenroom-Cache %q then %q, want miss then hit", target, h1, h2)
		}
		if first.Body.String() != again.Body.String() {
			t.Errorf("%s: bodies differ:\n%s\n%s", target, first.Body, again.Body)
		}
		if ct := again.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", target, ct)
		}
		if !json.Valid(again.Body.Bytes()) {
			t.Errorf("%s: not JSON: %s", target, again.Body)
		}
	}
	var page struct {
		Items      []ent `json:"items"`
		TotalItems int   `json:"totalItems"`
		PageInfo   struct {
			NextCursor string `json:"nextCursor"`
		} `json:"pageInfo"`
	}
	call(t, mux, http.MethodGet, "/api/catalog/entities/by-query?filter=kind=component&limit=2&orderField=metadata.name,asc", "", &page)
	if names(page.Items) != "comp-0,comp-1" || page.TotalItems != 3 || page.PageInfo.NextCursor == "" {
		t.Errorf("page: %s, total %d, next %q", names(page.Items), page.TotalItems, page.PageInfo.NextCursor)
	}
	call(t, mux, http.MethodGet, "/api/catalog/entities/by-query?limit=2&cursor="+url.QueryEscape(page.PageInfo.NextCursor), "", &page)
	if names(page.Items) != "comp-2" || page.TotalItems != 3 {
		t.Errorf("second page: %s, total %d", names(page.Items), page.TotalItems)
	}
}
