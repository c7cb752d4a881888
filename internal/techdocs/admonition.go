package techdocs

import (
	"html"
	"regexp"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Admonition is a Python-Markdown admonition (!!! type "title") or a
// pymdownx.details block (??? collapsed, ???+ open).
type Admonition struct {
	ast.BaseBlock
	Classes  []string
	Title    string
	HasTitle bool
	Details  bool
	Open     bool
}

// KindAdmonition is the node kind of Admonition.
var KindAdmonition = ast.NewNodeKind("Admonition")

// Kind implements ast.Node.
func (n *Admonition) Kind() ast.NodeKind { return KindAdmonition }

// Dump implements ast.Node.
func (n *Admonition) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Title": n.Title}, nil)
}

// admonitionRE is the first line: marker, classes and an optional quoted
// title, as Python-Markdown's admonition and pymdownx.details read it.
var admonitionRE = regexp.MustCompile(`^[ ]{0,3}(!!!|\?\?\?\+?) ?([\w-]+(?: +[\w-]+)*)(?: +"(.*?)")? *$`)

type admonitionParser struct{ details, admonition bool }

func (p *admonitionParser) Trigger() []byte {
	var t []byte
	if p.admonition {
		t = append(t, '!')
	}
	if p.details {
		t = append(t, '?')
	}
	return t
}

func (p *admonitionParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	m := admonitionRE.FindSubmatch(util.TrimRightSpace(line))
	if m == nil {
		return nil, parser.NoChildren
	}
	marker := string(m[1])
	n := &Admonition{Classes: strings.Fields(strings.ToLower(string(m[2])))}
	switch {
	case marker == "!!!" && !p.admonition, marker != "!!!" && !p.details:
		return nil, parser.NoChildren
	case marker == "???":
		n.Details = true
	case marker == "???+":
		n.Details, n.Open = true, true
	}
	switch {
	case m[3] == nil:
		c := n.Classes[0]
		n.Title, n.HasTitle = strings.ToUpper(c[:1])+c[1:], true
	case len(m[3]) > 0:
		n.Title, n.HasTitle = string(m[3]), true
	}
	reader.Advance(seg.Len() - 1)
	return n, parser.HasChildren
}

func (p *admonitionParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
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

func (p *admonitionParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {}
func (p *admonitionParser) CanInterruptParagraph() bool                                { return true }
func (p *admonitionParser) CanAcceptIndentedLine() bool                                { return false }

// admonitionRenderer renders Admonition as Python-Markdown and
// pymdownx.details do.
type admonitionRenderer struct{}

func (admonitionRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindAdmonition, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*Admonition)
		if n.Details {
			if entering {
				w.WriteString(`<details class="` + html.EscapeString(strings.Join(n.Classes, " ")) + `"`)
				if n.Open {
					w.WriteString(` open="open"`)
				}
				w.WriteString(">\n<summary>" + html.EscapeString(n.Title) + "</summary>\n")
			} else {
				w.WriteString("</details>\n")
			}
			return ast.WalkContinue, nil
		}
		if entering {
			w.WriteString(`<div class="admonition ` + html.EscapeString(strings.Join(n.Classes, " ")) + "\">\n")
			if n.HasTitle {
				w.WriteString(`<p class="admonition-title">` + html.EscapeString(n.Title) + "</p>\n")
			}
		} else {
			w.WriteString("</div>\n")
		}
		return ast.WalkContinue, nil
	})
}
