package apidocs

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gtext "github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// headingKey carries the level a description's own headings start at.
var headingKey = parser.NewContextKey()

// safeMarkdown transforms a description's tree before it is rendered:
// headings move below the heading the description sits under, so the
// page's outline stays in order; links keep only http, https and mailto
// URLs and links within the page; images become links to them, so a
// definition cannot load anything into the page.
type safeMarkdown struct{}

func (safeMarkdown) Transform(doc *ast.Document, reader gtext.Reader, pc parser.Context) {
	base, _ := pc.Get(headingKey).(int)
	var links, images []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch v := n.(type) {
		case *ast.Heading:
			v.Level = min(6, base+v.Level-1)
		case *ast.Link:
			if !safeURL(string(v.Destination)) {
				links = append(links, v)
			}
		case *ast.AutoLink:
			if !safeURL(string(v.URL(reader.Source()))) {
				links = append(links, v)
			}
		case *ast.Image:
			images = append(images, v)
		}
		return ast.WalkContinue, nil
	})
	for _, n := range links {
		unwrap(n, reader.Source())
	}
	for _, n := range images {
		img := n.(*ast.Image)
		if !safeURL(string(img.Destination)) {
			unwrap(img, reader.Source())
			continue
		}
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString([]byte("image")))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}

// unwrap replaces a link by its text.
func unwrap(n ast.Node, src []byte) {
	parent := n.Parent()
	if parent == nil {
		return
	}
	if al, ok := n.(*ast.AutoLink); ok {
		parent.ReplaceChild(parent, n, ast.NewString(al.Label(src)))
		return
	}
	for c := n.FirstChild(); c != nil; {
		next := c.NextSibling()
		parent.InsertBefore(parent, n, c)
		c = next
	}
	parent.RemoveChild(parent, n)
}

// safeURL accepts absolute http, https and mailto URLs, fragments and
// relative paths without a scheme.
func safeURL(s string) bool {
	s = strings.TrimSpace(s)
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	// The link is written percent-encoded; that form must be as sound.
	if _, err := url.Parse(string(util.URLEscape([]byte(s), false))); err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return true
	case "":
		return !strings.HasPrefix(s, "//") && !strings.Contains(strings.SplitN(s, "/", 2)[0], ":")
	}
	return false
}

var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithASTTransformers(
		util.Prioritized(safeMarkdown{}, 0), // the last transformer: after every other change to the tree
	)),
	// No renderer option allows raw HTML: goldmark then omits it, and
	// escapes every text.
)

// markdown renders a description as sanitised HTML, its headings starting
// at level.
func markdown(s string, level int) template.HTML {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var b bytes.Buffer
	ctx := parser.NewContext()
	ctx.Set(headingKey, level)
	if err := md.Convert([]byte(s), &b, parser.WithContext(ctx)); err != nil {
		return template.HTML("<p>" + template.HTMLEscapeString(s) + "</p>")
	}
	return template.HTML(b.String()) // goldmark escaped the text and dropped raw HTML
}
