package graph

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Source is the part of the catalog Gather reads; *catalog.Service
// implements it.
type Source interface {
	// EntitiesByRefs returns the entities named by refs in their order,
	// JSON null for each that is missing, projected to fields. An error
	// means the catalog could not be read.
	EntitiesByRefs(ctx context.Context, refs []string, filter *query.Filter, fields query.Fields) ([]json.RawMessage, error)
}

// Bounds and defaults of Gather.
const (
	// DefaultDepth is Backstage's catalog graph card's: direct relations.
	DefaultDepth = 1
	// MaxDepth is the deepest Gather goes.
	MaxDepth = 8
	// DefaultMaxNodes is the node bound when GatherOptions leaves it 0.
	DefaultMaxNodes = 500
	// fetchBatch is how many refs one EntitiesByRefs call asks for.
	fetchBatch = 500
)

// DefaultRelations are the relations of the Dependencies section: depends
// on and dependency of, provided and consumed APIs, and system membership.
var DefaultRelations = []string{
	"dependsOn", "dependencyOf", "providesApi", "apiProvidedBy", "consumesApi", "apiConsumedBy", "partOf", "hasPart",
}

// GatherOptions tune Gather.
type GatherOptions struct {
	// Depth is how many relation hops from the root to follow, 1 to
	// MaxDepth; 0 means DefaultDepth.
	Depth int
	// MaxNodes bounds the nodes, root included, up to MaxNodes; 0 means
	// DefaultMaxNodes. Entities found beyond it are counted in
	// Graph.Hidden.
	MaxNodes int
	// Relations are the relation types followed and drawn; naming either
	// type of a pair does not imply the other. nil means DefaultRelations.
	Relations []string
	// Kinds, when not empty, keeps only related entities of these kinds
	// (compared case-insensitively); the root is always kept.
	Kinds []string
	// Href makes a node's link; nil means EntityHref.
	Href func(greenroom.EntityRef) string
}

// EntityHref is the portal's entity page, /catalog/:namespace/:kind/:name,
// with kind and namespace lowercased as Backstage's catalog graph links
// them.
func EntityHref(r greenroom.EntityRef) string {
	return "/catalog/" + url.PathEscape(strings.ToLower(r.Namespace)) + "/" + url.PathEscape(strings.ToLower(r.Kind)) + "/" + url.PathEscape(r.Name)
}

// gatherFields is the projection Gather asks for.
var gatherFields = query.Fields{"kind", "metadata.name", "metadata.namespace", "metadata.title", "relations"}

type gathered struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Title     string `json:"title"`
	} `json:"metadata"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

// Gather collects the graph around root: a breadth-first walk over the
// chosen relations, level by level up to the depth, of at most MaxNodes
// entities (the first found are kept; the others are counted in Hidden),
// and every chosen relation among the entities kept. Relations to
// entities the catalog does not hold are listed in Missing. Edges come in
// their drawn direction (dependsOn rather than dependencyOf).
//
// It fails with code not_found when the root is not in the catalog, with
// code invalid on bad options, and with the Source's error otherwise.
func Gather(ctx context.Context, src Source, root greenroom.EntityRef, opts GatherOptions) (Graph, error) {
	depth := cmp.Or(opts.Depth, DefaultDepth)
	if depth < 1 || depth > MaxDepth {
		return Graph{}, greenroom.Errorf(greenroom.CodeInvalid, "graph: depth %d: choose 1 to %d", opts.Depth, MaxDepth)
	}
	maxNodes := cmp.Or(opts.MaxNodes, DefaultMaxNodes)
	if maxNodes < 1 || maxNodes > MaxNodes {
		return Graph{}, greenroom.Errorf(greenroom.CodeInvalid, "graph: node bound %d: choose 1 to %d", opts.MaxNodes, MaxNodes)
	}
	rels := opts.Relations
	if rels == nil {
		rels = DefaultRelations
	}
	follow := map[string]bool{}
	for _, r := range rels {
		follow[r] = true
	}
	kinds := map[string]bool{}
	for _, k := range opts.Kinds {
		kinds[strings.ToLower(k)] = true
	}
	href := opts.Href
	if href == nil {
		href = EntityHref
	}

	type member struct {
		node Node
		ent  gathered
	}
	var members []member
	index := map[string]int{}
	missing := map[string]bool{}
	hidden := map[string]bool{}
	fetch := func(refs []string) error {
		for start := 0; start < len(refs); start += fetchBatch {
			chunk := refs[start:min(len(refs), start+fetchBatch)]
			got, err := src.EntitiesByRefs(ctx, chunk, nil, gatherFields)
			if err != nil {
				return fmt.Errorf("graph: read related entities: %w", err)
			}
			if len(got) != len(chunk) {
				return fmt.Errorf("graph: asked for %d entities, got %d", len(chunk), len(got))
			}
			for i, raw := range got {
				if len(raw) == 0 || string(raw) == "null" {
					missing[chunk[i]] = true
					continue
				}
				var e gathered
				if err := json.Unmarshal(raw, &e); err != nil {
					return fmt.Errorf("graph: entity %s: %w", chunk[i], err)
				}
				ref := greenroom.EntityRef{Kind: e.Kind, Namespace: cmp.Or(e.Metadata.Namespace, greenroom.DefaultNamespace), Name: e.Metadata.Name}
				k := ref.String()
				if _, dup := index[k]; dup {
					continue
				}
				index[k] = len(members)
				members = append(members, member{node: Node{Ref: k, Kind: e.Kind, Title: cmp.Or(e.Metadata.Title, e.Metadata.Name), Href: href(ref)}, ent: e})
			}
		}
		return nil
	}

	rootKey := root.String()
	if err := fetch([]string{rootKey}); err != nil {
		return Graph{}, err
	}
	if len(members) == 0 {
		return Graph{}, greenroom.Errorf(greenroom.CodeNotFound, "entity %s is not in the catalog", rootKey)
	}
	rootKey = members[0].node.Ref
	delete(missing, root.String())

	wanted := func(target string) bool {
		if len(kinds) == 0 {
			return true
		}
		kind, _, _ := strings.Cut(target, ":")
		return kinds[kind]
	}
	frontier := []int{0}
	for level := 0; level < depth && len(frontier) > 0; level++ {
		var next []string
		queued := map[string]bool{}
		for _, m := range frontier {
			for _, r := range members[m].ent.Relations {
				t := key(r.TargetRef)
				if !follow[r.Type] || t == "" || !wanted(t) || queued[t] || missing[t] {
					continue
				}
				if _, ok := index[t]; ok {
					continue
				}
				queued[t] = true
				next = append(next, t)
			}
		}
		room := maxNodes - len(members)
		if len(next) > room {
			for _, t := range next[max(room, 0):] {
				hidden[t] = true
			}
			next = next[:max(room, 0)]
		}
		before := len(members)
		if err := fetch(next); err != nil {
			return Graph{}, err
		}
		frontier = frontier[:0]
		for i := before; i < len(members); i++ {
			frontier = append(frontier, i)
		}
	}

	g := Graph{Root: rootKey, Depth: depth}
	seen := map[[3]string]bool{}
	for _, m := range members {
		g.Nodes = append(g.Nodes, m.node)
		for _, r := range m.ent.Relations {
			t := key(r.TargetRef)
			if !follow[r.Type] {
				continue
			}
			if _, ok := index[t]; !ok {
				continue
			}
			e, _ := normalise(Edge{From: m.node.Ref, To: t, Type: r.Type})
			k := [3]string{e.From, e.To, e.Type}
			if seen[k] {
				continue
			}
			seen[k] = true
			if len(g.Edges) < MaxEdges {
				g.Edges = append(g.Edges, e)
			}
		}
	}
	for t := range hidden {
		if _, ok := index[t]; ok {
			delete(hidden, t)
		}
	}
	g.Hidden = len(hidden)
	for t := range missing {
		g.Missing = append(g.Missing, t)
	}
	slices.Sort(g.Missing)
	return g, nil
}
