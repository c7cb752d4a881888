package techdocs

import (
	"html"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// AbbrDef is an abbreviation definition line (*[HTML]: Hyper Text Markup
// Language); it renders as nothing.
type AbbrDef struct {
	ast.BaseBlock
	Abbr, Title string
}

// Abbr is an abbreviation found in text.
type Abbr struct {
	ast.BaseInline
	Title string
}

var (
	// KindAbbrDef is the node kind of AbbrDef.
	KindAbbrDef = ast.NewNodeKind("AbbrDef")
	// KindAbbr is the node kind of Abbr.
	KindAbbr = ast.NewNodeKind("Abbr")
)

// Kind implements ast.Node.
func (n *AbbrDef) Kind() ast.NodeKind { return KindAbbrDef }

// Dump implements ast.Node.
func (n *AbbrDef) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

// Kind implements ast.Node.
func (n *Abbr) Kind() ast.NodeKind { return KindAbbr }

// Dump implements ast.Node.
func (n *Abbr) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

var abbrRE = regexp.MustCompile(`^[ ]{0,3}\*\[([^\]]+)\][ ]?:[ ]*(.*?)\s*$`)

type abbrParser struct{}

func (abbrParser) Trigger() []byte { return []byte{'*'} }
func (abbrParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	m := abbrRE.FindSubmatch(line)
	if m == nil {
		return nil, parser.NoChildren
	}
	reader.Advance(seg.Len() - 1)
	return &AbbrDef{Abbr: string(m[1]), Title: string(m[2])}, parser.NoChildren
}
func (abbrParser) Continue(ast.Node, text.Reader, parser.Context) parser.State { return parser.Close }
func (abbrParser) Close(ast.Node, text.Reader, parser.Context)                 {}
func (abbrParser) CanInterruptParagraph() bool                                 { return true }
func (abbrParser) CanAcceptIndentedLine() bool                                 { return false }

type abbrRenderer struct{}

func (abbrRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindAbbrDef, func(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
		return ast.WalkSkipChildren, nil
	})
	reg.Register(KindAbbr, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			w.WriteString(`<abbr title="` + html.EscapeString(node.(*Abbr).Title) + `">`)
		} else {
			w.WriteString("</abbr>")
		}
		return ast.WalkContinue, nil
	})
}

// applyAbbrs wraps the whole-word occurrences of the document's
// abbreviations in Abbr nodes, outside code and raw HTML.
func applyAbbrs(doc ast.Node, src []byte) {
	defs := map[string]string{}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if d, ok := n.(*AbbrDef); ok && entering {
			defs[d.Abbr] = d.Title
		}
		return ast.WalkContinue, nil
	})
	if len(defs) == 0 {
		return
	}
	keys := make([]string, 0, len(defs))
	for k := range defs {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	re := regexp.MustCompile(`\b(?:` + strings.Join(keys, "|") + `)\b`)
	var texts []*ast.Text
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindCodeSpan, ast.KindCodeBlock, ast.KindFencedCodeBlock, ast.KindRawHTML, ast.KindHTMLBlock, KindAbbr:
			return ast.WalkSkipChildren, nil
		}
		if t, ok := n.(*ast.Text); ok && !t.IsRaw() {
			texts = append(texts, t)
		}
		return ast.WalkContinue, nil
	})
	for _, t := range texts {
		val := t.Segment.Value(src)
		locs := re.FindAllIndex(val, -1)
		if len(locs) == 0 {
			continue
		}
		parent := t.Parent()
		seg := t.Segment
		prev := 0
		insert := func(n ast.Node) { parent.InsertBefore(parent, t, n) }
		for _, l := range locs {
			if l[0] > prev {
				insert(ast.NewTextSegment(text.NewSegment(seg.Start+prev, seg.Start+l[0])))
			}
			a := &Abbr{Title: defs[string(val[l[0]:l[1]])]}
			a.AppendChild(a, ast.NewTextSegment(text.NewSegment(seg.Start+l[0], seg.Start+l[1])))
			insert(a)
			prev = l[1]
		}
		last := ast.NewTextSegment(text.NewSegment(seg.Start+prev, seg.Stop))
		last.SetSoftLineBreak(t.SoftLineBreak())
		last.SetHardLineBreak(t.HardLineBreak())
		insert(last)
		parent.RemoveChild(parent, t)
	}
}
