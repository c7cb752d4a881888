package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

// getReader is the tests' URLReader: a GET, 404 as not_found.
type getReader struct{ c *http.Client }

func (g getReader) ReadURL(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "%w", err)
	}
	resp, err := g.c.Do(req)
	if err != nil {
		return nil, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "unreachable", Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, greenroom.Errorf(greenroom.CodeNotFound, "not found")
	}
	if resp.StatusCode != http.StatusOK {
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "status %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

const apiComponent = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: %s}\nspec: {type: service, owner: team, lifecycle: production}\n"

// newLocationsAPI serves a catalog with one configured location and a
// URL reader over an HTTP server holding a few catalog files.
func newLocationsAPI(t *testing.T) (*http.ServeMux, string) {
	t.Helper()
	srv := httptest.NewServer(http.FileServerFS(fstest.MapFS{
		"repo/catalog-info.yaml": {Data: []byte(strings.ReplaceAll(apiComponent, "%s", "remote-svc") + "---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: more}\nspec: {target: ./more.yaml}\n")},
		"repo/more.yaml":         {Data: []byte(strings.ReplaceAll(apiComponent, "%s", "remote-more"))},
		"other.yaml":             {Data: []byte(strings.ReplaceAll(apiComponent, "%s", "other"))},
		"bad.yaml":               {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: bad}\nspec: {type: service}\n")},
	}))
	t.Cleanup(srv.Close)
	st := storetest.SQLite(t)
	cfg := fstest.MapFS{"cfg/all.yaml": {Data: []byte(strings.ReplaceAll(apiComponent, "%s", "configured"))}}
	svc, err := catalog.NewService(st, []catalog.Source{{Name: "file:/cfg/all.yaml", FS: cfg, Root: "cfg/all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc.SetLocationStore(st)
	svc.SetURLReader(getReader{srv.Client()})
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(svc, slog.New(slog.DiscardHandler)).Routes(mux)
	return mux, srv.URL
}

// keys returns the sorted keys of a JSON object.
func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func TestLocationsAPI(t *testing.T) {
	mux, base := newLocationsAPI(t)
	target := base + "/repo/catalog-info.yaml"
	body := `{"type":"url","target":"` + target + `"}`

	// Dry run: 201 with the entities, exists, and a "type:target" id.
	var dry map[string]any
	if rec := call(t, mux, "POST", "/api/catalog/locations?dryRun=true", body, &dry); rec.Code != 201 {
		t.Fatalf("dry run: %d %s", rec.Code, rec.Body)
	}
	if keys(dry) != "entities,exists,location" || dry["exists"] != false || len(dry["entities"].([]any)) != 4 {
		t.Errorf("dry run body %v", dry)
	}
	if loc := dry["location"].(map[string]any); keys(loc) != "id,target,type" || loc["id"] != "url:"+target {
		t.Errorf("dry-run location %v", loc)
	}

	// Registered: 201, entities empty, no exists; visible at once.
	var created struct {
		Location map[string]any
		Entities []any
	}
	var raw map[string]any
	rec := call(t, mux, "POST", "/api/catalog/locations", body, &raw)
	if rec.Code != 201 || keys(raw) != "entities,location" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	json.Unmarshal(rec.Body.Bytes(), &created)
	id, _ := created.Location["id"].(string)
	if keys(created.Location) != "entityRef,id,target,type" || len(id) != 36 || len(created.Entities) != 0 ||
		!strings.HasPrefix(created.Location["entityRef"].(string), "location:default/generated-") {
		t.Errorf("created %v", created)
	}
	if rec := call(t, mux, "GET", "/api/catalog/entities/by-name/component/default/remote-more", "", nil); rec.Code != 200 {
		t.Errorf("registered location's entity: %d", rec.Code)
	}

	// Listing: configured first, each as {data: location}.
	var list []map[string]map[string]any
	call(t, mux, "GET", "/api/catalog/locations", "", &list)
	if len(list) != 2 || list[0]["data"]["target"] != "/cfg/all.yaml" || list[0]["data"]["type"] != "file" || list[1]["data"]["id"] != id || keys(list[1]["data"]) != "entityRef,id,target,type" {
		t.Fatalf("list %v", list)
	}
	configID := list[0]["data"]["id"].(string)

	var one map[string]any
	if rec := call(t, mux, "GET", "/api/catalog/locations/"+id, "", &one); rec.Code != 200 || one["target"] != target || keys(one) != "entityRef,id,target,type" {
		t.Errorf("by id: %d %v", rec.Code, one)
	}
	if rec := call(t, mux, "GET", "/api/catalog/locations/by-entity/component/default/remote-more", "", &one); rec.Code != 200 || one["id"] != id {
		t.Errorf("by entity: %d %v", rec.Code, one)
	}
	if rec := call(t, mux, "GET", "/api/catalog/locations/by-entity/component/default/configured", "", &one); rec.Code != 200 || one["id"] != configID {
		t.Errorf("configured entity's location: %d %v", rec.Code, one)
	}

	var page struct {
		Items      []map[string]any
		TotalItems int
		PageInfo   map[string]any
	}
	if rec := call(t, mux, "POST", "/api/catalog/locations/by-query", `{"query":{"type":"url"},"limit":1}`, &page); rec.Code != 200 || page.TotalItems != 1 || len(page.Items) != 1 || page.Items[0]["id"] != id || len(page.PageInfo) != 0 {
		t.Errorf("by-query: %d %+v", rec.Code, page)
	}
	if rec := call(t, mux, "POST", "/api/catalog/locations/by-query", "", &page); rec.Code != 200 || page.TotalItems != 2 {
		t.Errorf("by-query without a body: %d %+v", rec.Code, page)
	}

	var status map[string]any
	if rec := call(t, mux, "GET", "/api/catalog/locations/"+id+"/status", "", &status); rec.Code != 200 || keys(status) != "entityCount,lastRefresh,problems" ||
		status["entityCount"] != float64(4) || status["lastRefresh"] == nil || len(status["problems"].([]any)) != 0 {
		t.Errorf("status: %d %v", rec.Code, status)
	}

	var analysis struct {
		ExistingEntityFiles []struct {
			Location     map[string]any
			IsRegistered bool
			Entity       map[string]any
		}
		GenerateEntities []any
	}
	if rec := call(t, mux, "POST", "/api/catalog/analyze-location", `{"location":{"type":"url","target":"`+base+`/other.yaml"}}`, &analysis); rec.Code != 200 ||
		len(analysis.ExistingEntityFiles) != 1 || analysis.ExistingEntityFiles[0].IsRegistered || analysis.ExistingEntityFiles[0].Location["target"] != base+"/other.yaml" || analysis.GenerateEntities == nil {
		t.Errorf("analyze: %d %s", rec.Code, rec.Body)
	}

	var anc struct {
		RootEntityRef string
		Items         []struct {
			Entity           map[string]any
			ParentEntityRefs []string
		}
	}
	if rec := call(t, mux, "GET", "/api/catalog/entities/by-name/component/default/remote-more/ancestry", "", &anc); rec.Code != 200 || anc.RootEntityRef != "component:default/remote-more" ||
		len(anc.Items) != 3 || anc.Items[0].ParentEntityRefs[0] != "location:default/more" || anc.Items[2].ParentEntityRefs == nil {
		t.Errorf("ancestry: %d %s", rec.Code, rec.Body)
	}

	var updated map[string]any
	newTarget := base + "/other.yaml"
	if rec := call(t, mux, "PUT", "/api/catalog/locations/"+id, `{"type":"url","target":"`+newTarget+`"}`, &updated); rec.Code != 200 || updated["id"] != id || updated["target"] != newTarget {
		t.Errorf("update: %d %v", rec.Code, updated)
	}
	if rec := call(t, mux, "GET", "/api/catalog/entities/by-name/component/default/other", "", nil); rec.Code != 200 {
		t.Errorf("updated location's entity: %d", rec.Code)
	}

	if rec := call(t, mux, "DELETE", "/api/catalog/locations/"+id, "", nil); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("delete: %d %q", rec.Code, rec.Body)
	}
	call(t, mux, "GET", "/api/catalog/locations", "", &list)
	if len(list) != 1 {
		t.Errorf("after delete: %v", list)
	}
}

func TestLocationsAPIErrors(t *testing.T) {
	mux, base := newLocationsAPI(t)
	var list []map[string]map[string]any
	call(t, mux, "GET", "/api/catalog/locations", "", &list)
	configID := list[0]["data"]["id"].(string)
	tests := []struct {
		method, target, body string
		status               int
		name, message        string // message is a prefix
	}{
		{"POST", "/api/catalog/locations", `{"type":"url","target":"https://h/x.yaml","owner":"me"}`, 400, "InputError", `Malformed request: json: unknown field "owner"`},
		{"POST", "/api/catalog/locations", `{`, 400, "InputError", "Malformed request: "},
		{"POST", "/api/catalog/locations", `{}`, 400, "InputError", "Malformed request: a location needs a type and a target"},
		{"POST", "/api/catalog/locations", `{"type":"file","target":"/etc/x.yaml"}`, 400, "InputError", `Registered locations must be of an allowed type ["url"]`},
		{"POST", "/api/catalog/locations?dryRun=perhaps", `{"type":"url","target":"https://h/x.yaml"}`, 400, "InputError", `dryRun must be true or false, got "perhaps"`},
		{"POST", "/api/catalog/locations?onConflict=merge", `{"type":"url","target":"https://h/x.yaml"}`, 400, "InputError", `onConflict must be 'reject' or 'refresh', got "merge"`},
		{"POST", "/api/catalog/locations?dryRun=true", `{"type":"url","target":"` + base + `/bad.yaml"}`, 400, "InputError", base + `/bad.yaml:1: component:default/bad: spec.lifecycle: required property "lifecycle" is missing; `},
		{"POST", "/api/catalog/locations?dryRun=true", `{"type":"url","target":"` + base + `/missing.yaml"}`, 400, "InputError", base + "/missing.yaml: not found"},
		{"GET", "/api/catalog/locations/nope", "", 404, "NotFoundError", "Found no location with ID nope"},
		{"GET", "/api/catalog/locations/nope/status", "", 404, "NotFoundError", "Found no location with ID nope"},
		{"PUT", "/api/catalog/locations/nope", `{"type":"url","target":"https://h/x.yaml"}`, 404, "NotFoundError", "Found no location with ID nope"},
		{"PUT", "/api/catalog/locations/" + configID, `{"type":"url","target":"https://h/x.yaml"}`, 409, "ConflictError", "Location file:/cfg/all.yaml is configured in app-config"},
		{"DELETE", "/api/catalog/locations/nope", "", 404, "NotFoundError", "Found no location with ID nope"},
		{"DELETE", "/api/catalog/locations/" + configID, "", 409, "ConflictError", "Location file:/cfg/all.yaml is configured in app-config (catalog.locations) or is the bundled demo; it cannot be deleted through the API"},
		{"GET", "/api/catalog/locations/by-entity/component/default/nope", "", 404, "NotFoundError", "found no entity for ref component:default/nope"},
		{"POST", "/api/catalog/locations/by-query", `{"query":{"owner":"x"}}`, 400, "InputError", "Invalid filter predicate, expected key to be 'id', 'type', 'target', or 'entityRef', got 'owner'"},
		{"POST", "/api/catalog/locations/by-query", `{"cursor":"%%%"}`, 400, "InputError", "Malformed cursor, unknown encoding"},
		{"POST", "/api/catalog/locations/by-query", `{"limit":-1}`, 400, "InputError", "Limit must be a positive integer >= 1"},
		{"POST", "/api/catalog/analyze-location", `{"location":{"type":"url","target":"nope"}}`, 400, "InputError", "The given location.target is not a URL"},
		{"POST", "/api/catalog/analyze-location", `{"location":{"type":"url","target":"https://h/x","extra":1}}`, 400, "InputError", `Malformed request: json: unknown field "extra"`},
		{"POST", "/api/catalog/analyze-location", `{"location":{"type":"url","target":"` + base + `/missing.yaml"}}`, 404, "NotFoundError", base + "/missing.yaml: not found"},
		{"GET", "/api/catalog/entities/by-name/component/default/nope/ancestry", "", 404, "NotFoundError", "No such entity component:default/nope"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			var eb errorBody
			rec := call(t, mux, tt.method, tt.target, tt.body, &eb)
			if rec.Code != tt.status || eb.Error.Name != tt.name || !strings.HasPrefix(eb.Error.Message, tt.message) ||
				eb.Response.StatusCode != tt.status || eb.Request.Method != tt.method || eb.Request.URL != tt.target {
				t.Errorf("%d %+v, want %d %s %q", rec.Code, eb, tt.status, tt.name, tt.message)
			}
		})
	}

	// A duplicate registration is a 409; onConflict=refresh makes it a 201.
	body := `{"type":"url","target":"` + base + `/other.yaml"}`
	if rec := call(t, mux, "POST", "/api/catalog/locations", body, nil); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var eb errorBody
	if rec := call(t, mux, "POST", "/api/catalog/locations", body, &eb); rec.Code != 409 || eb.Error.Name != "ConflictError" || eb.Error.Message != "Location url:"+base+"/other.yaml already exists" {
		t.Errorf("duplicate: %d %+v", rec.Code, eb)
	}
	if rec := call(t, mux, "POST", "/api/catalog/locations?onConflict=refresh", body, nil); rec.Code != 201 {
		t.Errorf("onConflict=refresh: %d %s", rec.Code, rec.Body)
	}
	var dry struct{ Exists bool }
	if rec := call(t, mux, "POST", "/api/catalog/locations?dryRun=yes", body, &dry); rec.Code != 201 || !dry.Exists {
		t.Errorf("dry run of a registered location: %d %s", rec.Code, rec.Body)
	}
}
