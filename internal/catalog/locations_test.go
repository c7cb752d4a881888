package catalog_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// remote is what the tests serve over HTTP: a catalog file with a nested
// Location, a broken file and a file with a bad entity.
var remote = fstest.MapFS{
	"repo/catalog-info.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: remote-svc}
spec: {type: service, owner: team, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: remote-more}
spec: {target: ./more/apis.yaml}
`)},
	"repo/more/apis.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: remote-api}\nspec: {type: openapi, lifecycle: production, owner: team, definition: {$text: ./api.txt}}\n")},
	"repo/more/api.txt":   {Data: []byte("openapi: 3.0.0\n")},
	"bad/catalog.yaml":    {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: Not_Valid!}\nspec: {type: service, owner: team, lifecycle: production}\n")},
	"other/one.yaml":      {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: one}\nspec: {type: team, children: []}\n")},
}

func cloneFS(fsys fstest.MapFS) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range fsys {
		out[k] = v
	}
	return out
}

func fileOf(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }

// countingServer serves fsys and counts requests; down makes it fail.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
	down atomic.Bool
}

func serve(t *testing.T, fsys fstest.MapFS) *countingServer {
	t.Helper()
	cs := &countingServer{}
	files := http.FileServerFS(fsys)
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.hits.Add(1)
		if cs.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(cs.Close)
	return cs
}

// configSource stands for a catalog.locations file of app-config.
func configSource() catalog.Source {
	fsys := fstest.MapFS{"cfg/all.yaml": {Data: []byte(strings.ReplaceAll(component, "%s", "configured"))}}
	return catalog.Source{Name: "file:/cfg/all.yaml", FS: fsys, Root: "cfg/all.yaml"}
}

func newLocationService(t *testing.T, s *store.Store, srv *countingServer) *catalog.Service {
	t.Helper()
	svc, err := catalog.NewService(s, []catalog.Source{configSource()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc.SetLocationStore(s)
	svc.SetURLReader(catalog.NewTestURLReader(srv.Client()))
	return svc
}

func generatedName(typ, target string) string {
	sum := sha1.Sum([]byte(typ + ":" + target))
	return "generated-" + hex.EncodeToString(sum[:])
}

type annotated struct {
	Kind     string
	Metadata struct {
		Name        string
		Annotations map[string]string
	}
	Spec map[string]any
}

func entityAt(t *testing.T, svc *catalog.Service, kind, name string) (annotated, error) {
	t.Helper()
	raw, err := svc.EntityByName(t.Context(), greenroom.EntityRef{Kind: kind, Namespace: "default", Name: name})
	if err != nil {
		return annotated{}, err
	}
	var e annotated
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e, nil
}

func TestRegisterURLLocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		srv := serve(t, remote)
		svc := newLocationService(t, s, srv)
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		target := srv.URL + "/repo/catalog-info.yaml"
		res, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{})
		if err != nil {
			t.Fatal(err)
		}
		loc := res.Location
		wantRef := "location:default/" + generatedName("url", target)
		if len(loc.ID) != 36 || loc.Type != "url" || loc.Target != target || loc.EntityRef != wantRef || len(res.Entities) != 0 || res.Exists != nil {
			t.Errorf("registered %+v, entities %d, exists %v", loc, len(res.Entities), res.Exists)
		}

		// Visible at once: the generated Location entity, and what it reads.
		gen, err := entityAt(t, svc, "location", generatedName("url", target))
		if err != nil {
			t.Fatalf("generated Location entity: %v", err)
		}
		if gen.Metadata.Annotations["backstage.io/managed-by-location"] != "url:"+target || gen.Spec["target"] != target || gen.Spec["type"] != "url" {
			t.Errorf("generated entity %+v", gen)
		}
		api, err := entityAt(t, svc, "api", "remote-api")
		if err != nil {
			t.Fatalf("nested entity: %v", err)
		}
		if got := api.Metadata.Annotations["backstage.io/managed-by-location"]; got != "url:"+srv.URL+"/repo/more/apis.yaml" {
			t.Errorf("nested managed-by-location = %q", got)
		}
		if got := api.Metadata.Annotations["backstage.io/managed-by-origin-location"]; got != "url:"+target {
			t.Errorf("nested managed-by-origin-location = %q", got)
		}
		if api.Spec["definition"] != "openapi: 3.0.0\n" {
			t.Errorf("$text relative to the URL: %v", api.Spec["definition"])
		}

		// Listed after the configured location; found by id and by entity.
		all, err := svc.Locations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, l := range all {
			listed = append(listed, l.Type+":"+l.Target)
		}
		if diff := cmp.Diff([]string{"file:/cfg/all.yaml", "url:" + target}, listed); diff != "" {
			t.Errorf("locations (-want +got):\n%s", diff)
		}
		if got, err := svc.LocationByID(ctx, loc.ID); err != nil || got.Target != target {
			t.Errorf("by id: %+v, %v", got, err)
		}
		if got, err := svc.LocationByEntity(ctx, greenroom.EntityRef{Kind: "api", Namespace: "default", Name: "remote-api"}); err != nil || got.ID != loc.ID {
			t.Errorf("by entity: %+v, %v", got, err)
		}
		if got, err := svc.LocationByEntity(ctx, greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "configured"}); err != nil || got.ID != all[0].ID {
			t.Errorf("configured entity's location: %+v, %v", got, err)
		}
		st, err := svc.LocationStatus(ctx, loc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.LastRefresh == nil || st.EntityCount != 4 || len(st.Problems) != 0 {
			t.Errorf("status %+v, want refreshed with 4 entities (generated, component, nested location, API)", st)
		}

		// A refresh reads it again; an outage keeps what it supplied.
		srv.down.Store(true)
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := entityAt(t, svc, "component", "remote-svc"); err != nil {
			t.Errorf("outage lost an entity: %v", err)
		}
		srv.down.Store(false)

		// Registering it again is a conflict, unless refresh is asked for.
		_, err = svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{})
		if greenroom.ErrorCode(err) != greenroom.CodeConflict || greenroom.ErrorMessage(err) != "Location url:"+target+" already exists" {
			t.Errorf("duplicate: %v", err)
		}
		again, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{OnConflict: "refresh"})
		if err != nil || again.Location.ID != loc.ID {
			t.Errorf("onConflict=refresh: %+v, %v", again, err)
		}

		// Deleted: gone from the list, and no longer read.
		if err := svc.RemoveLocation(ctx, loc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LocationByID(ctx, loc.ID); !greenroom.IsNotFound(err) {
			t.Errorf("after delete: %v", err)
		}
		if all, _ := svc.Locations(ctx); len(all) != 1 {
			t.Errorf("after delete: %d locations", len(all))
		}
		// RemoveLocation refreshed the catalog (no job queue here), whose
		// orphan rules (the default, delete) took the entities away.
		for _, ref := range [][2]string{{"component", "remote-svc"}, {"api", "remote-api"}, {"location", generatedName("url", target)}} {
			if _, err := entityAt(t, svc, ref[0], ref[1]); !greenroom.IsNotFound(err) {
				t.Errorf("%s:%s after its location was deleted: %v", ref[0], ref[1], err)
			}
		}
		if _, err := entityAt(t, svc, "component", "configured"); err != nil {
			t.Errorf("configured entity: %v", err)
		}
		hits := srv.hits.Load()
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if n := srv.hits.Load(); n != hits {
			t.Errorf("a deleted location was read again (%d requests)", n-hits)
		}
		if err := svc.RemoveLocation(ctx, loc.ID); !greenroom.IsNotFound(err) || greenroom.ErrorMessage(err) != "Found no location with ID "+loc.ID {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestCreateLocationErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		srv := serve(t, remote)
		svc := newLocationService(t, s, srv)
		cfg := catalog.LocationInput{Type: "file", Target: "/cfg/all.yaml"}
		tests := []struct {
			name string
			in   catalog.LocationInput
			opts catalog.CreateLocationOptions
			code greenroom.Code
			msg  string
		}{
			{"no target", catalog.LocationInput{Type: "url"}, catalog.CreateLocationOptions{}, greenroom.CodeInvalid, "Malformed request: a location needs a type and a target"},
			{"file not allowed", cfg, catalog.CreateLocationOptions{}, greenroom.CodeInvalid, `Registered locations must be of an allowed type ["url"]`},
			{"relative url", catalog.LocationInput{Type: "url", Target: "repo/catalog-info.yaml"}, catalog.CreateLocationOptions{}, greenroom.CodeInvalid, `url location target "repo/catalog-info.yaml" is not an absolute http(s) URL`},
			{"ftp url", catalog.LocationInput{Type: "url", Target: "ftp://h/x.yaml"}, catalog.CreateLocationOptions{}, greenroom.CodeInvalid, `url location target "ftp://h/x.yaml" is not an absolute http(s) URL`},
			{"long target", catalog.LocationInput{Type: "url", Target: "https://h/" + strings.Repeat("x", 2048)}, catalog.CreateLocationOptions{}, greenroom.CodeInvalid, "location target is longer than 2048 bytes"},
			{"bad presence", catalog.LocationInput{Type: "url", Target: "https://h/x.yaml", Presence: "maybe"}, catalog.CreateLocationOptions{}, greenroom.CodeInvalid, `Malformed request: presence must be 'required' or 'optional', got "maybe"`},
			{"bad onConflict", catalog.LocationInput{Type: "url", Target: "https://h/x.yaml"}, catalog.CreateLocationOptions{OnConflict: "merge"}, greenroom.CodeInvalid, `onConflict must be 'reject' or 'refresh', got "merge"`},
			{"dry run with a bad entity", catalog.LocationInput{Type: "url", Target: srv.URL + "/bad/catalog.yaml"}, catalog.CreateLocationOptions{DryRun: true}, greenroom.CodeInvalid,
				srv.URL + "/bad/catalog.yaml:1: component:default/not_valid!: metadata.name: "},
			{"dry run of a missing file", catalog.LocationInput{Type: "url", Target: srv.URL + "/nope.yaml"}, catalog.CreateLocationOptions{DryRun: true}, greenroom.CodeInvalid,
				srv.URL + "/nope.yaml: not found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.CreateLocation(ctx, tt.in, tt.opts)
				if greenroom.ErrorCode(err) != tt.code || !strings.HasPrefix(greenroom.ErrorMessage(err), tt.msg) {
					t.Errorf("error %v (code %s), want %s %q", err, greenroom.ErrorCode(err), tt.code, tt.msg)
				}
			})
		}

		// file locations once allowed; the configured one is a conflict
		// that cannot be deleted.
		svc.SetLocationTypes("url", "file")
		_, err := svc.CreateLocation(ctx, cfg, catalog.CreateLocationOptions{})
		if greenroom.ErrorCode(err) != greenroom.CodeConflict || !strings.Contains(greenroom.ErrorMessage(err), "app-config") {
			t.Errorf("configured duplicate: %v", err)
		}
		all, _ := svc.Locations(ctx)
		err = svc.RemoveLocation(ctx, all[0].ID)
		if greenroom.ErrorCode(err) != greenroom.CodeConflict || !strings.Contains(greenroom.ErrorMessage(err), "app-config") {
			t.Errorf("delete configured: %v", err)
		}
		if _, err := svc.UpdateLocation(ctx, all[0].ID, catalog.LocationInput{Type: "url", Target: "https://h/x.yaml"}); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("update configured: %v", err)
		}
		_, err = svc.CreateLocation(ctx, catalog.LocationInput{Type: "file", Target: "/srv/../etc/x.yaml"}, catalog.CreateLocationOptions{})
		if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(greenroom.ErrorMessage(err), "not a clean absolute path") {
			t.Errorf("unclean file target: %v", err)
		}
	})
}

func TestDryRunLocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		srv := serve(t, remote)
		svc := newLocationService(t, s, srv)
		target := srv.URL + "/repo/catalog-info.yaml"
		res, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, raw := range res.Entities {
			var e annotated
			json.Unmarshal(raw, &e)
			names = append(names, e.Kind+":"+e.Metadata.Name)
		}
		want := []string{"Location:" + generatedName("url", target), "Component:remote-svc", "Location:remote-more", "API:remote-api"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("dry-run entities (-want +got):\n%s", diff)
		}
		if res.Location.ID != "url:"+target || res.Location.EntityRef != "" || res.Exists == nil || *res.Exists {
			t.Errorf("dry-run location %+v, exists %v", res.Location, res.Exists)
		}
		if all, _ := svc.Locations(ctx); len(all) != 1 {
			t.Errorf("a dry run stored a location: %v", all)
		}
		if _, err := entityAt(t, svc, "component", "remote-svc"); !greenroom.IsNotFound(err) {
			t.Errorf("a dry run stored an entity: %v", err)
		}
		if _, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err = svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: target}, catalog.CreateLocationOptions{DryRun: true})
		if err != nil || res.Exists == nil || !*res.Exists {
			t.Errorf("dry run of a registered location: exists %v, %v", res.Exists, err)
		}
	})
}

func TestRegisterFileLocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		dir := t.TempDir()
		root := filepath.Join(dir, "all.yaml")
		os.WriteFile(root, []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: files}\nspec: {target: ./svc.yaml}\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "svc.yaml"), []byte(strings.ReplaceAll(component, "%s", "on-disk")), 0o644)
		svc := newLocationService(t, s, serve(t, remote))
		svc.SetLocationTypes("url", "file")
		res, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "file", Target: root}, catalog.CreateLocationOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := entityAt(t, svc, "component", "on-disk")
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Metadata.Annotations["backstage.io/managed-by-origin-location"]; got != "file:"+root {
			t.Errorf("origin = %q, want file:%s", got, root)
		}
		if _, err := entityAt(t, svc, "location", generatedName("file", root)); err != nil {
			t.Errorf("generated Location entity: %v", err)
		}

		// Moved to another file: read at once from there.
		moved := filepath.Join(dir, "moved.yaml")
		os.WriteFile(moved, []byte(strings.ReplaceAll(component, "%s", "moved")), 0o644)
		up, err := svc.UpdateLocation(ctx, res.Location.ID, catalog.LocationInput{Type: "file", Target: moved})
		if err != nil {
			t.Fatal(err)
		}
		if up.ID != res.Location.ID || up.Target != moved || up.EntityRef != "location:default/"+generatedName("file", moved) {
			t.Errorf("updated %+v", up)
		}
		if got, err := svc.LocationByEntity(ctx, greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "moved"}); err != nil || got.ID != up.ID {
			t.Errorf("moved entity's location: %+v, %v", got, err)
		}
		st, err := svc.LocationStatus(ctx, up.ID)
		if err != nil || st.EntityCount != 2 || len(st.Problems) != 0 {
			t.Errorf("status after the move: %+v, %v; want the generated entity and moved", st, err)
		}
		if _, err := svc.UpdateLocation(ctx, "nope", catalog.LocationInput{Type: "file", Target: root}); !greenroom.IsNotFound(err) {
			t.Errorf("update unknown: %v", err)
		}
	})
}

func TestQueryLocations(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := t.Context()
	srv := serve(t, remote)
	svc := newLocationService(t, s, srv)
	for _, p := range []string{"/repo/catalog-info.yaml", "/other/one.yaml", "/bad/catalog.yaml"} {
		if _, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: srv.URL + p}, catalog.CreateLocationOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := svc.Locations(ctx)
	byTarget := map[string]string{}
	for _, l := range all {
		byTarget[l.Target] = l.ID
	}
	limit := func(n float64) *float64 { return &n }
	tests := []struct {
		name  string
		q     catalog.LocationsQuery
		want  []string // targets, in id order
		total int
		err   string
	}{
		{"all", catalog.LocationsQuery{}, nil, 4, ""},
		{"by type", catalog.LocationsQuery{Query: json.RawMessage(`{"type":"URL"}`)}, []string{srv.URL + "/repo/catalog-info.yaml", srv.URL + "/other/one.yaml", srv.URL + "/bad/catalog.yaml"}, 3, ""},
		{"prefix", catalog.LocationsQuery{Query: json.RawMessage(`{"target":{"$hasPrefix":"` + strings.ToUpper(srv.URL) + `/REPO"}}`)}, []string{srv.URL + "/repo/catalog-info.yaml"}, 1, ""},
		{"any and not", catalog.LocationsQuery{Query: json.RawMessage(`{"$any":[{"type":"file"},{"$not":{"target":{"$in":["` + srv.URL + `/repo/catalog-info.yaml","` + srv.URL + `/bad/catalog.yaml"]}}}]}`)},
			[]string{"/cfg/all.yaml", srv.URL + "/other/one.yaml"}, 2, ""},
		{"all of nothing", catalog.LocationsQuery{Query: json.RawMessage(`{"$all":[]}`)}, []string{}, 0, ""},
		{"id in is exact", catalog.LocationsQuery{Query: json.RawMessage(`{"id":{"$in":["` + strings.ToUpper(byTarget["/cfg/all.yaml"]) + `"]}}`)}, []string{}, 0, ""},
		{"entityRef", catalog.LocationsQuery{Query: json.RawMessage(`{"entityRef":"location:default/` + generatedName("url", srv.URL+"/other/one.yaml") + `"}`)}, []string{srv.URL + "/other/one.yaml"}, 1, ""},
		{"unknown field", catalog.LocationsQuery{Query: json.RawMessage(`{"owner":"x"}`)}, nil, 0, "Invalid filter predicate, expected key to be 'id', 'type', 'target', or 'entityRef', got 'owner'"},
		{"unknown operator", catalog.LocationsQuery{Query: json.RawMessage(`{"$nor":[]}`)}, nil, 0, "Invalid filter predicate, unknown logic operator '$nor'"},
		{"unknown matcher", catalog.LocationsQuery{Query: json.RawMessage(`{"type":{"$regex":"u.*"}}`)}, nil, 0, `Invalid filter predicate, got unknown matcher object '{"$regex":"u.*"}'`},
		{"not an object", catalog.LocationsQuery{Query: json.RawMessage(`["type"]`)}, nil, 0, "Invalid filter predicate, expected an object"},
		{"bad limit", catalog.LocationsQuery{Limit: limit(2.5)}, nil, 0, "Limit must be a positive integer >= 1"},
		{"zero limit", catalog.LocationsQuery{Limit: limit(0)}, nil, 0, "Limit must be a positive integer >= 1"},
		{"empty cursor", catalog.LocationsQuery{Cursor: new(string)}, nil, 0, "Cursor cannot be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := svc.QueryLocations(ctx, tt.q)
			if tt.err != "" {
				if greenroom.ErrorCode(err) != greenroom.CodeInvalid || greenroom.ErrorMessage(err) != tt.err {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if page.TotalItems != tt.total {
				t.Errorf("totalItems %d, want %d", page.TotalItems, tt.total)
			}
			if tt.want == nil {
				return
			}
			got := []string{}
			for _, l := range page.Items {
				got = append(got, l.Target)
			}
			want := sortByID(tt.want, byTarget)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("cursor walk", func(t *testing.T) {
		var seen []string
		page, err := svc.QueryLocations(ctx, catalog.LocationsQuery{Limit: limit(3)})
		for pages := 0; err == nil; pages++ {
			if page.TotalItems != 4 || pages > 3 {
				t.Fatalf("page %d: %+v", pages, page)
			}
			for _, l := range page.Items {
				seen = append(seen, l.ID)
			}
			if page.PageInfo.NextCursor == "" {
				break
			}
			c := page.PageInfo.NextCursor
			page, err = svc.QueryLocations(ctx, catalog.LocationsQuery{Cursor: &c})
		}
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range all {
			ids = append(ids, l.ID)
		}
		if diff := cmp.Diff(sortStrings(ids), seen); diff != "" {
			t.Errorf("walked (-want +got):\n%s", diff)
		}
		bad := "not-base64!"
		if _, err := svc.QueryLocations(ctx, catalog.LocationsQuery{Cursor: &bad}); greenroom.ErrorMessage(err) != "Malformed cursor, unknown encoding" {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func sortByID(targets []string, ids map[string]string) []string {
	out := append([]string{}, targets...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if ids[out[j]] < ids[out[i]] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func sortStrings(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestConfiguredURLSource(t *testing.T) {
	s := storetest.SQLite(t)
	srv := serve(t, remote)
	target := srv.URL + "/repo/catalog-info.yaml"
	src, err := catalog.URLSource(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := catalog.NewService(s, []catalog.Source{src}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	svc.SetURLReader(catalog.NewTestURLReader(srv.Client()))
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, err := entityAt(t, svc, "api", "remote-api")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Metadata.Annotations["backstage.io/managed-by-origin-location"]; got != "url:"+target {
		t.Errorf("origin %q", got)
	}
	// Configured: no generated Location entity, listed, not deletable.
	if _, err := entityAt(t, svc, "location", generatedName("url", target)); !greenroom.IsNotFound(err) {
		t.Errorf("a configured location got a generated entity: %v", err)
	}
	all, err := svc.Locations(t.Context())
	if err != nil || len(all) != 1 || all[0].Type != "url" || all[0].Target != target {
		t.Fatalf("locations %+v, %v", all, err)
	}
	if err := svc.RemoveLocation(t.Context(), all[0].ID); greenroom.ErrorCode(err) != greenroom.CodeConflict {
		t.Errorf("delete configured: %v", err)
	}
	if _, err := catalog.URLSource("file:///etc/x.yaml", nil); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("file URL accepted: %v", err)
	}
}
