package graph

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func loadGraph(t *testing.T, name string) Graph {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "graphs", name))
	if err != nil {
		t.Fatal(err)
	}
	var g Graph
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return g
}

func TestRenderTestdata(t *testing.T) {
	tests := []struct {
		file      string
		sentences []string // the text alternative, in order; nil to skip
		edges     int      // edge lines drawn
		reversed  int      // of which drawn against the layout's direction
	}{
		{
			file: "payments.json",
			sentences: []string{
				"Ledger Service depends on Ledger database",
				"Payments Service depends on Payments database",
				"Checkout web app consumes the API Payments API",
				"Payments Service consumes the API Ledger API",
				"Ledger API is provided by Ledger Service",
				"Payments API is provided by Payments Service",
				"Ledger Service is part of Payments processing",
				"Payments Service is part of Payments processing",
			},
			edges: 8, // dependencyOf mirrors a dependsOn already given
		},
		{
			file: "cycle.json",
			sentences: []string{
				"a depends on b", "b depends on c", "c depends on a", "c depends on d", "d depends on d",
				"b consumes the API a",
			},
			edges:    6,
			reversed: 2, // c → a, and b → a joining the same pair
		},
		{file: "hostile.json", edges: 2},
		{file: "single.json", sentences: []string{}, edges: 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			g := loadGraph(t, tt.file)
			r, err := Render(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			doc := checkSVG(t, g, r)
			if tt.sentences != nil {
				got := []string{}
				for _, s := range r.Sentences {
					got = append(got, s.Text())
				}
				if diff := cmp.Diff(tt.sentences, got); diff != "" {
					t.Errorf("sentences (-want +got):\n%s", diff)
				}
			}
			edges := doc.group("gr-graph-edges").Edges
			rev := 0
			for _, e := range edges {
				if e.Paths[0].MarkerStart != "" {
					rev++
				}
			}
			if len(edges) != tt.edges || rev != tt.reversed {
				t.Errorf("%d edges (%d reversed), want %d (%d)", len(edges), rev, tt.edges, tt.reversed)
			}
			if strings.Count(string(r.Relations), "<li>") != len(r.Sentences) {
				t.Errorf("relation list has %d items for %d sentences", strings.Count(string(r.Relations), "<li>"), len(r.Sentences))
			}
			again, err := Render(g, Options{})
			if err != nil || again.HTML != r.HTML {
				t.Errorf("a second render differs (err %v)", err)
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(tt.file, ".json")+".html")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(r.HTML+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(r.HTML)+"\n"); diff != "" {
				t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", golden, diff)
			}
		})
	}
}

func TestRenderEscapesHostileText(t *testing.T) {
	g := loadGraph(t, "hostile.json")
	r, err := Render(g, Options{ID: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{string(r.HTML), string(r.SVG), string(r.Relations)} {
		for _, bad := range []string{"<script", "<svg onload", "<b>", "<relatedTo", "\x00", "\x07", "]]>"} {
			if strings.Contains(part, bad) {
				t.Errorf("output contains %q unescaped", bad)
			}
		}
	}
	if !strings.Contains(string(r.SVG), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
		t.Errorf("the hostile title is not shown escaped")
	}
	doc := parseSVG(t, string(r.SVG))
	for _, a := range doc.group("gr-graph-nodes").Links {
		if a.Href == "/catalog/default/component/x?a=1&b=\"2\"" && !strings.HasPrefix(a.Title, "<script>alert('x')</script>") {
			t.Errorf("tooltip %q does not read back as the title", a.Title)
		}
	}
	if !strings.Contains(string(r.Relations), `class="gr-graph-relations" id="g1-relations"`) {
		t.Errorf("relations list lacks its id")
	}
	// The unknown relation type is named as written, escaped.
	if !strings.Contains(string(r.Relations), "&lt;relatedTo onmouseover=alert(1)&gt;") {
		t.Errorf("unknown relation type not shown escaped: %s", r.Relations)
	}
}

func TestRenderRejects(t *testing.T) {
	ok := func() Graph { return loadGraph(t, "payments.json") }
	tests := []struct {
		name   string
		mutate func(*Graph, *Options)
		want   string
	}{
		{"no nodes", func(g *Graph, _ *Options) { g.Nodes = nil }, "no nodes"},
		{"root not a node", func(g *Graph, _ *Options) { g.Root = "component:default/nope" }, `root "component:default/nope" is not one of the nodes`},
		{"edge to nowhere", func(g *Graph, _ *Options) { g.Edges[2].To = "resource:default/nope" }, `edge 2: to "resource:default/nope" is not one of the nodes`},
		{"edge from nowhere", func(g *Graph, _ *Options) { g.Edges[0].From = "x" }, `edge 0: from "x" is not one of the nodes`},
		{"edge without type", func(g *Graph, _ *Options) { g.Edges[1].Type = "" }, "edge 1"},
		{"duplicate node", func(g *Graph, _ *Options) { g.Nodes[3].Ref = "API:default/Payments-API" }, `node "API:default/Payments-API" is given twice`},
		{"javascript href", func(g *Graph, _ *Options) { g.Nodes[1].Href = "javascript:alert(1)" }, "must be a path starting with / or an http(s) URL"},
		{"protocol-relative href", func(g *Graph, _ *Options) { g.Nodes[1].Href = "//evil.example/x" }, "must be a path"},
		{"data href", func(g *Graph, _ *Options) { g.Nodes[1].Href = "data:text/html,hi" }, "must be a path"},
		{"no href", func(g *Graph, _ *Options) { g.Nodes[1].Href = "" }, "no href"},
		{"node without ref", func(g *Graph, _ *Options) { g.Nodes[4].Ref = " " }, "node 4 has no ref"},
		{"bad utf-8", func(g *Graph, _ *Options) { g.Nodes[4].Title = "\xff" }, "not valid UTF-8"},
		{"huge title", func(g *Graph, _ *Options) { g.Nodes[4].Title = strings.Repeat("x", 5000) }, "longer than 1024 bytes"},
		{"too many nodes", func(g *Graph, _ *Options) {
			for i := range MaxNodes {
				g.Nodes = append(g.Nodes, node("component:default/n"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+strconv.Itoa(i)))
			}
		}, "at most 2000 can be drawn"},
		{"bad id", func(_ *Graph, o *Options) { o.ID = `x" onload="y` }, "must be a letter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, o := ok(), Options{}
			tt.mutate(&g, &o)
			_, err := Render(g, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRenderLargeGraphsStayReadable(t *testing.T) {
	for _, n := range []int{50, 200, 500} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			g := randomGraph(n, uint64(n))
			r, err := Render(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkSVG(t, g, r)
			// Columns are bounded, so the diagram grows in both directions
			// rather than into one very tall column.
			doc := parseSVG(t, string(r.SVG))
			perColumn := map[float64]int{}
			for _, a := range doc.group("gr-graph-nodes").Links {
				for _, rc := range a.Rects {
					if rc.Class == "gr-graph-box" {
						perColumn[rc.X]++
					}
				}
			}
			for x, c := range perColumn {
				if c > layerCap(n) {
					t.Errorf("%d boxes in the column at x=%g, at most %d wanted", c, x, layerCap(n))
				}
			}
			if len(perColumn) < 2 {
				t.Errorf("%d nodes in %d columns", n, len(perColumn))
			}
		})
	}
}

func TestCrossingReduction(t *testing.T) {
	// A binary tree given in an order that crosses every edge pair: the
	// sweeps must find the planar drawing.
	g := Graph{Root: "component:default/r"}
	g.Nodes = append(g.Nodes, node("component:default/r"))
	names := []string{"a", "b", "a1", "b1", "a2", "b2"}
	for _, n := range names {
		g.Nodes = append(g.Nodes, node("component:default/"+n))
	}
	for _, e := range [][2]string{{"r", "b"}, {"r", "a"}, {"a", "a2"}, {"b", "b1"}, {"a", "a1"}, {"b", "b2"}} {
		g.Edges = append(g.Edges, Edge{From: "component:default/" + e[0], To: "component:default/" + e[1], Type: "dependsOn"})
	}
	index, err := check(g)
	if err != nil {
		t.Fatal(err)
	}
	d, err := layout(g, index)
	if err != nil {
		t.Fatal(err)
	}
	if d.crosses != 0 {
		t.Errorf("%d crossings in a tree", d.crosses)
	}
	// And crossings are counted: K(2,2) drawn in any order crosses once.
	k := Graph{Root: "component:default/x1"}
	for _, n := range []string{"x1", "x2", "y1", "y2"} {
		k.Nodes = append(k.Nodes, node("component:default/"+n))
	}
	for _, e := range [][2]string{{"x1", "y1"}, {"x1", "y2"}, {"x2", "y1"}, {"x2", "y2"}} {
		k.Edges = append(k.Edges, Edge{From: "component:default/" + e[0], To: "component:default/" + e[1], Type: "dependsOn"})
	}
	index, _ = check(k)
	d, err = layout(k, index)
	if err != nil {
		t.Fatal(err)
	}
	if d.crosses != 1 {
		t.Errorf("K(2,2): %d crossings, want 1", d.crosses)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Short", "Short"},
		{"Payments Service", "Payments Service"},
		{"An extraordinarily long component title", "An extraordinarily long com…"},
		{"漢字漢字漢字漢字漢字漢字漢字漢字", "漢字漢字漢字漢字漢字漢字…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, titleUnits); got != tt.want {
			t.Errorf("truncate(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if textUnits(truncate(tt.in, titleUnits)) > titleUnits {
			t.Errorf("truncate(%q) is still too wide", tt.in)
		}
	}
}
