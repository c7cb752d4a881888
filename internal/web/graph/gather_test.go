package graph

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/examples"
	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

var _ Source = (*catalog.Service)(nil)

func newCatalog(t *testing.T, s *store.Store, src catalog.Source) *catalog.Service {
	t.Helper()
	svc, err := catalog.NewService(s, []catalog.Source{src}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p := svc.Problems(); len(p) > 0 {
		t.Fatalf("catalog problems: %v", p)
	}
	return svc
}

func refs(g Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, n.Ref)
	}
	slices.Sort(out)
	return out
}

func edgeStrings(g Graph) []string {
	var out []string
	for _, e := range g.Edges {
		out = append(out, e.From+" "+e.Type+" "+e.To)
	}
	slices.Sort(out)
	return out
}

func TestGather(t *testing.T) {
	root := greenroom.EntityRef{Kind: "Component", Namespace: "default", Name: "a"}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newCatalog(t, s, catalog.Source{Name: "test", FS: os.DirFS("testdata/catalog"), Root: "all.yaml"})
		tests := []struct {
			name    string
			opts    GatherOptions
			nodes   []string
			edges   []string // nil: not checked
			hidden  int
			missing []string
		}{
			{
				name:  "depth 1",
				opts:  GatherOptions{},
				nodes: []string{"api:default/api-a", "api:default/api-x", "component:default/a", "component:default/b", "resource:default/db-a", "system:default/sys"},
				edges: []string{
					"api:default/api-a apiProvidedBy component:default/a",
					"component:default/a consumesApi api:default/api-x",
					"component:default/a dependsOn component:default/b",
					"component:default/a dependsOn resource:default/db-a",
					"component:default/b dependsOn component:default/a",
					"system:default/sys hasPart api:default/api-a",
					"system:default/sys hasPart component:default/a",
				},
			},
			{
				name:    "depth 2 reaches the chain and finds the missing resource",
				opts:    GatherOptions{Depth: 2},
				nodes:   []string{"api:default/api-a", "api:default/api-x", "component:default/a", "component:default/b", "component:default/c", "component:default/x", "resource:default/db-a", "system:default/sys"},
				missing: []string{"resource:default/missing"},
			},
			{
				name:    "depth 3",
				opts:    GatherOptions{Depth: 3},
				nodes:   []string{"api:default/api-a", "api:default/api-x", "component:default/a", "component:default/b", "component:default/c", "component:default/d", "component:default/x", "resource:default/db-a", "system:default/sys"},
				missing: []string{"resource:default/missing"},
			},
			{
				name: "node bound keeps the first found",
				opts: GatherOptions{MaxNodes: 4},
				// a's relations in stitched order: consumesApi api-x,
				// dependencyOf b, dependsOn b, dependsOn db-a, …
				nodes:  []string{"api:default/api-x", "component:default/a", "component:default/b", "resource:default/db-a"},
				hidden: 2, // sys and api-a
			},
			{
				name:  "kinds",
				opts:  GatherOptions{Depth: 4, Kinds: []string{"Component"}},
				nodes: []string{"component:default/a", "component:default/b", "component:default/c", "component:default/d"},
			},
			{
				name:  "relations",
				opts:  GatherOptions{Relations: []string{"ownedBy"}},
				nodes: []string{"component:default/a", "group:default/team"},
				edges: []string{"group:default/team ownerOf component:default/a"},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g, err := Gather(t.Context(), svc, root, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if g.Root != "component:default/a" {
					t.Errorf("root %q", g.Root)
				}
				if diff := cmp.Diff(tt.nodes, refs(g)); diff != "" {
					t.Errorf("nodes (-want +got):\n%s", diff)
				}
				if tt.edges != nil {
					if diff := cmp.Diff(tt.edges, edgeStrings(g)); diff != "" {
						t.Errorf("edges (-want +got):\n%s", diff)
					}
				}
				if g.Hidden != tt.hidden || !slices.Equal(g.Missing, tt.missing) {
					t.Errorf("hidden %d missing %v, want %d %v", g.Hidden, g.Missing, tt.hidden, tt.missing)
				}
				for _, n := range g.Nodes {
					kind, rest, _ := strings.Cut(n.Ref, ":")
					ns, name, _ := strings.Cut(rest, "/")
					if want := "/catalog/" + ns + "/" + kind + "/" + name; n.Href != want {
						t.Errorf("%s: href %q, want %q", n.Ref, n.Href, want)
					}
				}
				r, err := Render(g, Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkSVG(t, g, r)
				if tt.hidden > 0 && !strings.Contains(r.Caption, "2 more not shown") {
					t.Errorf("caption %q does not say what is hidden", r.Caption)
				}
			})
		}
		if g, _ := Gather(t.Context(), svc, root, GatherOptions{}); g.Nodes[0].Title != "Service A" {
			t.Errorf("root title %q, want metadata.title", g.Nodes[0].Title)
		}
		_, err := Gather(t.Context(), svc, greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "nope"}, GatherOptions{})
		if !greenroom.IsNotFound(err) || !strings.Contains(err.Error(), "component:default/nope is not in the catalog") {
			t.Errorf("unknown root: %v", err)
		}
		for _, o := range []GatherOptions{{Depth: -1}, {Depth: MaxDepth + 1}, {MaxNodes: -1}, {MaxNodes: MaxNodes + 1}} {
			if _, err := Gather(t.Context(), svc, root, o); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
				t.Errorf("%+v: error %v, want invalid", o, err)
			}
		}
	})
}

func TestGatherDemo(t *testing.T) {
	s := storetest.SQLite(t)
	svc := newCatalog(t, s, catalog.Source{Name: "demo", FS: examples.FS, Root: examples.Root})
	root := greenroom.EntityRef{Kind: "Component", Namespace: "default", Name: "payment-gateway"}
	prev := 0
	for depth := 1; depth <= 3; depth++ {
		g, err := Gather(t.Context(), svc, root, GatherOptions{Depth: depth})
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Nodes) <= prev {
			t.Errorf("depth %d: %d nodes, no more than depth %d's %d", depth, len(g.Nodes), depth-1, prev)
		}
		prev = len(g.Nodes)
		r, err := Render(g, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkSVG(t, g, r)
		if len(r.Sentences) != len(g.Edges) {
			t.Errorf("depth %d: %d sentences for %d edges", depth, len(r.Sentences), len(g.Edges))
		}
	}
}

type failingSource struct{}

func (failingSource) EntitiesByRefs(context.Context, []string, *query.Filter, query.Fields) ([]json.RawMessage, error) {
	return nil, errors.New("database is down")
}

func TestGatherSourceError(t *testing.T) {
	_, err := Gather(t.Context(), failingSource{}, greenroom.EntityRef{Kind: "component", Namespace: "default", Name: "a"}, GatherOptions{})
	if err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("error %v", err)
	}
}
