package graph

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"greenroom/internal/greenroom"
)

// Bounds on what Render accepts. Gather stays within them.
const (
	// MaxNodes is the most nodes one diagram holds.
	MaxNodes = 2000
	// MaxEdges is the most edges one diagram holds.
	MaxEdges = 8000
	// maxText bounds each string of a node, in bytes.
	maxText = 1024
)

// Node is one entity of the diagram.
type Node struct {
	// Ref identifies the node: the entity's ref, kind:namespace/name,
	// compared case-insensitively.
	Ref string
	// Kind is shown above the title, as written (Component, API…).
	Kind string
	// Title is the node's label; the name part of Ref when empty.
	Title string
	// Href is the link of the node: a path on this site ("/catalog/…") or
	// an absolute http(s) URL.
	Href string
}

// Edge is one relation between two nodes, as the catalog names it: From
// has relation Type to To ("payments-service dependsOn ledger-db"). Either
// direction of a relation pair may be given (dependencyOf is drawn as the
// dependsOn it mirrors); types this package does not know are drawn with a
// generic style and named as written.
type Edge struct {
	From, To string
	Type     string
}

// Graph is what Render draws: nodes, the relations among them, and what
// was left out.
type Graph struct {
	// Root is the ref of the entity the diagram is about; it must be a node.
	Root  string
	Nodes []Node
	Edges []Edge
	// Hidden counts related entities found but not shown, because of the
	// node bound; the diagram says "n more not shown".
	Hidden int
	// Missing lists refs that relations name but the catalog does not hold.
	Missing []string
	// Depth is the depth the graph was gathered to, for the caption (0 when
	// unknown).
	Depth int
}

// relation describes one relation type: the direction it is drawn in, how
// a sentence reads it, and its line style.
type relation struct {
	primary string // the type of the pair drawn; edges of the other type are turned round
	legend  string // legend text for the primary direction
	// verb reads "From verb To" for the primary direction; passive turns
	// it round: "To verb From".
	verb    string
	passive bool
	dash    string // stroke-dasharray, "" for solid
	rank    int    // drawing priority when two types join the same nodes
}

// relations follows Backstage's ALL_RELATION_PAIRS (catalog-graph's
// lib/types/relations.ts): the first of each pair is the one drawn, so
// consumers point at APIs, APIs at their providers, providers at what they
// depend on, systems at their parts and owners at what they own.
var relations = map[string]relation{
	"dependsOn":     {primary: "dependsOn", legend: "depends on", verb: "depends on", rank: 0},
	"consumesApi":   {primary: "consumesApi", legend: "consumes API", verb: "consumes the API", dash: "8 4", rank: 1},
	"apiProvidedBy": {primary: "apiProvidedBy", legend: "API provided by", verb: "is provided by", dash: "10 3 2 3", rank: 2},
	"hasPart":       {primary: "hasPart", legend: "has part", verb: "is part of", passive: true, dash: "0.1 5", rank: 3},
	"ownerOf":       {primary: "ownerOf", legend: "owns", verb: "owns", dash: "14 3 2 3 2 3", rank: 4},
	"parentOf":      {primary: "parentOf", legend: "parent of", verb: "is a child of", passive: true, dash: "3 3", rank: 5},
	"hasMember":     {primary: "hasMember", legend: "has member", verb: "is a member of", passive: true, dash: "16 3 6 3", rank: 6},
}

// mirrors maps the second type of each pair to the first.
var mirrors = map[string]string{
	"dependencyOf":  "dependsOn",
	"apiConsumedBy": "consumesApi",
	"providesApi":   "apiProvidedBy",
	"partOf":        "hasPart",
	"ownedBy":       "ownerOf",
	"childOf":       "parentOf",
	"memberOf":      "hasMember",
}

// otherRelation is the style of relation types the table does not know.
var otherRelation = relation{dash: "22 5", rank: 100}

// normalise returns the edge in its drawn direction and its description.
func normalise(e Edge) (Edge, relation) {
	if p, ok := mirrors[e.Type]; ok {
		return Edge{From: e.To, To: e.From, Type: p}, relations[p]
	}
	if r, ok := relations[e.Type]; ok {
		return e, r
	}
	r := otherRelation
	r.primary, r.legend, r.verb = e.Type, e.Type, e.Type
	return e, r
}

// key is the comparison form of a ref.
func key(ref string) string { return strings.ToLower(strings.TrimSpace(ref)) }

// check validates g and returns it indexed: node index by key.
func check(g Graph) (map[string]int, error) {
	if len(g.Nodes) == 0 {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: no nodes")
	}
	if len(g.Nodes) > MaxNodes {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: %d nodes, at most %d can be drawn", len(g.Nodes), MaxNodes)
	}
	if len(g.Edges) > MaxEdges {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: %d edges, at most %d can be drawn", len(g.Edges), MaxEdges)
	}
	index := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		k := key(n.Ref)
		switch {
		case k == "":
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: node %d has no ref", i)
		case len(n.Ref) > maxText || len(n.Kind) > maxText || len(n.Title) > maxText || len(n.Href) > 4*maxText:
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: node %d (%.64s): a field is longer than %d bytes", i, n.Ref, maxText)
		case !utf8.ValidString(n.Ref + n.Kind + n.Title + n.Href):
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: node %d (%q) is not valid UTF-8", i, n.Ref)
		}
		if _, dup := index[k]; dup {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: node %q is given twice", n.Ref)
		}
		if err := checkHref(n.Href); err != nil {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: node %q: %w", n.Ref, err)
		}
		index[k] = i
	}
	if _, ok := index[key(g.Root)]; !ok {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: root %q is not one of the nodes", g.Root)
	}
	for i, e := range g.Edges {
		if _, ok := index[key(e.From)]; !ok {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: edge %d: from %q is not one of the nodes", i, e.From)
		}
		if _, ok := index[key(e.To)]; !ok {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: edge %d: to %q is not one of the nodes", i, e.To)
		}
		if e.Type == "" || len(e.Type) > 128 || !utf8.ValidString(e.Type) {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "graph: edge %d (%s → %s): the type must be 1 to 128 bytes of UTF-8", i, e.From, e.To)
		}
	}
	return index, nil
}

// checkHref accepts a path on this site or an absolute http(s) URL, so
// that no javascript: or data: link reaches the page.
func checkHref(h string) error {
	if h == "" {
		return fmt.Errorf("no href")
	}
	if strings.ContainsAny(h, "\x00\r\n\t\\") {
		return fmt.Errorf("href %q has a control character or a backslash", h)
	}
	u, err := url.Parse(h)
	if err != nil {
		return fmt.Errorf("href %q: %w", h, err)
	}
	switch {
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(h, "/") && !strings.HasPrefix(h, "//"):
		return nil
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return nil
	}
	return fmt.Errorf("href %q must be a path starting with / or an http(s) URL", h)
}

// title returns the node's label.
func (n Node) label() string {
	if t := strings.TrimSpace(n.Title); t != "" {
		return t
	}
	r := n.Ref
	if i := strings.LastIndexAny(r, ":/"); i >= 0 {
		r = r[i+1:]
	}
	return r
}
