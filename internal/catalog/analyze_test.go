package catalog_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

// hostMap is a URLReader that serves https://github.com/… and
// https://gitlab.com/… from the test server's /gh/ and /gl/, and records
// what it was asked for.
type hostMap struct {
	catalog.URLReader
	base  string
	mu    sync.Mutex
	asked []string
}

func (h *hostMap) ReadURL(ctx context.Context, rawURL string) ([]byte, error) {
	h.mu.Lock()
	h.asked = append(h.asked, rawURL)
	h.mu.Unlock()
	u := strings.NewReplacer("https://github.com/", h.base+"/gh/", "https://gitlab.com/", h.base+"/gl/").Replace(rawURL)
	return h.URLReader.ReadURL(ctx, u)
}

func (h *hostMap) last() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.asked) == 0 {
		return ""
	}
	return h.asked[len(h.asked)-1]
}

func TestAnalyzeLocation(t *testing.T) {
	s := storetest.SQLite(t)
	ctx := t.Context()
	files := map[string]string{
		"gh/acme/svc/blob/HEAD/catalog-info.yaml": strings.ReplaceAll(component, "%s", "acme-svc"),
	}
	fsys := cloneFS(remote)
	for p, body := range files {
		fsys[p] = fileOf(body)
	}
	srv := serve(t, fsys)
	svc := newLocationService(t, s, srv)
	reader := &hostMap{URLReader: catalog.NewTestURLReader(srv.Client()), base: srv.URL}
	svc.SetURLReader(reader)
	fileURL := srv.URL + "/repo/catalog-info.yaml"

	type existing struct {
		Target       string
		IsRegistered bool
		Name         string
	}
	summarize := func(resp catalog.AnalyzeLocationResponse) ([]existing, []map[string]any) {
		var ex []existing
		for _, e := range resp.ExistingEntityFiles {
			var ent struct{ Metadata struct{ Name string } }
			json.Unmarshal(e.Entity, &ent)
			if e.Location.Type != "url" {
				t.Errorf("existing entity location type %q", e.Location.Type)
			}
			ex = append(ex, existing{e.Location.Target, e.IsRegistered, ent.Metadata.Name})
		}
		var gen []map[string]any
		for _, g := range resp.GenerateEntities {
			if g.Fields == nil {
				t.Error("generateEntities[].fields is null, want []")
			}
			gen = append(gen, g.Entity)
		}
		return ex, gen
	}
	skeleton := func(name string, ann map[string]any) map[string]any {
		meta := map[string]any{"name": name}
		if ann != nil {
			meta["annotations"] = ann
		}
		return map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": meta, "spec": map[string]any{"type": "other", "lifecycle": "unknown"}}
	}

	tests := []struct {
		name      string
		req       catalog.AnalyzeLocationRequest
		register  bool // register fileURL first
		wantAsked string
		existing  []existing
		generate  []map[string]any
	}{
		{
			name: "catalog file", req: catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: fileURL}},
			existing: []existing{{fileURL, false, "remote-svc"}, {fileURL, false, "remote-more"}, {srv.URL + "/repo/more/apis.yaml", false, "remote-api"}},
		},
		{
			name: "registered catalog file", req: catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: fileURL}}, register: true,
			existing: []existing{{fileURL, true, "remote-svc"}, {fileURL, true, "remote-more"}, {srv.URL + "/repo/more/apis.yaml", false, "remote-api"}},
		},
		{
			name: "GitHub repository with a catalog file", req: catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://github.com/acme/svc"}},
			wantAsked: "https://github.com/acme/svc/blob/HEAD/catalog-info.yaml",
			existing:  []existing{{"https://github.com/acme/svc/blob/HEAD/catalog-info.yaml", false, "acme-svc"}},
		},
		{
			name: "GitHub repository without one", req: catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://github.com/acme/empty.git"}},
			wantAsked: "https://github.com/acme/empty/blob/HEAD/catalog-info.yaml",
			generate:  []map[string]any{skeleton("empty", map[string]any{"github.com/project-slug": "acme/empty"})},
		},
		{
			name: "GitLab directory, other file name", req: catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://gitlab.com/group/sub/proj/-/tree/main/svc"}, CatalogFilename: "meta/x.yaml"},
			wantAsked: "https://gitlab.com/group/sub/proj/-/blob/main/svc/meta/x.yaml",
			generate:  []map[string]any{skeleton("proj", map[string]any{"gitlab.com/project-slug": "group/sub/proj"})},
		},
		{
			name: "other host", req: catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: srv.URL + "/team/tool/"}},
			wantAsked: srv.URL + "/team/tool/catalog-info.yaml",
			generate:  []map[string]any{skeleton("tool", nil)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.register {
				if _, err := svc.CreateLocation(ctx, catalog.LocationInput{Type: "url", Target: fileURL}, catalog.CreateLocationOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := svc.AnalyzeLocation(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ExistingEntityFiles == nil || resp.GenerateEntities == nil {
				t.Error("a list is null, want []")
			}
			ex, gen := summarize(resp)
			if diff := cmp.Diff(tt.existing, ex); diff != "" {
				t.Errorf("existingEntityFiles (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.generate, gen); diff != "" {
				t.Errorf("generateEntities (-want +got):\n%s", diff)
			}
			if tt.wantAsked != "" && reader.last() != tt.wantAsked {
				t.Errorf("read %q, want %q", reader.last(), tt.wantAsked)
			}
		})
	}

	errs := []struct {
		name string
		req  catalog.AnalyzeLocationRequest
		code greenroom.Code
		msg  string
	}{
		{"file type", catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "file", Target: "/x.yaml"}}, greenroom.CodeInvalid, `analyze-location reads url locations only, got type "file"`},
		{"not a URL", catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "acme/svc"}}, greenroom.CodeInvalid, "The given location.target is not a URL"},
		{"no repository", catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://github.com/acme"}}, greenroom.CodeInvalid, "https://github.com/acme is neither a catalog file nor a repository URL"},
		{"escaping file name", catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: "https://github.com/acme/svc"}, CatalogFilename: "../x.yaml"}, greenroom.CodeInvalid, `catalogFilename "../x.yaml" is not a relative file name such as catalog-info.yaml`},
		{"missing catalog file", catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: srv.URL + "/nope.yaml"}}, greenroom.CodeNotFound, srv.URL + "/nope.yaml: not found"},
		{"invalid entity", catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: srv.URL + "/bad/catalog.yaml"}}, greenroom.CodeInvalid, srv.URL + "/bad/catalog.yaml:1: component:default/not_valid!: metadata.name"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.AnalyzeLocation(ctx, tt.req)
			if greenroom.ErrorCode(err) != tt.code || !strings.HasPrefix(greenroom.ErrorMessage(err), tt.msg) {
				t.Errorf("error %v (code %s), want %s %q", err, greenroom.ErrorCode(err), tt.code, tt.msg)
			}
		})
	}
	t.Run("no URL reader", func(t *testing.T) {
		bare, err := catalog.NewService(s, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		_, err = bare.AnalyzeLocation(ctx, catalog.AnalyzeLocationRequest{Location: catalog.LocationInput{Type: "url", Target: fileURL}})
		if greenroom.ErrorCode(err) != greenroom.CodeUnavailable {
			t.Errorf("error %v, want unavailable", err)
		}
	})
}
