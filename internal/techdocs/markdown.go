package techdocs

import (
	"bytes"
	"html"
	"strings"

	"github.com/alecthomas/chroma/v2"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	ghtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
	"greenroom/internal/techdocs/lexers"

	"greenroom/internal/yamltree"
)

// features is what the project's markdown_extensions (and techdocs-core,
// which enables a fixed set) turn on. MkDocs always enables toc, tables
// and fenced_code.
type features struct {
	admonition, details, defList, footnotes, abbr, attrList, taskList bool
	permalink                                                         string // "" for none
	asciiSlugs                                                        bool
	tocDepth                                                          int
	// tabbed is pymdownx.tabbed; tabbedAlternate its alternate_style.
	tabbed, tabbedAlternate bool
	// fences are superfences' custom_fences: fence name to the class of
	// the <pre> it becomes (fence_code_format, mermaid's in Material).
	fences map[string]string
}

func featuresOf(c *Config, warn func(Warning)) features {
	f := features{asciiSlugs: true, tocDepth: 6}
	if c.plugin("techdocs-core") || c.plugin("mkdocs-techdocs-core") {
		// mkdocs-techdocs-core's extension list.
		f.admonition, f.details, f.defList, f.footnotes, f.abbr, f.attrList, f.taskList = true, true, true, true, true, true, true
		f.permalink = "¶"
	}
	for _, e := range c.Extensions {
		switch e.Name {
		case "admonition":
			f.admonition = true
		case "pymdownx.details":
			f.details = true
		case "def_list":
			f.defList = true
		case "footnotes":
			f.footnotes = true
		case "abbr":
			f.abbr = true
		case "attr_list":
			f.attrList = true
		case "pymdownx.tasklist":
			f.taskList = true
		case "extra", "markdown.extensions.extra":
			f.abbr, f.attrList, f.defList, f.footnotes = true, true, true, true
		case "toc", "markdown.extensions.toc":
			f.tocOptions(e, warn)
		case "pymdownx.tabbed":
			f.tabbed = true
			f.tabbedAlternate = e.Options.Get("alternate_style").Bool()
		case "pymdownx.snippets":
			// Expanded before parsing (see snippets.go).
		case "pymdownx.superfences":
			f.customFences(e, warn)
		case "tables", "fenced_code", "pymdownx.highlight", "codehilite",
			"pymdownx.inlinehilite", "meta", "md_in_html", "sane_lists", "mdx_truly_sane_lists", "nl2br":
			// Provided by goldmark's CommonMark parser and the highlighter.
		default:
			warn(Warning{File: e.Pos.File, Line: e.Pos.Line,
				Message: "markdown extension " + e.Name + " is not supported by the Greenroom builder; its syntax renders as plain Markdown"})
		}
	}
	return f
}

func (f *features) tocOptions(e Extension, warn func(Warning)) {
	o := e.Options
	if p := o.Get("permalink"); p != nil {
		switch {
		case p.Kind() == yamltree.Bool && p.Bool():
			f.permalink = "¶"
		case p.Kind() == yamltree.String:
			f.permalink = p.Str()
		}
	}
	if s := o.Get("slugify"); s.Kind() == yamltree.String {
		switch {
		case strings.HasSuffix(s.Str(), "slugify_unicode"):
			f.asciiSlugs = false
		case strings.HasSuffix(s.Str(), "toc.slugify"):
		default:
			warn(Warning{File: s.Pos().File, Line: s.Pos().Line, Message: "toc slugify function " + s.Str() + " is not supported; the default is used"})
		}
	}
	if d := o.Get("toc_depth"); d.Kind() == yamltree.Int && d.Int() >= 1 && d.Int() <= 6 {
		f.tocDepth = int(d.Int())
	}
}

// customFences reads superfences' custom_fences. The format function
// (a !!python/name: tag) cannot be read from YAML: every custom fence is
// rendered as fence_code_format does, <pre class="CLASS"><code>, which is
// what Material documents for mermaid.
func (f *features) customFences(e Extension, warn func(Warning)) {
	cf := e.Options.Get("custom_fences")
	if cf.Kind() != yamltree.Seq {
		return
	}
	for _, n := range cf.Items() {
		name, class := n.Get("name"), n.Get("class")
		if name.Kind() != yamltree.String || name.Str() == "" {
			warn(Warning{File: n.Pos().File, Line: n.Pos().Line, Message: "pymdownx.superfences: a custom fence needs a name; it is ignored"})
			continue
		}
		if f.fences == nil {
			f.fences = map[string]string{}
		}
		c := name.Str()
		if class.Kind() == yamltree.String {
			c = class.Str()
		}
		f.fences[name.Str()] = c
	}
}

// newMarkdown builds the goldmark converter for f.
func newMarkdown(f features) goldmark.Markdown {
	exts := []goldmark.Extender{extension.Table}
	if f.defList {
		exts = append(exts, extension.DefinitionList)
	}
	if f.footnotes {
		exts = append(exts, extension.Footnote)
	}
	if f.taskList {
		exts = append(exts, extension.TaskList)
	}
	popts := []parser.Option{}
	if f.attrList {
		popts = append(popts, parser.WithAttribute())
	}
	var blocks []util.PrioritizedValue
	if f.admonition || f.details {
		blocks = append(blocks, util.Prioritized(&admonitionParser{admonition: f.admonition, details: f.details}, 150))
	}
	if f.abbr {
		blocks = append(blocks, util.Prioritized(abbrParser{}, 160))
	}
	if f.tabbed {
		blocks = append(blocks, util.Prioritized(tabParser{}, 150))
		popts = append(popts, parser.WithASTTransformers(util.Prioritized(tabGrouper{alternate: f.tabbedAlternate}, 100)))
	}
	popts = append(popts, parser.WithBlockParsers(blocks...))
	return goldmark.New(
		goldmark.WithExtensions(exts...),
		goldmark.WithParserOptions(popts...),
		goldmark.WithRendererOptions(
			ghtml.WithUnsafe(), // raw HTML is kept, then sanitized
			renderer.WithNodeRenderers(
				util.Prioritized(admonitionRenderer{}, 100),
				util.Prioritized(abbrRenderer{}, 100),
				util.Prioritized(&codeRenderer{fences: f.fences}, 100),
				util.Prioritized(tabRenderer{}, 100),
				util.Prioritized(&headingRenderer{permalink: f.permalink}, 100),
			),
		),
	)
}

// headingRenderer adds the toc permalink inside headings.
type headingRenderer struct{ permalink string }

func (r *headingRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHeading, func(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*ast.Heading)
		if entering {
			w.WriteString("<h")
			w.WriteByte("0123456"[n.Level])
			if n.Attributes() != nil {
				ghtml.RenderAttributes(w, node, ghtml.HeadingAttributeFilter)
			}
			w.WriteByte('>')
			return ast.WalkContinue, nil
		}
		if id, ok := n.AttributeString("id"); ok && r.permalink != "" {
			w.WriteString(`<a class="headerlink" href="#` + html.EscapeString(string(id.([]byte))) + `" title="Permanent link">` + html.EscapeString(r.permalink) + "</a>")
		}
		w.WriteString("</h")
		w.WriteByte("0123456"[n.Level])
		w.WriteString(">\n")
		return ast.WalkContinue, nil
	})
}

// codeRenderer highlights code blocks with chroma in Pygments' markup
// (<div class="highlight"><pre><code> with Pygments' token classes), as
// pymdownx.highlight and codehilite do.
type codeRenderer struct {
	fences map[string]string // custom fences: name to class
}

func (r *codeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, r.render)
	reg.Register(ast.KindCodeBlock, r.render)
}

func (r *codeRenderer) render(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	var lang string
	if fc, ok := node.(*ast.FencedCodeBlock); ok && fc.Info != nil {
		info := strings.TrimSpace(string(fc.Info.Segment.Value(src)))
		info = strings.TrimLeft(info, "{. ")
		if f := strings.FieldsFunc(info, func(r rune) bool { return r == ' ' || r == '}' || r == '\t' }); len(f) > 0 {
			lang = f[0]
		}
	}
	var code bytes.Buffer
	lines := node.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		code.Write(seg.Value(src))
	}
	if class, ok := r.fences[lang]; ok && lang != "" {
		// superfences' fence_code_format: the code unhighlighted, without
		// its final newline.
		w.WriteString(`<pre class="` + html.EscapeString(class) + `"><code>`)
		w.WriteString(html.EscapeString(strings.TrimSuffix(code.String(), "\n")))
		w.WriteString("</code></pre>\n")
		return ast.WalkSkipChildren, nil
	}
	w.WriteString(`<div class="highlight">`)
	w.WriteString("<pre><span></span><code")
	if lang != "" {
		w.WriteString(` class="language-` + html.EscapeString(lang) + `"`)
	}
	w.WriteByte('>')
	var lexer chroma.Lexer
	if lang != "" {
		lexer = lexers.Get(lang)
	}
	if lexer == nil || code.Len() > 256<<10 {
		w.WriteString(html.EscapeString(code.String()))
	} else {
		it, err := chroma.Coalesce(lexer).Tokenise(nil, code.String())
		if err != nil {
			w.WriteString(html.EscapeString(code.String()))
		} else {
			for tok := it(); tok != chroma.EOF; tok = it() {
				cls := chroma.StandardTypes[tok.Type]
				v := html.EscapeString(tok.Value)
				if cls == "" {
					w.WriteString(v)
					continue
				}
				w.WriteString(`<span class="` + cls + `">` + v + "</span>")
			}
		}
	}
	w.WriteString("</code></pre></div>\n")
	return ast.WalkSkipChildren, nil
}
