package graph

import (
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// The SVG as the tests read it back with encoding/xml.
type svgDoc struct {
	Role        string    `xml:"role,attr"`
	LabelledBy  string    `xml:"aria-labelledby,attr"`
	DescribedBy string    `xml:"aria-describedby,attr"`
	Width       string    `xml:"width,attr"`
	Height      string    `xml:"height,attr"`
	ViewBox     string    `xml:"viewBox,attr"`
	Title       svgText   `xml:"title"`
	Desc        svgText   `xml:"desc"`
	Groups      []svgG    `xml:"g"`
	Defs        []svgDefs `xml:"defs"`
}

type svgDefs struct {
	Markers []struct {
		ID string `xml:"id,attr"`
	} `xml:"marker"`
}

type svgText struct {
	ID    string `xml:"id,attr"`
	Class string `xml:"class,attr"`
	Text  string `xml:",chardata"`
}

type svgG struct {
	Class string    `xml:"class,attr"`
	Links []svgLink `xml:"a"`
	Edges []svgEdge `xml:"g"`
}

type svgLink struct {
	Href        string    `xml:"href,attr"`
	Class       string    `xml:"class,attr"`
	AriaLabel   string    `xml:"aria-label,attr"`
	AriaCurrent string    `xml:"aria-current,attr"`
	Title       string    `xml:"title"`
	Rects       []svgRect `xml:"rect"`
	Texts       []svgText `xml:"text"`
}

type svgRect struct {
	Class string  `xml:"class,attr"`
	X     float64 `xml:"x,attr"`
	Y     float64 `xml:"y,attr"`
	W     float64 `xml:"width,attr"`
	H     float64 `xml:"height,attr"`
}

type svgEdge struct {
	Class string `xml:"class,attr"`
	From  string `xml:"data-from,attr"`
	To    string `xml:"data-to,attr"`
	Type  string `xml:"data-type,attr"`
	Title string `xml:"title"`
	Paths []struct {
		D           string `xml:"d,attr"`
		MarkerEnd   string `xml:"marker-end,attr"`
		MarkerStart string `xml:"marker-start,attr"`
		Dash        string `xml:"stroke-dasharray,attr"`
	} `xml:"path"`
}

func parseSVG(t testing.TB, svg string) svgDoc {
	t.Helper()
	// encoding/xml accepts an attribute given twice; browsers and XML
	// parsers do not.
	tok := xml.NewDecoder(strings.NewReader(svg))
	for {
		tk, err := tok.Token()
		if err != nil {
			break
		}
		if se, ok := tk.(xml.StartElement); ok {
			seen := map[string]bool{}
			for _, a := range se.Attr {
				if seen[a.Name.Local] {
					t.Fatalf("<%s> has attribute %s twice", se.Name.Local, a.Name.Local)
				}
				seen[a.Name.Local] = true
			}
		}
	}
	var doc svgDoc
	dec := xml.NewDecoder(strings.NewReader(svg))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("SVG does not parse as XML: %v\n%.2000s", err, svg)
	}
	return doc
}

func (d svgDoc) group(class string) svgG {
	for _, g := range d.Groups {
		if g.Class == class {
			return g
		}
	}
	return svgG{}
}

func (r svgRect) overlaps(o svgRect) bool {
	return r.X < o.X+o.W && o.X < r.X+r.W && r.Y < o.Y+o.H && o.Y < r.Y+r.H
}

// checkSVG asserts the structural rules every rendered graph keeps and
// returns the parsed document.
func checkSVG(t *testing.T, g Graph, r Rendered) svgDoc {
	t.Helper()
	doc := parseSVG(t, string(r.SVG))
	if doc.Role != "group" || doc.LabelledBy != doc.Title.ID || doc.DescribedBy != doc.Desc.ID || doc.Title.ID == "" || doc.Desc.ID == "" {
		t.Errorf("svg role %q labelledby %q (title %q) describedby %q (desc %q)", doc.Role, doc.LabelledBy, doc.Title.ID, doc.DescribedBy, doc.Desc.ID)
	}
	if strings.TrimSpace(doc.Title.Text) == "" || strings.TrimSpace(doc.Desc.Text) == "" {
		t.Errorf("empty title or desc: %+v %+v", doc.Title, doc.Desc)
	}
	w, _ := strconv.ParseFloat(doc.Width, 64)
	h, _ := strconv.ParseFloat(doc.Height, 64)
	if doc.ViewBox != "0 0 "+doc.Width+" "+doc.Height || w <= 0 || h <= 0 {
		t.Errorf("size %sx%s, viewBox %q", doc.Width, doc.Height, doc.ViewBox)
	}

	links := doc.group("gr-graph-nodes").Links
	if len(links) != len(g.Nodes) {
		t.Fatalf("%d links for %d nodes", len(links), len(g.Nodes))
	}
	byHref := map[string]svgLink{}
	var boxes []svgRect
	roots := 0
	for _, a := range links {
		byHref[a.Href] = a
		if a.AriaCurrent == "page" {
			roots++
		}
		var box *svgRect
		for i := range a.Rects {
			if a.Rects[i].Class == "gr-graph-box" {
				box = &a.Rects[i]
			}
		}
		if box == nil {
			t.Fatalf("link %q has no box", a.Href)
		}
		if box.X < 0 || box.Y < 0 || box.X+box.W > w || box.Y+box.H > h {
			t.Errorf("box of %q at %+v is outside the %gx%g canvas", a.Href, *box, w, h)
		}
		boxes = append(boxes, *box)
		for _, tx := range a.Texts {
			if tx.Class == "gr-graph-title" && textUnits(tx.Text) > titleUnits {
				t.Errorf("title %q of %q is %.1f units wide, more than %d", tx.Text, a.Href, textUnits(tx.Text), titleUnits)
			}
		}
	}
	if roots != 1 {
		t.Errorf("%d links have aria-current=page, want the root's only", roots)
	}
	for _, n := range g.Nodes {
		a, ok := byHref[n.Href]
		if !ok {
			t.Errorf("node %s has no link to %q", n.Ref, n.Href)
			continue
		}
		if !strings.Contains(a.Title, xmlSafe(n.label())) || !strings.Contains(a.Title, n.Ref) {
			t.Errorf("node %s: tooltip %q lacks the full title %q", n.Ref, a.Title, n.label())
		}
		if a.AriaLabel != "" {
			t.Errorf("node %s: aria-label %q overrides the link's title (its accessible name)", n.Ref, a.AriaLabel)
		}
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if boxes[i].overlaps(boxes[j]) {
				t.Fatalf("boxes %+v and %+v overlap", boxes[i], boxes[j])
			}
		}
	}

	refs := map[string]bool{}
	for _, n := range g.Nodes {
		refs[key(n.Ref)] = true
	}
	marker := doc.Defs[0].Markers[0].ID
	for _, e := range doc.group("gr-graph-edges").Edges {
		if !refs[e.From] || !refs[e.To] {
			t.Errorf("edge %s → %s names a node that is not there", e.From, e.To)
		}
		if len(e.Paths) != 1 || e.Title == "" {
			t.Errorf("edge %s → %s: %d paths, title %q", e.From, e.To, len(e.Paths), e.Title)
			continue
		}
		p := e.Paths[0]
		if (p.MarkerEnd == "") == (p.MarkerStart == "") || !strings.Contains(p.MarkerEnd+p.MarkerStart, "#"+marker+")") {
			t.Errorf("edge %s → %s: markers end %q start %q, want one of url(#%s)", e.From, e.To, p.MarkerEnd, p.MarkerStart, marker)
		}
	}
	return doc
}

func node(ref string) Node {
	kind, rest, _ := strings.Cut(ref, ":")
	_, name, _ := strings.Cut(rest, "/")
	return Node{Ref: ref, Kind: kind, Title: name, Href: "/catalog/default/" + kind + "/" + name}
}

// randomGraph is a deterministic graph of n nodes shaped like a catalog:
// components depending on resources and each other, APIs provided and
// consumed, systems holding parts, and a few cycles.
func randomGraph(n int, seed uint64) Graph {
	rng := rand.New(rand.NewPCG(seed, 7))
	g := Graph{Root: "component:default/c0"}
	kinds := []string{"component", "component", "component", "api", "resource", "system"}
	for i := range n {
		k := kinds[rng.IntN(len(kinds))]
		if i == 0 {
			k = "component"
		}
		g.Nodes = append(g.Nodes, node(fmt.Sprintf("%s:default/%s%d", k, k[:1], i)))
	}
	for i := 1; i < n; i++ {
		// Attach every node to an earlier one, so the graph is connected,
		// and add a few more edges.
		for e := 0; e < 1+rng.IntN(2); e++ {
			j := rng.IntN(i)
			a, b := g.Nodes[j], g.Nodes[i]
			typ := "dependsOn"
			switch {
			case b.Kind == "api" && a.Kind == "component":
				typ = []string{"providesApi", "consumesApi"}[rng.IntN(2)]
			case a.Kind == "system":
				typ = "hasPart"
			case b.Kind == "system":
				typ = "partOf"
			}
			if rng.IntN(20) == 0 {
				a, b = b, a // now and then an edge back: a cycle
			}
			g.Edges = append(g.Edges, Edge{From: a.Ref, To: b.Ref, Type: typ})
		}
	}
	return g
}

// xmlSafe is s as it reads back from the SVG: characters XML cannot hold
// become U+FFFD.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF || (r >= 0x7F && r <= 0x9F) {
			return '\uFFFD'
		}
		return r
	}, s)
}
