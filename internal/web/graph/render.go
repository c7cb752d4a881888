package graph

import (
	"cmp"
	_ "embed"
	"html/template"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"greenroom/internal/greenroom"
)

// Stylesheet holds the CSS rules of the classes the diagram uses (see the
// package documentation), for the portal's stylesheet. It is themed by
// custom properties and needs no inline style, so it works under a
// Content-Security-Policy without 'unsafe-inline'.
//
//go:embed style.css
var Stylesheet string

// Options tune Render.
type Options struct {
	// ID prefixes the ids of the diagram's elements, which must be unique
	// on the page: a letter, then letters, digits, '-' or '_', at most 64.
	// Default "depgraph".
	ID string
	// Label names the diagram in its caption and title; default
	// "Relations of <root title>".
	Label string
}

// Sentence is one relation as the text alternative reads it: Subject
// Verb Object ("Payments service depends on Ledger DB").
type Sentence struct {
	Subject, Object Node
	Verb            string
	Type            string // the relation type drawn
}

// Text returns the sentence as plain text.
func (s Sentence) Text() string {
	return s.Subject.label() + " " + s.Verb + " " + s.Object.label()
}

// Rendered is a drawn graph.
type Rendered struct {
	// HTML is the whole section: a <figure> with a caption, the SVG in a
	// scrolling box, and the relations as a list.
	HTML template.HTML
	// SVG and Relations are its parts, for pages that place them apart.
	SVG       template.HTML
	Relations template.HTML
	// Sentences are the relations Relations lists, in its order.
	Sentences []Sentence
	// Caption is the figure's caption as plain text.
	Caption       string
	Width, Height int
}

var idPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

var errTooComplex = greenroom.Errorf(greenroom.CodeInvalid, "graph: the relations cross too many columns to draw; choose a smaller depth")

// Render lays g out and draws it. It fails, with code invalid, on a graph
// that breaks its rules: no nodes, a root that is not a node, an edge to a
// node that is not there, a node given twice, an href that is not a path
// or an http(s) URL, or more than MaxNodes nodes or MaxEdges edges.
func Render(g Graph, opts Options) (Rendered, error) {
	if opts.ID == "" {
		opts.ID = "depgraph"
	}
	if !idPattern.MatchString(opts.ID) {
		return Rendered{}, greenroom.Errorf(greenroom.CodeInvalid, "graph: id %q must be a letter then up to 63 letters, digits, '-' or '_'", opts.ID)
	}
	index, err := check(g)
	if err != nil {
		return Rendered{}, err
	}
	d, err := layout(g, index)
	if err != nil {
		return Rendered{}, err
	}
	root := g.Nodes[index[key(g.Root)]]
	if opts.Label == "" {
		opts.Label = "Relations of " + root.label()
	}
	r := Rendered{Sentences: d.sentences()}
	r.Caption = d.caption(opts.Label, len(r.Sentences))
	var b strings.Builder
	r.Width, r.Height = d.writeSVG(&b, opts, root, len(r.Sentences))
	r.SVG = template.HTML(b.String())
	r.Relations = relationList(r.Sentences, opts.ID)

	var f strings.Builder
	f.WriteString(`<figure class="gr-graph" aria-labelledby="`)
	f.WriteString(opts.ID + `-caption"><figcaption id="` + opts.ID + `-caption">`)
	f.WriteString(esc(r.Caption))
	f.WriteString(`</figcaption><div class="gr-graph-scroll">`)
	f.WriteString(string(r.SVG))
	f.WriteString(`</div>`)
	if len(r.Sentences) > 0 {
		f.WriteString(`<details class="gr-graph-text"`)
		if len(r.Sentences) <= 20 {
			f.WriteString(` open`)
		}
		f.WriteString(`><summary>The relations as a list (` + strconv.Itoa(len(r.Sentences)) + `)</summary>`)
		f.WriteString(string(r.Relations))
		f.WriteString(`</details>`)
	}
	f.WriteString(`</figure>`)
	r.HTML = template.HTML(f.String())
	return r, nil
}

// caption says what the diagram shows and what it leaves out.
func (d *diagram) caption(label string, rels int) string {
	var b strings.Builder
	b.WriteString(label)
	b.WriteString(": ")
	b.WriteString(plural(len(d.g.Nodes), "entity", "entities"))
	b.WriteString(", ")
	b.WriteString(plural(rels, "relation", "relations"))
	if d.g.Depth > 0 {
		b.WriteString(", depth " + strconv.Itoa(d.g.Depth))
	}
	b.WriteString(".")
	if d.g.Hidden > 0 {
		b.WriteString(" " + strconv.Itoa(d.g.Hidden) + " more not shown.")
	}
	if m := len(d.g.Missing); m > 0 {
		names := d.g.Missing[:min(m, 5)]
		b.WriteString(" " + plural(m, "related entity is", "related entities are") + " not in the catalog: ")
		b.WriteString(strings.Join(names, ", "))
		if m > len(names) {
			b.WriteString(" and " + strconv.Itoa(m-len(names)) + " more")
		}
		b.WriteString(".")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// sentences lists every drawn relation, ordered by relation type, then
// subject and object.
func (d *diagram) sentences() []Sentence {
	var out []Sentence
	add := func(l line) {
		from := d.g.Nodes[d.nodeIndex(l.edge.From)]
		to := d.g.Nodes[d.nodeIndex(l.edge.To)]
		s := Sentence{Subject: from, Object: to, Verb: l.rel.verb, Type: l.rel.primary}
		if l.rel.passive {
			s.Subject, s.Object = to, from
		}
		out = append(out, s)
	}
	for _, le := range d.edges {
		for _, l := range le.lines {
			add(l)
		}
	}
	for _, l := range d.loops {
		add(l)
	}
	rank := func(t string) int {
		if r, ok := relations[t]; ok {
			return r.rank
		}
		return otherRelation.rank
	}
	slices.SortStableFunc(out, func(a, b Sentence) int {
		return cmp.Or(cmp.Compare(rank(a.Type), rank(b.Type)), cmp.Compare(a.Type, b.Type),
			cmp.Compare(a.Subject.label(), b.Subject.label()), cmp.Compare(key(a.Subject.Ref), key(b.Subject.Ref)),
			cmp.Compare(a.Object.label(), b.Object.label()), cmp.Compare(key(a.Object.Ref), key(b.Object.Ref)))
	})
	return out
}

func (d *diagram) nodeIndex(ref string) int { return d.index[key(ref)] }

// relationList renders the sentences as a list of links.
func relationList(ss []Sentence, id string) template.HTML {
	if len(ss) == 0 {
		return ""
	}
	// Two entities with the same title are told apart by their refs.
	titleRefs := map[string]map[string]bool{}
	for _, s := range ss {
		for _, n := range []Node{s.Subject, s.Object} {
			if titleRefs[n.label()] == nil {
				titleRefs[n.label()] = map[string]bool{}
			}
			titleRefs[n.label()][key(n.Ref)] = true
		}
	}
	name := func(n Node) string {
		t := n.label()
		if len(titleRefs[t]) > 1 {
			t += " (" + n.Ref + ")"
		}
		return `<a href="` + esc(n.Href) + `">` + esc(t) + `</a>`
	}
	var b strings.Builder
	b.WriteString(`<ul class="gr-graph-relations" id="` + id + `-relations">`)
	for _, s := range ss {
		b.WriteString(`<li>` + name(s.Subject) + ` ` + esc(s.Verb) + ` ` + name(s.Object) + `</li>`)
	}
	b.WriteString(`</ul>`)
	return template.HTML(b.String())
}

// writeSVG draws the diagram and returns its size.
func (d *diagram) writeSVG(b *strings.Builder, opts Options, root Node, rels int) (int, int) {
	legendW, legendH, legend := d.legend()
	w := max(d.width, legendW+2*margin)
	if len(d.loops) > 0 {
		w += 32 // a loop reaches into the space right of its box
	}
	h := d.height + legendH
	W, H := strconv.Itoa(int(math.Ceil(w))), strconv.Itoa(int(math.Ceil(h)))
	id := opts.ID
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="gr-graph-svg" width="` + W + `" height="` + H +
		`" viewBox="0 0 ` + W + ` ` + H + `" role="group" aria-labelledby="` + id + `-title" aria-describedby="` + id +
		`-desc" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`)
	b.WriteString(`<title id="` + id + `-title">` + esc(opts.Label) + `</title>`)
	desc := plural(len(d.g.Nodes), "entity", "entities") + " and " + plural(rels, "relation", "relations") +
		", drawn left to right. Each box is a link to the entity's page; " + root.label() +
		" is this entity. The relations are also listed as text after the diagram."
	if d.g.Hidden > 0 {
		desc += " " + strconv.Itoa(d.g.Hidden) + " more related entities are not shown."
	}
	b.WriteString(`<desc id="` + id + `-desc">` + esc(desc) + `</desc>`)
	b.WriteString(`<defs><marker id="` + id + `-arrow" class="gr-graph-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#4a4a4a"/></marker></defs>`)

	d.writeEdges(b, id)
	d.writeNodes(b, root)
	if legend != "" {
		b.WriteString(`<g class="gr-graph-legend" aria-hidden="true" transform="translate(` + num(margin) + ` ` + num(d.height) + `)">`)
		b.WriteString(legend)
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return int(math.Ceil(w)), int(math.Ceil(h))
}

// port is where one line meets a box.
type port struct {
	edge, line int
	other      float64 // y of the line's next point, to sort by
}

// writeEdges draws every line, spreading the lines that meet a box along
// its side in the order of where they go, so they do not cross at the box.
func (d *diagram) writeEdges(b *strings.Builder, id string) {
	outPorts := map[int][]port{}
	inPorts := map[int][]port{}
	for ei, le := range d.edges {
		first, last := le.chain[0], le.chain[len(le.chain)-1]
		next, prev := d.verts[le.chain[1]].y, d.verts[le.chain[len(le.chain)-2]].y
		for li := range le.lines {
			outPorts[first] = append(outPorts[first], port{ei, li, next})
			inPorts[last] = append(inPorts[last], port{ei, li, prev})
		}
	}
	portY := map[[3]int]float64{} // edge, line, 0 out / 1 in
	spread := func(ports map[int][]port, side int) {
		for v, ps := range ports {
			slices.SortFunc(ps, func(a, b port) int {
				return cmp.Or(cmp.Compare(a.other, b.other), cmp.Compare(a.edge, b.edge), cmp.Compare(a.line, b.line))
			})
			step := min(8.0, (nodeH-12)/float64(len(ps)))
			for i, p := range ps {
				portY[[3]int{p.edge, p.line, side}] = d.verts[v].y + (float64(i)-float64(len(ps)-1)/2)*step
			}
		}
	}
	spread(outPorts, 0)
	spread(inPorts, 1)

	b.WriteString(`<g class="gr-graph-edges" aria-hidden="true" fill="none" stroke="#4a4a4a">`)
	var pts [][2]float64
	for ei, le := range d.edges {
		m := len(le.lines)
		for li, l := range le.lines {
			off := (float64(li) - float64(m-1)/2) * lineSep
			pts = pts[:0]
			for ci, v := range le.chain {
				vx := d.verts[v]
				x := colX(vx.layer)
				switch {
				case ci == 0:
					pts = append(pts, [2]float64{x + nodeW, portY[[3]int{ei, li, 0}]})
				case ci == len(le.chain)-1:
					pts = append(pts, [2]float64{x, portY[[3]int{ei, li, 1}]})
				default:
					pts = append(pts, [2]float64{x, vx.y + off}, [2]float64{x + nodeW, vx.y + off})
				}
			}
			d.writeLine(b, id, l, path(pts))
		}
	}
	for _, l := range d.loops {
		v := d.verts[d.nodeV[d.nodeIndex(l.edge.From)]]
		x, y := colX(v.layer)+nodeW, v.y
		p := "M" + num(x) + " " + num(y-8) + "C" + num(x+30) + " " + num(y-26) + " " + num(x+30) + " " + num(y+26) + " " + num(x) + " " + num(y+8)
		d.writeLine(b, id, l, p)
	}
	b.WriteString(`</g>`)
}

func (d *diagram) writeLine(b *strings.Builder, id string, l line, p string) {
	from := d.g.Nodes[d.nodeIndex(l.edge.From)]
	to := d.g.Nodes[d.nodeIndex(l.edge.To)]
	s := Sentence{Subject: from, Object: to, Verb: l.rel.verb}
	if l.rel.passive {
		s.Subject, s.Object = to, from
	}
	b.WriteString(`<g class="gr-graph-edge gr-graph-edge-` + cssIdent(l.rel.primary) + `" data-from="` + esc(key(l.edge.From)) +
		`" data-to="` + esc(key(l.edge.To)) + `" data-type="` + esc(l.rel.primary) + `"><title>` + esc(s.Text()) + `</title>`)
	b.WriteString(`<path class="gr-graph-line" d="` + p + `"`)
	b.WriteString(lineStyle(l.rel))
	marker := ` marker-end="url(#` + id + `-arrow)"`
	if l.reversed {
		marker = ` marker-start="url(#` + id + `-arrow)"`
	}
	b.WriteString(marker + `/></g>`)
}

// lineStyle is the stroke of a relation type: the line style tells
// relation types apart without colour.
func lineStyle(r relation) string {
	s := ` stroke-width="1.5"`
	if r.primary == "hasPart" {
		s = ` stroke-width="2.5" stroke-linecap="round"`
	}
	if r.dash != "" {
		s += ` stroke-dasharray="` + r.dash + `"`
	}
	return s
}

// path joins points with horizontal-tangent curves across the gaps between
// columns and straight lines through columns.
func path(pts [][2]float64) string {
	var b strings.Builder
	b.WriteString("M" + num(pts[0][0]) + " " + num(pts[0][1]))
	for i := 1; i < len(pts); i++ {
		p, q := pts[i-1], pts[i]
		dx := q[0] - p[0]
		if dx > 1 && p[1] != q[1] {
			b.WriteString("C" + num(p[0]+dx/2) + " " + num(p[1]) + " " + num(q[0]-dx/2) + " " + num(q[1]) + " " + num(q[0]) + " " + num(q[1]))
			continue
		}
		b.WriteString("L" + num(q[0]) + " " + num(q[1]))
	}
	return b.String()
}

// Label budgets, in units of an average character (see textUnits).
const (
	titleUnits = 25
	kindUnits  = 30
)

// writeNodes draws the boxes in reading order: column by column, top to
// bottom, which is also the order Tab visits them.
func (d *diagram) writeNodes(b *strings.Builder, root Node) {
	b.WriteString(`<g class="gr-graph-nodes">`)
	rootKey := key(root.Ref)
	for _, ids := range d.layers {
		for _, v := range ids {
			vx := d.verts[v]
			if vx.node < 0 {
				continue
			}
			n := d.g.Nodes[vx.node]
			isRoot := key(n.Ref) == rootKey
			x, y := colX(vx.layer), vx.y-nodeH/2
			kind := n.Kind
			class := "gr-graph-node"
			if isRoot {
				kind = strings.TrimSpace(kind + " · this entity")
				class += " gr-graph-node-root"
			}

			// The link's name is its <title>: the full title and the ref
			// (which says the kind). No aria-label, which would have to
			// repeat the visible, possibly truncated, text (WCAG 2.5.3).
			b.WriteString(`<a href="` + esc(n.Href) + `" class="` + class + `"`)
			if isRoot {
				b.WriteString(` aria-current="page"`)
			}
			b.WriteString(`><title>` + esc(n.label()+" ("+n.Ref+")") + `</title>`)
			b.WriteString(`<rect class="gr-graph-focus" x="` + num(x-4) + `" y="` + num(y-4) + `" width="` + num(nodeW+8) +
				`" height="` + num(nodeH+8) + `" rx="9" fill="none" stroke="none"/>`)
			sw := "1"
			if isRoot {
				sw = "3"
			}
			b.WriteString(`<rect class="gr-graph-box" x="` + num(x) + `" y="` + num(y) + `" width="` + num(nodeW) +
				`" height="` + num(nodeH) + `" rx="6" fill="#ffffff" stroke="#4a4a4a" stroke-width="` + sw + `"/>`)
			b.WriteString(`<text class="gr-graph-kind" x="` + num(x+10) + `" y="` + num(y+16) + `" font-size="11" fill="#4a4a4a">` +
				esc(truncate(kind, kindUnits)) + `</text>`)
			weight := ""
			if isRoot {
				weight = ` font-weight="bold"`
			}
			b.WriteString(`<text class="gr-graph-title" x="` + num(x+10) + `" y="` + num(y+34) + `" font-size="13" fill="#1a1a1a"` + weight + `>` +
				esc(truncate(n.label(), titleUnits)) + `</text></a>`)
		}
	}
	b.WriteString(`</g>`)
}

// legend draws one sample line and name per relation type drawn, in rows
// as wide as the diagram.
func (d *diagram) legend() (w, h float64, out string) {
	if len(d.used) == 0 {
		return 0, 0, ""
	}
	var b strings.Builder
	width := max(d.width-2*margin, 360)
	x, y, rowW := 0.0, 14.0, 0.0
	for _, r := range d.used {
		itemW := 48 + textUnits(r.legend)*7 + 24
		if x > 0 && x+itemW > width {
			x, y = 0, y+22
		}
		b.WriteString(`<g class="gr-graph-edge-` + cssIdent(r.primary) + `"><path class="gr-graph-line" d="M` + num(x) + " " + num(y) + "H" + num(x+40) +
			`" fill="none" stroke="#4a4a4a"` + lineStyle(r) + `/><path class="gr-graph-legend-arrow" d="M` + num(x+36) + " " + num(y-4) + "L" + num(x+44) + " " + num(y) + "L" + num(x+36) + " " + num(y+4) + `z" fill="#4a4a4a"/>`)
		b.WriteString(`<text x="` + num(x+50) + `" y="` + num(y+4) + `" font-size="12" fill="#1a1a1a">` + esc(r.legend) + `</text></g>`)
		x += itemW
		rowW = max(rowW, x)
	}
	return rowW, y + 14, b.String()
}

// textUnits estimates the width of s in average characters: wide scripts
// count two, narrow letters and punctuation less than one.
func textUnits(s string) float64 {
	u := 0.0
	for _, r := range s {
		u += runeUnits(r)
	}
	return u
}

func runeUnits(r rune) float64 {
	switch {
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		return 0
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || (r >= 0xFF00 && r <= 0xFFEF) || r >= 0x1F300:
		return 2
	case strings.ContainsRune("iljtfr.,:;!|' ", r):
		return 0.6
	case strings.ContainsRune("mwMW@", r):
		return 1.5
	case unicode.IsUpper(r):
		return 1.25
	}
	return 1
}

// truncate shortens s to at most units, ending it with an ellipsis when
// it cuts.
func truncate(s string, units float64) string {
	if textUnits(s) <= units {
		return s
	}
	u := 0.0
	for i, r := range s {
		if u+runeUnits(r) > units-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
		}
		u += runeUnits(r)
	}
	return s
}

// esc escapes text for HTML and XML alike, replacing the characters XML
// cannot hold.
func esc(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == utf8.RuneError, r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xFFFE, r == 0xFFFF, r >= 0x7F && r <= 0x9F:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cssIdent keeps the letters, digits and dashes of a relation type, for
// a class name.
func cssIdent(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return r
		}
		return '_'
	}, s)
}

// num formats a coordinate with at most one decimal.
func num(f float64) string {
	s := strconv.FormatFloat(float64(int64(f*10+sign(f)*0.5))/10, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}
