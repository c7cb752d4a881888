package techdocs

import (
	"bytes"
	"strings"
)

// The page HTML is theme/page.html, written out in Go: executing the
// template (reflection for every field, a call per escaper) was a third
// of a build's CPU time. writePage, writeNav and writeTOC produce the
// bytes html/template produces from page.html, with its contextual
// escaping: escHTML in text, the title and attribute values, escURL for a
// URL attribute, escURLPart after its '#'. TestPageHTMLAsTemplate checks
// them against the template, which stays the reference: change both.

// escHTML writes s as html/template's htmlEscaper, rcdataEscaper and
// attrEscaper write a string (not template.HTML).
func escHTML(b *bytes.Buffer, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b.WriteString(s[written:i])
		b.WriteString(repl)
		written = i + 1
	}
	b.WriteString(s[written:])
}

// escURL writes s as html/template writes a string at the start of a URL
// attribute: urlFilter (a scheme other than http, https and mailto
// becomes #ZgotmplZ), urlNormalizer, attrEscaper.
func escURL(b *bytes.Buffer, s string) {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") &&
		!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
		s = "#ZgotmplZ"
	}
	escHTML(b, processURL(s, true))
}

// escURLPart writes s as html/template writes a string in a URL's
// fragment: urlEscaper, attrEscaper.
func escURLPart(b *bytes.Buffer, s string) {
	escHTML(b, processURL(s, false))
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// processURL is html/template's processURLOnto: norm keeps reserved
// characters and valid %xx escapes (urlNormalizer), else they are encoded
// too (urlEscaper).
func processURL(s string, norm bool) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']':
			if norm {
				continue
			}
		case '-', '.', '_', '~':
			continue
		case '%':
			if norm && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
				continue
			}
		default:
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				continue
			}
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		const hex = "0123456789abcdef"
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

// writeNav is page.html's "nav" template.
func writeNav(b *bytes.Buffer, items []navView) {
	b.WriteString(`<ul class="md-nav__list">`)
	for _, it := range items {
		b.WriteString(`<li class="md-nav__item`)
		if len(it.Children) > 0 {
			b.WriteString(` md-nav__item--nested`)
		}
		b.WriteString(`">`)
		if it.Kind == "section" {
			b.WriteString(`<span class="md-nav__link">`)
			escHTML(b, it.Title)
			b.WriteString(`</span>`)
			writeNav(b, it.Children)
		} else {
			b.WriteString(`<a class="md-nav__link" href="`)
			escURL(b, it.Href)
			b.WriteString(`">`)
			escHTML(b, it.Title)
			b.WriteString(`</a>`)
		}
		b.WriteString(`</li>`)
	}
	b.WriteString(`</ul>`)
}

// writeTOC is page.html's "toc" template.
func writeTOC(b *bytes.Buffer, items []*TOCItem) {
	b.WriteString(`<ul class="md-nav__list">`)
	for _, it := range items {
		b.WriteString(`<li class="md-nav__item"><a class="md-nav__link" href="#`)
		escURLPart(b, it.ID)
		b.WriteString(`">`)
		escHTML(b, it.Title)
		b.WriteString(`</a>`)
		if len(it.Children) > 0 {
			writeTOC(b, it.Children)
		}
		b.WriteString(`</li>`)
	}
	b.WriteString(`</ul>`)
}

// writePage is page.html's page. The nav is v.Nav with the link to the
// page itself, activeLink, marked as the current page (markActive's
// replacement, written in place).
func writePage(b *bytes.Buffer, v *pageView, activeLink string) {
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
		"<meta name=\"generator\" content=\"greenroom techdocs\">\n")
	if v.SiteDescription != "" {
		b.WriteString(`<meta name="description" content="`)
		escHTML(b, v.SiteDescription)
		b.WriteString(`">`)
	}
	b.WriteString("\n<title>")
	if v.IsHome {
		escHTML(b, v.SiteName)
	} else {
		escHTML(b, v.Title)
		b.WriteString(" - ")
		escHTML(b, v.SiteName)
	}
	b.WriteString("</title>\n<link rel=\"stylesheet\" href=\"")
	escURL(b, v.Base)
	b.WriteString("assets/greenroom-docs.css\">\n</head>\n<body>\n" +
		"<a class=\"md-skip\" href=\"#content\">Skip to content</a>\n" +
		"<header class=\"md-header\"><nav class=\"md-header__inner\" aria-label=\"Site\"><a class=\"md-header__title\" href=\"")
	escURL(b, v.Base)
	b.WriteString(`">`)
	escHTML(b, v.SiteName)
	b.WriteString("</a></nav></header>\n<div class=\"md-container\">\n<main class=\"md-main\">\n" +
		"<div class=\"md-main__inner md-grid\">\n<div class=\"md-sidebar md-sidebar--primary\">\n" +
		"<nav class=\"md-nav md-nav--primary\" aria-label=\"Navigation\">\n")
	nav := string(v.Nav)
	old := `<a class="md-nav__link" href="` + activeLink + `">`
	if i := strings.Index(nav, old); i >= 0 {
		b.WriteString(nav[:i])
		b.WriteString(`<a class="md-nav__link md-nav__link--active" href="`)
		b.WriteString(activeLink)
		b.WriteString(`" aria-current="page">`)
		b.WriteString(nav[i+len(old):])
	} else {
		b.WriteString(nav)
	}
	b.WriteString("\n</nav>\n</div>\n")
	if len(v.TOC) > 0 {
		b.WriteString("<div class=\"md-sidebar md-sidebar--secondary\">\n" +
			"<nav class=\"md-nav md-nav--secondary\" aria-label=\"Table of contents\">\n" +
			"<h2 class=\"md-nav__title\">Table of contents</h2>\n")
		writeTOC(b, v.TOC)
		b.WriteString("\n</nav>\n</div>")
	}
	b.WriteString("\n<div class=\"md-content\" data-md-component=\"content\">\n" +
		"<article class=\"md-content__inner md-typeset\" id=\"content\">\n")
	if v.EditURL != "" {
		b.WriteString(`<a href="`)
		escURL(b, v.EditURL)
		b.WriteString(`" title="Edit this page" class="md-content__button md-icon">Edit this page</a>`)
	}
	b.WriteString("\n")
	b.WriteString(string(v.Mark))
	b.WriteString(string(v.Content))
	b.WriteString(string(v.EndMark))
	b.WriteString("\n</article>\n</div>\n</div>\n</main>\n<footer class=\"md-footer\">\n")
	if v.Prev != nil || v.Next != nil {
		b.WriteString("<nav class=\"md-footer__inner md-grid\" aria-label=\"Previous and next page\">\n")
		if v.Prev != nil {
			b.WriteString(`<a href="`)
			escURL(b, v.Prev.Href)
			b.WriteString(`" class="md-footer__link md-footer__link--prev" rel="prev">Previous: `)
			escHTML(b, v.Prev.Title)
			b.WriteString(`</a>`)
		}
		b.WriteString("\n")
		if v.Next != nil {
			b.WriteString(`<a href="`)
			escURL(b, v.Next.Href)
			b.WriteString(`" class="md-footer__link md-footer__link--next" rel="next">Next: `)
			escHTML(b, v.Next.Title)
			b.WriteString(`</a>`)
		}
		b.WriteString("\n</nav>")
	}
	b.WriteString("\n</footer>\n</div>\n</body>\n</html>\n\n\n")
}
