package feishu

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Image handling modes (the seed's ConversionConfig.handleImages).
const (
	// ImagesLink writes the media token as the image URL and fetches nothing.
	ImagesLink = "link"
	// ImagesDownload stores the image beside the page (Assets.Image) and
	// links the stored file.
	ImagesDownload = "download"
	// ImagesEmbed inlines the image as a data: URI.
	ImagesEmbed = "embed"
)

// Default bounds of one conversion.
const (
	DefaultMaxBlocks = 100_000
	DefaultMaxDepth  = 64
	// DefaultMaxTextBytes bounds the text of one document.
	DefaultMaxTextBytes = 32 << 20
)

// ConversionConfig holds the seed's conversion options. The zero value is
// not the default: use DefaultConversion.
type ConversionConfig struct {
	// PreserveFormatting keeps inline styles (bold, italic, strikethrough,
	// underline); false writes plain text (links and inline code are kept,
	// they carry meaning).
	PreserveFormatting bool `json:"preserveFormatting"`
	// HandleImages is ImagesLink, ImagesDownload or ImagesEmbed.
	HandleImages string `json:"handleImages"`
	// ConvertTables writes GFM pipe tables where they can express the
	// table; false writes every table as an HTML <table>.
	ConvertTables bool `json:"convertTables"`
	// PreserveComments writes the comments of commented blocks (when the
	// caller supplies their text) as HTML comments after the block.
	PreserveComments bool `json:"preserveComments"`
}

// DefaultConversion is what CONVENTIONS.md describes: formatting kept,
// images linked by token, tables converted, comments dropped.
func DefaultConversion() ConversionConfig {
	return ConversionConfig{PreserveFormatting: true, HandleImages: ImagesLink, ConvertTables: true}
}

// Validate reports an unknown image mode.
func (c ConversionConfig) Validate() error {
	switch c.HandleImages {
	case ImagesLink, ImagesDownload, ImagesEmbed:
		return nil
	}
	return fmt.Errorf("handleImages %q: want link, download or embed", c.HandleImages)
}

// Assets resolves what a conversion needs beyond the blocks. Either method
// may be nil-safe absent: a nil Assets means offline conversion.
type Assets interface {
	// Image returns the URL to write for the image with the media token:
	// a path relative to the page (download) or a data: URI (embed). An
	// error is reported as a warning and the token is written instead.
	Image(ctx context.Context, token string, mode string) (string, error)
	// UserName returns the display name of the user with the open_id; an
	// error is reported as a warning and the id is written instead.
	UserName(ctx context.Context, openID string) (string, error)
}

// Warning is something a conversion could not carry over.
type Warning struct {
	BlockID string `json:"blockId,omitempty"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	if w.BlockID == "" {
		return w.Message
	}
	return "block " + w.BlockID + ": " + w.Message
}

// Result is a converted document.
type Result struct {
	Title    string
	Markdown string
	Warnings []Warning
	// Images are the media tokens of the document's images, in order.
	Images []string
	// Blocks is how many blocks were rendered or dropped.
	Blocks int
}

// Converter turns docx block lists into Markdown. The zero value is not
// usable: use NewConverter.
type Converter struct {
	cfg      ConversionConfig
	assets   Assets
	comments map[string]string
	// MaxBlocks, MaxDepth and MaxTextBytes bound one conversion.
	MaxBlocks    int
	MaxDepth     int
	MaxTextBytes int
}

// NewConverter returns a converter with cfg; assets may be nil (offline:
// images are linked by token, users written by id).
func NewConverter(cfg ConversionConfig, assets Assets) (*Converter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("feishu: conversion: %w", err)
	}
	return &Converter{cfg: cfg, assets: assets, MaxBlocks: DefaultMaxBlocks, MaxDepth: DefaultMaxDepth, MaxTextBytes: DefaultMaxTextBytes}, nil
}

// WithComments returns a copy of c that writes the given comment texts
// (by comment id) when PreserveComments is set.
func (c *Converter) WithComments(comments map[string]string) *Converter {
	cp := *c
	cp.comments = comments
	return &cp
}

// ErrTooLarge is wrapped by conversions over the converter's bounds.
var ErrTooLarge = fmt.Errorf("document too large")

// Convert renders blocks (all pages of the blocks API, in any order) as
// Markdown by walking children from the Page block.
func (c *Converter) Convert(ctx context.Context, blocks []Block) (Result, error) {
	if len(blocks) > c.MaxBlocks {
		return Result{}, fmt.Errorf("feishu: %d blocks, more than %d: %w", len(blocks), c.MaxBlocks, ErrTooLarge)
	}
	r := &renderer{c: c, ctx: ctx, byID: make(map[string]*Block, len(blocks)), seen: map[string]bool{}}
	var root *Block
	for i := range blocks {
		b := &blocks[i]
		if _, dup := r.byID[b.BlockID]; dup {
			r.warn(b.BlockID, "duplicate block id; the first is used")
			continue
		}
		r.byID[b.BlockID] = b
		if root == nil && b.BlockType == TypePage && b.ParentID == "" {
			root = b
		}
	}
	if root == nil {
		for i := range blocks {
			if blocks[i].BlockType == TypePage {
				root = &blocks[i]
				break
			}
		}
	}
	if root == nil {
		if len(blocks) == 0 {
			return Result{}, nil
		}
		return Result{}, fmt.Errorf("feishu: no page block among %d blocks", len(blocks))
	}
	r.seen[root.BlockID] = true
	var parts []part
	title := ""
	if root.Text != nil {
		title = strings.TrimSpace(strings.ReplaceAll(r.inline(root.BlockID, root.Text.Elements, inlineMD), "\\\n", " "))
		if title != "" {
			parts = append(parts, part{text: "# " + title})
		}
	}
	parts = append(parts, r.children(root, 0)...)
	if r.err != nil {
		return Result{}, r.err
	}
	md := join(parts)
	if len(md) > c.MaxTextBytes {
		return Result{}, fmt.Errorf("feishu: %d bytes of Markdown, more than %d: %w", len(md), c.MaxTextBytes, ErrTooLarge)
	}
	if md != "" {
		md += "\n"
	}
	return Result{Title: plainTitle(root), Markdown: md, Warnings: r.warnings, Images: r.images, Blocks: len(r.seen)}, nil
}

func plainTitle(root *Block) string {
	if root.Text == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range root.Text.Elements {
		if e.TextRun != nil {
			b.WriteString(e.TextRun.Content)
		}
	}
	return strings.TrimSpace(strings.ReplaceAll(b.String(), "\n", " "))
}

// part is one rendered block; list items are joined tightly.
type part struct {
	text string
	list bool
}

func join(parts []part) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			if p.list && parts[i-1].list {
				b.WriteString("\n")
			} else {
				b.WriteString("\n\n")
			}
		}
		b.WriteString(p.text)
	}
	return b.String()
}

type renderer struct {
	c        *Converter
	ctx      context.Context
	byID     map[string]*Block
	seen     map[string]bool
	warnings []Warning
	images   []string
	err      error
}

func (r *renderer) warn(id, format string, args ...any) {
	if len(r.warnings) >= 1000 {
		return
	}
	r.warnings = append(r.warnings, Warning{BlockID: id, Message: fmt.Sprintf(format, args...)})
}

// kids returns b's children, skipping missing ids and blocks seen before
// (a malformed tree must not loop).
func (r *renderer) kids(b *Block, depth int) []*Block {
	if len(b.Children) == 0 {
		return nil
	}
	if depth >= r.c.MaxDepth {
		r.warn(b.BlockID, "nested deeper than %d levels; its %d children are dropped", r.c.MaxDepth, len(b.Children))
		return nil
	}
	out := make([]*Block, 0, len(b.Children))
	for _, id := range b.Children {
		k, ok := r.byID[id]
		switch {
		case !ok:
			r.warn(b.BlockID, "child %s is missing from the block list", id)
		case r.seen[id]:
			r.warn(b.BlockID, "child %s appears twice in the tree; rendered once", id)
		default:
			r.seen[id] = true
			out = append(out, k)
		}
	}
	return out
}

// children renders b's children as a sequence of parts, numbering runs of
// ordered items.
func (r *renderer) children(b *Block, depth int) []part {
	var out []part
	for _, k := range r.kids(b, depth) {
		out = append(out, r.block(k, depth+1)...)
	}
	return number(out)
}

// orderedMark is a placeholder for an ordered item's number, replaced by
// number once the run is known.
const orderedMark = "\x00ol\x00"

// number replaces ordered placeholders: 1, 2, 3… over a run of consecutive
// ordered items, restarting after any other part.
func number(parts []part) []part {
	n := 0
	for i := range parts {
		if !strings.HasPrefix(parts[i].text, orderedMark) {
			n = 0
			continue
		}
		n++
		marker := strconv.Itoa(n) + ". "
		body := parts[i].text[len(orderedMark):]
		// Children were indented with the placeholder width; re-indent to
		// the real marker width.
		lines := strings.Split(body, "\n")
		for j := 1; j < len(lines); j++ {
			if l := strings.TrimPrefix(lines[j], "\x00"); l != "" {
				lines[j] = strings.Repeat(" ", len(marker)) + l
			} else {
				lines[j] = ""
			}
		}
		parts[i].text = marker + strings.Join(lines, "\n")
	}
	return parts
}

func (r *renderer) block(b *Block, depth int) []part {
	if r.err != nil {
		return nil
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return nil
	}
	switch t := b.BlockType; {
	case t == TypePage:
		// A nested page (not the root) renders its children in place.
		r.warn(b.BlockID, "nested page block; its children are rendered in place")
		return r.children(b, depth)
	case t == TypeText:
		var out []part
		if s := r.paragraph(b); s != "" {
			out = append(out, part{text: s})
		}
		out = r.withComments(b, out)
		return append(out, r.children(b, depth)...)
	case t >= TypeHeading1 && t <= TypeHeading9:
		level := min(int(t-TypeHeading1)+1, 6)
		text := ""
		if b.Text != nil {
			text = strings.TrimSpace(strings.ReplaceAll(r.inline(b.BlockID, b.Text.Elements, inlineMD), "\\\n", " "))
		}
		h := strings.Repeat("#", level)
		if text != "" {
			h += " " + escapeHeadingEnd(text)
		}
		out := r.withComments(b, []part{{text: h}})
		return append(out, r.children(b, depth)...)
	case t == TypeBullet, t == TypeOrdered, t == TypeTodo:
		return r.withComments(b, []part{r.listItem(b, depth)})
	case t == TypeCode:
		return r.withComments(b, []part{{text: r.code(b)}})
	case t == TypeQuote:
		s := r.paragraph(b)
		out := []part{{text: prefixLines(s, "> ")}}
		if s == "" {
			out = []part{{text: ">"}}
		}
		out = r.withComments(b, out)
		return append(out, r.children(b, depth)...)
	case t == TypeQuoteContainer, t == TypeCallout:
		inner := join(r.children(b, depth))
		if inner == "" {
			return nil
		}
		return r.withComments(b, []part{{text: prefixLines(inner, "> ")}})
	case t == TypeDivider:
		return []part{{text: "---"}}
	case t == TypeImage:
		return []part{{text: r.image(b)}}
	case t == TypeTable:
		return r.withComments(b, []part{{text: r.table(b, depth)}})
	case t == TypeGrid, t == TypeGridColumn, t == TypeTableCell:
		return r.children(b, depth)
	case t == TypeView, t == TypeFile:
		r.warn(b.BlockID, "attachment (block type %d) dropped", t)
		return r.children(b, depth)
	default:
		r.warn(b.BlockID, "block type %d (%s) cannot be converted; dropped, children kept", t, typeName(t))
		return r.children(b, depth)
	}
}

func typeName(t BlockType) string {
	names := map[BlockType]string{16: "equation", 18: "bitable", 20: "chat_card", 21: "diagram", 26: "iframe",
		28: "isv", 29: "mindnote", 30: "sheet", 35: "task", 36: "okr", 37: "okr_objective", 38: "okr_key_result",
		39: "okr_progress", 40: "add_ons", 41: "jira_issue", 42: "wiki_catalog", 43: "board", 999: "undefined"}
	if n, ok := names[t]; ok {
		return n
	}
	return "unknown"
}

// paragraph renders a text-like block's elements as one paragraph; "" when
// it has no content.
func (r *renderer) paragraph(b *Block) string {
	if b.Text == nil {
		return ""
	}
	s := r.inline(b.BlockID, b.Text.Elements, inlineMD)
	s = strings.TrimRight(s, " \t")
	for strings.HasSuffix(s, "\\\n") { // a hard break cannot end a paragraph
		s = strings.TrimRight(strings.TrimSuffix(s, "\\\n"), " \t")
	}
	return strings.TrimLeft(s, " \t")
}

func (r *renderer) listItem(b *Block, depth int) part {
	text := strings.ReplaceAll(r.paragraph(b), "\n", "\n\x00") // continuation lines, indented below
	var marker string
	switch b.BlockType {
	case TypeBullet:
		marker = "- "
	case TypeTodo:
		marker = "- [ ] "
		if b.Text != nil && b.Text.Style.Done {
			marker = "- [x] "
		}
	case TypeOrdered:
		marker = orderedMark
	}
	kids := r.children(b, depth)
	body := text
	if len(kids) > 0 {
		inner := join(kids)
		sep := "\n"
		if first := kids[0].text; first == "---" || strings.HasPrefix(first, "|") || strings.HasPrefix(first, "<table") {
			sep = "\n\n" // would otherwise turn the item text into a heading or a table
		}
		body += sep + "\x00" + strings.ReplaceAll(inner, "\n", "\n\x00")
	}
	if marker == orderedMark {
		// number() indents continuation lines once the marker is known.
		return part{text: orderedMark + body, list: true}
	}
	indent := strings.Repeat(" ", 2)
	lines := strings.Split(body, "\n")
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], "\x00")
		if i > 0 && lines[i] != "" {
			lines[i] = indent + lines[i]
		}
	}
	return part{text: marker + strings.Join(lines, "\n"), list: true}
}

// prefixLines prefixes every line of s; blank lines get the prefix without
// its trailing space.
func prefixLines(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = strings.TrimRight(prefix, " ")
		} else {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

func (r *renderer) code(b *Block) string {
	var sb strings.Builder
	lang := 0
	if b.Text != nil {
		lang = b.Text.Style.Language
		for _, e := range b.Text.Elements {
			if e.TextRun != nil {
				sb.WriteString(e.TextRun.Content)
			}
		}
	}
	content := sb.String()
	fence := "```"
	if longest := longestRun(content, '`'); longest >= 3 {
		fence = strings.Repeat("`", longest+1)
	}
	var out strings.Builder
	out.WriteString(fence)
	out.WriteString(CodeLanguage(lang))
	out.WriteString("\n")
	out.WriteString(content)
	if content != "" && !strings.HasSuffix(content, "\n") {
		out.WriteString("\n")
	}
	out.WriteString(fence)
	return out.String()
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

func (r *renderer) image(b *Block) string {
	if b.Image == nil || b.Image.Token == "" {
		r.warn(b.BlockID, "image without a media token dropped")
		return ""
	}
	token := b.Image.Token
	r.images = append(r.images, token)
	url := token
	if r.c.cfg.HandleImages != ImagesLink && r.c.assets != nil {
		u, err := r.c.assets.Image(r.ctx, token, r.c.cfg.HandleImages)
		if err != nil {
			r.warn(b.BlockID, "image %s: %v; linked by token", token, err)
		} else {
			url = u
		}
	}
	return "![](" + escapeURL(url) + ")"
}

// withComments appends the block's comments as HTML comments when asked.
func (r *renderer) withComments(b *Block, parts []part) []part {
	if !r.c.cfg.PreserveComments || len(parts) == 0 {
		return parts
	}
	ids := append([]string(nil), b.CommentIDs...)
	if b.Text != nil {
		for _, e := range b.Text.Elements {
			if e.TextRun != nil {
				ids = append(ids, e.TextRun.Style.CommentIDs...)
			}
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		text, ok := r.c.comments[id]
		if !ok {
			r.warn(b.BlockID, "comment %s has no text; not preserved", id)
			continue
		}
		// "--" cannot appear inside an HTML comment.
		text = strings.ReplaceAll(strings.ReplaceAll(text, "--", "- -"), "\n", " ")
		parts = append(parts, part{text: "<!-- comment: " + text + " -->"})
	}
	return parts
}

// CodeLanguage returns the fenced-code info string for a CodeLanguage id.
func CodeLanguage(id int) string {
	if s, ok := codeInfo[id]; ok {
		return s
	}
	if id >= 1 && id < len(codeLanguageNames) {
		return strings.ToLower(strings.ReplaceAll(codeLanguageNames[id], " ", ""))
	}
	return ""
}

var codeInfo = map[int]string{
	1: "", 7: "bash", 8: "csharp", 9: "cpp", 10: "c", 12: "css", 18: "dockerfile", 22: "go", 24: "html",
	26: "http", 28: "json", 29: "java", 30: "javascript", 32: "kotlin", 38: "makefile", 39: "markdown",
	40: "nginx", 43: "php", 46: "powershell", 48: "protobuf", 49: "python", 52: "ruby", 53: "rust",
	56: "sql", 60: "shell", 61: "swift", 63: "typescript", 66: "xml", 67: "yaml",
}

// codeLanguageNames is FORMAT.md §5, indexed by id.
var codeLanguageNames = []string{"",
	"PlainText", "ABAP", "Ada", "Apache", "Apex", "Assembly", "Bash", "CSharp", "C++", "C", "COBOL", "CSS",
	"CoffeeScript", "D", "Dart", "Delphi", "Django", "Dockerfile", "Erlang", "Fortran", "FoxPro", "Go",
	"Groovy", "HTML", "HTMLBars", "HTTP", "Haskell", "JSON", "Java", "JavaScript", "Julia", "Kotlin", "LaTeX",
	"Lisp", "Logo", "Lua", "MATLAB", "Makefile", "Markdown", "Nginx", "Objective-C", "OpenEdgeABL", "PHP",
	"Perl", "PostScript", "PowerShell", "Prolog", "ProtoBuf", "Python", "R", "RPG", "Ruby", "Rust", "SAS",
	"SCSS", "SQL", "Scala", "Scheme", "Scratch", "Shell", "Swift", "Thrift", "TypeScript", "VBScript",
	"Visual Basic", "XML", "YAML",
}
