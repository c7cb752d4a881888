package techdocs

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"

	"greenroom/internal/yamltree"
)

// Page is a built documentation page.
type Page struct {
	File  *File
	Title string
	// TOC is the page's table of contents, nested by heading level.
	TOC []*TOCItem
	// Meta is the page's front matter.
	Meta map[string]any

	navTitle   string
	src        []byte
	doc        ast.Node
	ids        map[string]bool // every id in the page (headings, footnotes, raw HTML)
	html       []byte          // sanitized content
	text       string          // plain text for the search index
	links      []pageLink
	hrefs      []string // rewritten link and image targets, in order
	sections   []searchSection
	Prev, Next *Page
	// Parents are the sections above the page in the nav, outermost first.
	Parents []*NavItem
}

// TOCItem is one heading of a page.
type TOCItem struct {
	Level    int        `json:"level"`
	ID       string     `json:"id"`
	Title    string     `json:"title"`
	Children []*TOCItem `json:"children,omitempty"`
}

type pageLink struct {
	dest   string // as written
	line   int
	anchor string
	target *File // nil for a same-page anchor
	image  bool
}

type searchSection struct {
	id, title string
	text      strings.Builder
}

// decodeSource turns raw bytes into the Markdown text to parse, reporting
// binary files and invalid UTF-8.
func decodeSource(f *File, data []byte, warn func(Warning)) ([]byte, bool) {
	if bytes.IndexByte(data, 0) >= 0 {
		warn(Warning{File: f.Src, Message: "file is binary (contains NUL bytes), not Markdown; it is skipped"})
		return nil, false
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		warn(Warning{File: f.Src, Line: line, Message: "invalid UTF-8; invalid bytes are replaced with U+FFFD"})
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	return data, true
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

var (
	yamlMetaRE = regexp.MustCompile(`(?s)^-{3}[ \t]*\n(.*?\n)(?:\.{3}|-{3})[ \t]*\n`)
	mmdKeyRE   = regexp.MustCompile(`^[ ]{0,3}([A-Za-z0-9_-]+):\s*(.*)$`)
	mmdMoreRE  = regexp.MustCompile(`^[ ]{4,}(.*)$`)
)

// splitMeta reads the page's meta-data as MkDocs does (YAML front matter,
// else MultiMarkdown-style "Key: value" lines at the top) and blanks those
// lines so that line numbers stay those of the file.
func splitMeta(f *File, src []byte, warn func(Warning)) ([]byte, map[string]any) {
	if m := yamlMetaRE.FindSubmatchIndex(src); m != nil {
		n, err := yamltree.Parse(f.Src, src[m[2]:m[3]], yamltree.Limits{MaxBytes: 64 << 10, MaxNodes: 5000, MaxDepth: 16}, nil)
		meta := map[string]any{}
		if err != nil {
			warn(Warning{File: f.Src, Line: 1, Message: "front matter is not YAML: " + err.Error()})
		} else if n.Kind() == yamltree.Map {
			if mm, ok := n.Interface().(map[string]any); ok {
				meta = mm
			}
			// The front matter starts on line 2 of the file.
		}
		return blank(src, m[1]), meta
	}
	lines := strings.SplitAfter(string(src), "\n")
	if len(lines) == 0 || !mmdKeyRE.MatchString(strings.TrimRight(lines[0], "\n")) {
		return src, nil
	}
	meta := map[string]any{}
	key, end := "", 0
	for _, l := range lines {
		t := strings.TrimRight(l, "\n")
		if strings.TrimSpace(t) == "" {
			end += len(l)
			break
		}
		if m := mmdKeyRE.FindStringSubmatch(t); m != nil {
			key = strings.ToLower(m[1])
			meta[key] = strings.TrimSpace(m[2])
		} else if m := mmdMoreRE.FindStringSubmatch(t); m != nil && key != "" {
			meta[key] = strings.TrimSpace(meta[key].(string) + " " + strings.TrimSpace(m[1]))
		} else {
			break
		}
		end += len(l)
	}
	return blank(src, end), meta
}

// blank replaces src[:n] with its newlines only.
func blank(src []byte, n int) []byte {
	out := make([]byte, 0, len(src))
	out = append(out, bytes.Repeat([]byte("\n"), bytes.Count(src[:n], []byte("\n")))...)
	return append(out, src[n:]...)
}

// markdownTitle is MkDocs 1.4's get_markdown_title: the first non-blank
// line when it is a "# " heading.
func markdownTitle(src []byte) string {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "# ") {
			return ""
		}
		return strings.TrimLeft(line, "# ")
	}
	return ""
}

// parsePage parses the Markdown and assigns heading ids and the TOC.
func (b *builder) parsePage(p *Page) {
	p.doc = b.md.Parser().Parse(text.NewReader(p.src), parser.WithContext(parser.NewContext()))
	if b.feat.abbr {
		applyAbbrs(p.doc, p.src)
	}
	if b.feat.attrList {
		applyInlineAttrs(p.doc, p.src)
	}
	p.ids = map[string]bool{}
	var heads []*ast.Heading
	_ = ast.Walk(p.doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if id, ok := n.AttributeString("id"); ok {
			if v, ok := id.([]byte); ok {
				p.ids[string(v)] = true
			}
		}
		if h, ok := n.(*ast.Heading); ok {
			heads = append(heads, h)
		}
		return ast.WalkContinue, nil
	})
	// Python-Markdown's toc collects existing ids first, then gives every
	// heading without one a unique slug of its text.
	var stack []*TOCItem
	for _, h := range heads {
		title := strings.TrimSpace(html.UnescapeString(plainText(h, p.src)))
		var id string
		if v, ok := h.AttributeString("id"); ok {
			id = string(v.([]byte))
		} else {
			id = unique(slugify(title, "-", b.feat.asciiSlugs), p.ids)
			h.SetAttributeString("id", []byte(id))
		}
		if h.Level > b.feat.tocDepth {
			continue
		}
		it := &TOCItem{Level: h.Level, ID: id, Title: title}
		for len(stack) > 0 && stack[len(stack)-1].Level >= h.Level {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			p.TOC = append(p.TOC, it)
		} else {
			parent := stack[len(stack)-1]
			parent.Children = append(parent.Children, it)
		}
		stack = append(stack, it)
	}
}

// plainText is the text of n's inline content, without markup.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch v := c.(type) {
		case *ast.Text:
			b.Write(v.Segment.Value(src))
			if v.SoftLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(v.Value)
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// lineOf returns the 1-based line of offset in src.
func lineOf(src []byte, offset int) int {
	if offset > len(src) {
		offset = len(src)
	}
	return 1 + bytes.Count(src[:offset], []byte("\n"))
}

// nodeLine finds the line of an inline node: the line in its block where
// needle occurs first after the block's start.
func nodeLine(n ast.Node, src []byte, needle []byte) int {
	for b := n; b != nil; b = b.Parent() {
		if b.Type() == ast.TypeBlock && b.Lines().Len() > 0 {
			start := b.Lines().At(0).Start
			if i := bytes.Index(src[start:], needle); i >= 0 && len(needle) > 0 {
				return lineOf(src, start+i)
			}
			return lineOf(src, start)
		}
	}
	return 0
}
