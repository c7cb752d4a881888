package techdocs

import (
	"regexp"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// inlineAttrRE is a Python-Markdown attr_list right after an inline
// element: { #id .class key=value key="quoted value" }, colon optional.
var inlineAttrRE = regexp.MustCompile(`^\{:?[ \t]*((?:[#.][\w-]+|[\w-]+=(?:"[^"]*"|'[^']*'|[^\s}]+))(?:[ \t]+(?:[#.][\w-]+|[\w-]+=(?:"[^"]*"|'[^']*'|[^\s}]+)))*)[ \t]*\}`)

var attrTokenRE = regexp.MustCompile(`[#.][\w-]+|[\w-]+=(?:"[^"]*"|'[^']*'|[^\s}]+)`)

// applyInlineAttrs moves attr_list blocks that follow images and links
// into their attributes (the sanitizer then keeps only the safe ones).
func applyInlineAttrs(doc ast.Node, src []byte) {
	var targets []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && (n.Kind() == ast.KindImage || n.Kind() == ast.KindLink) {
			targets = append(targets, n)
		}
		return ast.WalkContinue, nil
	})
	for _, n := range targets {
		t, ok := n.NextSibling().(*ast.Text)
		if !ok {
			continue
		}
		val := t.Segment.Value(src)
		m := inlineAttrRE.FindSubmatchIndex(val)
		if m == nil {
			continue
		}
		var classes []string
		for _, tok := range attrTokenRE.FindAllString(string(val[m[2]:m[3]]), -1) {
			switch tok[0] {
			case '#':
				n.SetAttributeString("id", []byte(tok[1:]))
			case '.':
				classes = append(classes, tok[1:])
			default:
				k, v, _ := strings.Cut(tok, "=")
				n.SetAttributeString(k, []byte(strings.Trim(v, `"'`)))
			}
		}
		if len(classes) > 0 {
			n.SetAttributeString("class", []byte(strings.Join(classes, " ")))
		}
		t.Segment = text.NewSegment(t.Segment.Start+m[1], t.Segment.Stop)
	}
}
