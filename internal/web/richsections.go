package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strconv"

	"greenroom/internal/apidocs"
	"greenroom/internal/web/graph"
)

// queryKey carries the entity page's query parameters to its sections
// (the graph's depth control), which Render receives only a context for.
type queryKey struct{}

func withQuery(ctx context.Context, q url.Values) context.Context {
	return context.WithValue(ctx, queryKey{}, q)
}

func queryFrom(ctx context.Context) url.Values {
	q, _ := ctx.Value(queryKey{}).(url.Values)
	return q
}

// graphDepths are the depths the Dependencies tab offers.
var graphDepths = []int{1, 2, 3, 4}

// graphSection is the Dependencies tab drawn as a graph: the server lays
// the entity's relations out as SVG, each node a link reachable by Tab,
// with the relations listed as text below it. ?depth=N follows N hops.
type graphSection struct {
	dependenciesSection
}

func (s graphSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	depth := graph.DefaultDepth
	if d, err := strconv.Atoi(queryFrom(ctx).Get("depth")); err == nil && d >= 1 && d <= graphDepths[len(graphDepths)-1] {
		depth = d
	}
	g, err := graph.Gather(ctx, s.h.catalog, e.Ref(), graph.GatherOptions{Depth: depth})
	if err != nil {
		return "", err
	}
	out, err := graph.Render(g, graph.Options{ID: "depgraph", Label: "Dependencies of " + e.DisplayName()})
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	b.WriteString(`<nav class="graph-depth" aria-label="Graph depth"><span>Depth:</span> `)
	for _, d := range graphDepths {
		if d == depth {
			fmt.Fprintf(&b, `<a href="?depth=%d" aria-current="true"><strong>%d</strong></a> `, d, d)
		} else {
			fmt.Fprintf(&b, `<a href="?depth=%d">%d</a> `, d, d)
		}
	}
	b.WriteString("</nav>")
	b.WriteString(string(out.HTML))
	// The related entities grouped as lists follow the graph: what depends
	// on what, the parts of a system, read without following lines.
	lists, err := s.dependenciesSection.Render(ctx, e)
	if err != nil {
		return "", err
	}
	return template.HTML(b.String()) + lists, nil // depth links are digits; graph.Render and the lists escape their text
}

// apiDefinitionSection is the APIs tab with, for an API entity, its
// definition rendered readably (operations, schemas, channels, types).
type apiDefinitionSection struct {
	apisSection
	cache *apidocs.Cache
}

func (s apiDefinitionSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	related, err := s.apisSection.Render(ctx, e)
	if err != nil || !e.IsKind("api") {
		return related, err
	}
	def := e.SpecString("definition")
	if def == "" {
		return related, nil
	}
	frag, err := s.cache.Render(e.SpecString("type"), def, apidocs.Options{HeadingLevel: 3, IDPrefix: "apidef", Title: e.DisplayName()})
	if err != nil {
		return "", err
	}
	return related + `<section class="api-definition" aria-label="Definition">` + frag + `</section>`, nil
}

// registerRichSections replaces the Dependencies and APIs lists with the
// graph and the definition viewers, and adds their stylesheets.
func (h *Handler) registerRichSections() {
	h.Register(graphSection{dependenciesSection{h}})
	h.Register(apiDefinitionSection{apisSection: apisSection{h}, cache: apidocs.NewCache(32 << 20)})
	h.AddStylesheet(graph.Stylesheet)
	h.AddStylesheet(apidocs.Stylesheet)
}
