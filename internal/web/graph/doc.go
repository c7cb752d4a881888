// Package graph draws an entity's relations as a layered, left-to-right
// SVG diagram the server renders into the portal's Dependencies section,
// with a text alternative listing every relation it shows.
//
// Gather walks the catalog breadth-first from a root entity over the
// chosen relation types, up to a depth and a node bound; Render lays the
// result out Sugiyama-style (cycle breaking, longest-path layering with a
// bounded layer height, barycenter crossing reduction, coordinates by
// isotonic regression so that boxes never overlap) and writes inline SVG
// that needs no script. Output is deterministic: the same graph gives the
// same bytes.
//
// Accessibility: every node is an SVG <a href> that Tab reaches in reading
// order (layer by layer, top to bottom); the root has aria-current="page";
// relation types differ by line style and are named in a legend and in
// each edge's <title>, never by colour alone; the diagram is a
// role="group" labelled by its <title> and described by its <desc> (not
// role="img", whose children are presentational, which would hide the
// links from assistive technology), and Rendered.Relations is an HTML list
// of the same relations as sentences with links.
//
// Styling is by CSS classes, with presentation attributes as a fallback
// that the page's stylesheet overrides (Stylesheet holds the rules, themed
// by the custom properties --gr-graph-fg, --gr-graph-bg, --gr-graph-node,
// --gr-graph-edge, --gr-graph-root and --gr-graph-focus):
//
//	gr-graph            the <figure> around diagram, caption and list
//	gr-graph-scroll     the scrolling box around the <svg>
//	gr-graph-svg        the <svg>
//	gr-graph-node       a node's <a>; gr-graph-node-root on the root's
//	gr-graph-box        a node's rectangle
//	gr-graph-focus      the ring drawn around a node's box while its link
//	                    has keyboard focus (:focus-visible); hidden otherwise
//	gr-graph-kind       the kind line of a node
//	gr-graph-title      the title line of a node
//	gr-graph-edge       an edge's <g>, with gr-graph-edge-<relation type>
//	gr-graph-line       an edge's path
//	gr-graph-arrow      the arrowhead marker
//	gr-graph-legend     the legend's <g>; gr-graph-legend-arrow its arrowheads
//	gr-graph-relations  the text alternative's <ul>
//
// The package reads the catalog only through the small Source interface it
// declares; it must not write to the catalog, reach the store directly or
// depend on the portal's templates.
package graph
