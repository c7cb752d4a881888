package techdocs

import (
	"regexp"
	"strconv"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// pymdownx.tabbed (9.5): a line `=== "Title"` opens a tab whose content
// is the following lines indented by four spaces; consecutive tabs form a
// set, `===! "Title"` starts a new set. The first tab of a set is
// selected. A set renders as radio inputs and labels that a stylesheet
// turns into tabs (Material's), in pymdownx's markup: alternate_style
// (labels in one row, contents after) or the original one (input, label,
// content per tab).

// tabNode is one tab as parsed: its first child is the label (inline
// content), the rest its content. A transformer groups tabs into sets.
type tabNode struct {
	ast.BaseBlock
	newSet bool
}

type tabLabel struct{ ast.BaseBlock }

// tabSet, tabLabels, tabContent and tabBlock are the rendered structure:
// tabSet{tabLabels{tabLabel...}, tabContent{tabBlock...}} in the
// alternate style, tabSet{tabLabel, tabBlock, tabLabel, tabBlock...} in the
// original one.
type tabSet struct {
	ast.BaseBlock
	number, count int
	alternate     bool
}

type (
	tabLabels  struct{ ast.BaseBlock }
	tabContent struct{ ast.BaseBlock }
	tabBlock   struct{ ast.BaseBlock }
)

var (
	kindTab        = ast.NewNodeKind("Tab")
	kindTabLabel   = ast.NewNodeKind("TabLabel")
	kindTabSet     = ast.NewNodeKind("TabSet")
	kindTabLabels  = ast.NewNodeKind("TabLabels")
	kindTabContent = ast.NewNodeKind("TabContent")
	kindTabBlock   = ast.NewNodeKind("TabBlock")
)

func (n *tabNode) Kind() ast.NodeKind            { return kindTab }
func (n *tabNode) Dump(src []byte, level int)    { ast.DumpHelper(n, src, level, nil, nil) }
func (n *tabLabel) Kind() ast.NodeKind           { return kindTabLabel }
func (n *tabLabel) Dump(src []byte, level int)   { ast.DumpHelper(n, src, level, nil, nil) }
func (n *tabSet) Kind() ast.NodeKind             { return kindTabSet }
func (n *tabSet) Dump(src []byte, level int)     { ast.DumpHelper(n, src, level, nil, nil) }
func (n *tabLabels) Kind() ast.NodeKind          { return kindTabLabels }
func (n *tabLabels) Dump(src []byte, level int)  { ast.DumpHelper(n, src, level, nil, nil) }
func (n *tabContent) Kind() ast.NodeKind         { return kindTabContent }
func (n *tabContent) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }
func (n *tabBlock) Kind() ast.NodeKind           { return kindTabBlock }
func (n *tabBlock) Dump(src []byte, level int)   { ast.DumpHelper(n, src, level, nil, nil) }

func (n *tabSet) name() string         { return "__tabbed_" + strconv.Itoa(n.number) }
func (n *tabSet) inputID(i int) string { return n.name() + "_" + strconv.Itoa(i) }
func (n *tabSet) dataTabs() string     { return strconv.Itoa(n.number) + ":" + strconv.Itoa(n.count) }

// labelIndex is the 1-based position of a label among its set's labels.
func labelIndex(n ast.Node) int {
	i := 1
	for s := n.PreviousSibling(); s != nil; s = s.PreviousSibling() {
		if s.Kind() == kindTabLabel {
			i++
		}
	}
	return i
}

// tabRE is the opening line, as pymdownx.tabbed 9.5 reads it.
var tabRE = regexp.MustCompile(`^===(!)? +"(.*?)" *$`)

type tabParser struct{}

func (tabParser) Trigger() []byte { return []byte{'='} }

func (tabParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	if len(line) == 0 || line[0] != '=' { // pymdownx reads the marker unindented only
		return nil, parser.NoChildren
	}
	m := tabRE.FindSubmatchIndex(util.TrimRightSpace(line))
	if m == nil {
		return nil, parser.NoChildren
	}
	n := &tabNode{newSet: m[2] >= 0}
	label := &tabLabel{}
	label.Lines().Append(text.NewSegment(seg.Start+m[4], seg.Start+m[5]))
	n.AppendChild(n, label)
	reader.Advance(seg.Len() - 1)
	return n, parser.HasChildren
}

func (tabParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	line, _ := reader.PeekLine()
	if util.IsBlank(line) {
		reader.AdvanceToEOL()
		return parser.Continue | parser.HasChildren
	}
	w, _ := util.IndentWidth(line, reader.LineOffset())
	if w < 4 {
		return parser.Close
	}
	pos, padding := util.IndentPosition(line, reader.LineOffset(), 4)
	reader.AdvanceAndSetPadding(pos, padding)
	return parser.Continue | parser.HasChildren
}

func (tabParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {}
func (tabParser) CanInterruptParagraph() bool                                { return true }
func (tabParser) CanAcceptIndentedLine() bool                                { return false }

// tabGrouper turns runs of tabs into sets, numbered in document order.
type tabGrouper struct{ alternate bool }

func (g tabGrouper) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	number := 0
	var group func(parent ast.Node)
	group = func(parent ast.Node) {
		for c := parent.FirstChild(); c != nil; {
			t, ok := c.(*tabNode)
			if !ok {
				group(c)
				c = c.NextSibling()
				continue
			}
			number++
			set := &tabSet{number: number, alternate: g.alternate}
			parent.InsertBefore(parent, c, set)
			var labels, content ast.Node
			if g.alternate {
				labels, content = &tabLabels{}, &tabContent{}
				set.AppendChild(set, labels)
				set.AppendChild(set, content)
			}
			for first := true; t != nil && (first || !t.newSet); first = false {
				next := t.NextSibling()
				parent.RemoveChild(parent, t)
				set.count++
				label := t.FirstChild()
				t.RemoveChild(t, label)
				block := &tabBlock{}
				for k := t.FirstChild(); k != nil; {
					nk := k.NextSibling()
					t.RemoveChild(t, k)
					block.AppendChild(block, k)
					k = nk
				}
				group(block) // nested sets are numbered after their parent
				if g.alternate {
					labels.AppendChild(labels, label)
					content.AppendChild(content, block)
				} else {
					set.AppendChild(set, label)
					set.AppendChild(set, block)
				}
				t, _ = next.(*tabNode)
				c = next
			}
		}
	}
	group(doc)
}

// tabRenderer writes sets in pymdownx.tabbed's markup.
type tabRenderer struct{}

func (tabRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindTabSet, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*tabSet)
		if !entering {
			w.WriteString("</div>\n")
			return ast.WalkContinue, nil
		}
		w.WriteString(`<div class="tabbed-set`)
		if n.alternate {
			w.WriteString(` tabbed-alternate`)
		}
		w.WriteString(`" data-tabs="` + n.dataTabs() + `">`)
		if n.alternate {
			for i := 1; i <= n.count; i++ {
				writeTabInput(w, n, i)
			}
		}
		return ast.WalkContinue, nil
	})
	reg.Register(kindTabLabels, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			w.WriteString(`<div class="tabbed-labels">`)
		} else {
			w.WriteString("</div>\n")
		}
		return ast.WalkContinue, nil
	})
	reg.Register(kindTabLabel, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		set := tabSetOf(node)
		i := labelIndex(node)
		if entering {
			if !set.alternate {
				writeTabInput(w, set, i)
			}
			w.WriteString(`<label for="` + set.inputID(i) + `">`)
		} else {
			w.WriteString("</label>")
		}
		return ast.WalkContinue, nil
	})
	reg.Register(kindTabContent, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			w.WriteString("<div class=\"tabbed-content\">\n")
		} else {
			w.WriteString("</div>\n")
		}
		return ast.WalkContinue, nil
	})
	reg.Register(kindTabBlock, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		cls := "tabbed-block"
		if !tabSetOf(node).alternate {
			cls = "tabbed-content"
		}
		if entering {
			w.WriteString(`<div class="` + cls + `">`)
			if node.HasChildren() {
				w.WriteByte('\n')
			}
		} else {
			w.WriteString("</div>\n")
		}
		return ast.WalkContinue, nil
	})
}

func writeTabInput(w util.BufWriter, set *tabSet, i int) {
	w.WriteString(`<input `)
	if i == 1 {
		w.WriteString(`checked="checked" `)
	}
	w.WriteString(`id="` + set.inputID(i) + `" name="` + set.name() + `" type="radio" />`)
}

func tabSetOf(n ast.Node) *tabSet {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if s, ok := p.(*tabSet); ok {
			return s
		}
	}
	return &tabSet{}
}
