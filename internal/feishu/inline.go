package feishu

import (
	"net/url"
	"strings"
)

type inlineMode int

const (
	inlineMD   inlineMode = iota // Markdown (CONVENTIONS.md inline table)
	inlineHTML                   // HTML, inside an HTML <table>
)

// span is one run of inline content with its style, before rendering.
type span struct {
	text  string // plain text (escaped at render) or, when raw, markup
	raw   bool   // already markup (mentions, equations, code handled apart)
	style spanStyle
}

type spanStyle struct {
	bold, italic, strike, underline, code bool
	link                                  string // decoded URL, "" for none
}

// inline renders elements in mode, merging adjacent runs of identical
// style first.
func (r *renderer) inline(blockID string, elems []TextElement, mode inlineMode) string {
	spans := make([]span, 0, len(elems))
	for _, e := range elems {
		switch {
		case e.TextRun != nil:
			spans = append(spans, span{text: e.TextRun.Content, style: r.style(e.TextRun.Style)})
		case e.MentionUser != nil:
			name := e.MentionUser.UserID
			if r.c.assets != nil && r.c.cfg.HandleImages != ImagesLink {
				// Online conversions resolve names; --images link is offline.
				if n, err := r.c.assets.UserName(r.ctx, e.MentionUser.UserID); err != nil {
					r.warn(blockID, "user %s: %v; written by id", e.MentionUser.UserID, err)
				} else if n != "" {
					name = n
				}
			}
			spans = append(spans, span{text: "@" + name, style: r.style(e.MentionUser.Style)})
		case e.MentionDoc != nil:
			u := decodeURL(e.MentionDoc.URL)
			title := e.MentionDoc.Title
			if title == "" {
				title = u
			}
			st := r.style(e.MentionDoc.Style)
			st.link = u
			spans = append(spans, span{text: title, style: st})
		case e.Equation != nil:
			c := strings.TrimRight(e.Equation.Content, "\n\r\t ")
			if mode == inlineHTML {
				spans = append(spans, span{text: "$" + c + "$"})
			} else {
				spans = append(spans, span{text: "$" + c + "$", raw: true})
			}
		}
	}
	// Merge adjacent spans of identical style.
	merged := spans[:0]
	for _, s := range spans {
		if n := len(merged); n > 0 && !s.raw && !merged[n-1].raw && merged[n-1].style == s.style {
			merged[n-1].text += s.text
			continue
		}
		merged = append(merged, s)
	}
	var b strings.Builder
	for _, s := range merged {
		if mode == inlineHTML {
			writeHTMLSpan(&b, s)
		} else {
			writeMDSpan(&b, s)
		}
	}
	return b.String()
}

func (r *renderer) style(st ElementStyle) spanStyle {
	s := spanStyle{code: st.InlineCode}
	if r.c.cfg.PreserveFormatting {
		s.bold, s.italic, s.strike, s.underline = st.Bold, st.Italic, st.Strikethrough, st.Underline
	}
	if st.Link != nil && st.Link.URL != "" {
		s.link = decodeURL(st.Link.URL)
	}
	return s
}

// decodeURL percent-decodes u exactly once; an undecodable URL is kept.
func decodeURL(u string) string {
	if d, err := url.PathUnescape(u); err == nil {
		return d
	}
	return u
}

// escapeURL re-escapes what would end or break a Markdown link destination.
func escapeURL(u string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "\n", "%0A", "<", "%3C", ">", "%3E").Replace(u)
}

func writeMDSpan(b *strings.Builder, s span) {
	if s.raw {
		b.WriteString(s.text)
		return
	}
	// Leading and trailing whitespace go outside the markers.
	core := strings.TrimLeft(s.text, " \t\n")
	lead := s.text[:len(s.text)-len(core)]
	trimmed := strings.TrimRight(core, " \t\n")
	trail := core[len(trimmed):]
	core = trimmed
	writeBreaks(b, lead)
	atStart := b.Len() == 0 || strings.HasSuffix(b.String(), "\n")
	if core == "" {
		writeBreaks(b, trail)
		return
	}
	st := s.style
	var open, close []string
	if st.link != "" {
		open, close = append(open, "["), append([]string{"](" + escapeURL(st.link) + ")"}, close...)
	}
	if st.underline {
		open, close = append(open, "<u>"), append([]string{"</u>"}, close...)
	}
	if st.strike {
		open, close = append(open, "~~"), append([]string{"~~"}, close...)
	}
	if st.italic {
		open, close = append(open, "*"), append([]string{"*"}, close...)
	}
	if st.bold {
		open, close = append(open, "**"), append([]string{"**"}, close...)
	}
	for _, o := range open {
		b.WriteString(o)
	}
	if st.code {
		b.WriteString(codeSpan(core))
	} else {
		b.WriteString(escapeText(core, atStart && len(open) == 0))
	}
	for _, c := range close {
		b.WriteString(c)
	}
	writeBreaks(b, trail)
}

// writeBreaks writes whitespace, turning Feishu soft breaks into Markdown
// hard breaks.
func writeBreaks(b *strings.Builder, ws string) {
	b.WriteString(strings.ReplaceAll(ws, "\n", "\\\n"))
}

// codeSpan wraps s in backticks, longer than any run inside it.
func codeSpan(s string) string {
	n := longestRun(s, '`')
	if n == 0 {
		return "`" + s + "`"
	}
	fence := strings.Repeat("`", n+1)
	return fence + " " + s + " " + fence
}

// mdSpecial are escaped wherever they appear in plain text.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, "~", `\~`, "&", `\&`,
)

// escapeText escapes Markdown-special characters of plain text so that they
// stay literal; soft line breaks become hard breaks. atLineStart says the
// text starts a line, where block markers must be escaped too.
func escapeText(s string, atLineStart bool) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = mdEscaper.Replace(l)
		if i > 0 || atLineStart {
			l = escapeLineStart(l)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\\\n")
}

// escapeLineStart escapes what would start a block at the start of a line:
// headings, quotes, list markers, thematic breaks and setext underlines.
func escapeLineStart(l string) string {
	t := strings.TrimLeft(l, " \t")
	if t == "" {
		return l
	}
	switch t[0] {
	case '#', '>', '-', '+', '=':
		return `\` + t
	}
	// "1. " or "1) " would start an ordered list.
	i := 0
	for i < len(t) && i < 9 && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && i < len(t) && (t[i] == '.' || t[i] == ')') {
		return t[:i] + `\` + t[i:]
	}
	return t
}

// escapeHeadingEnd keeps a trailing run of '#' in heading text literal
// (ATX headings drop a closing sequence).
func escapeHeadingEnd(s string) string {
	t := strings.TrimRight(s, "#")
	if t == s || (t != "" && !strings.HasSuffix(t, " ")) {
		return s
	}
	return t + `\` + s[len(t):]
}

func writeHTMLSpan(b *strings.Builder, s span) {
	if s.text == "" {
		return
	}
	st := s.style
	var open, close []string
	if st.link != "" {
		open, close = append(open, `<a href="`+htmlAttr(st.link)+`">`), append([]string{"</a>"}, close...)
	}
	if st.underline {
		open, close = append(open, "<u>"), append([]string{"</u>"}, close...)
	}
	if st.strike {
		open, close = append(open, "<del>"), append([]string{"</del>"}, close...)
	}
	if st.italic {
		open, close = append(open, "<em>"), append([]string{"</em>"}, close...)
	}
	if st.bold {
		open, close = append(open, "<strong>"), append([]string{"</strong>"}, close...)
	}
	if st.code {
		open, close = append(open, "<code>"), append([]string{"</code>"}, close...)
	}
	for _, o := range open {
		b.WriteString(o)
	}
	b.WriteString(strings.ReplaceAll(htmlText(s.text), "\n", "<br>"))
	for _, c := range close {
		b.WriteString(c)
	}
}

// htmlText escapes text for HTML content: &, < and > only, so that quotes
// stay as written.
func htmlText(s string) string { return htmlTextEscaper.Replace(s) }

// htmlAttr escapes a double-quoted attribute value.
func htmlAttr(s string) string { return htmlAttrEscaper.Replace(s) }

var (
	htmlTextEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	htmlAttrEscaper = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")
)
