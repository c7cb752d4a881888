package techdocs

import (
	"regexp"

	"github.com/microcosm-cc/bluemonday"
)

// newSanitizer returns the policy every rendered page goes through: the
// HTML MkDocs projects use (tables, code, admonitions, details, footnotes,
// task lists, abbreviations, images, ids and classes for anchors and
// styling), without scripts, event handlers, styles, forms or frames.
func newSanitizer() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^[\w\- ]{1,200}$`)).Globally()
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[^\s"'<>]{1,200}$`)).Globally()
	p.AllowAttrs("title").Globally()
	p.AllowElements("details", "summary", "abbr", "mark", "kbd", "figure", "figcaption", "span", "div")
	p.AllowAttrs("open").OnElements("details")
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").OnElements("input")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("td", "th")
	p.AllowAttrs("width", "height").Matching(bluemonday.Number).OnElements("img")
	p.AllowAttrs("loading").Matching(regexp.MustCompile(`^(lazy|eager)$`)).OnElements("img")
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^(doc-noteref|doc-endnotes|doc-backlink|note)$`)).Globally()
	p.AllowDataURIImages()
	// Relative links are the norm in a docs site; nofollow would change
	// nothing for internal pages.
	p.RequireNoFollowOnLinks(false)
	p.AllowURLSchemes("http", "https", "mailto")
	return p
}
