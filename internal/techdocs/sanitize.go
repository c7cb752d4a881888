package techdocs

import (
	"regexp"
	"strings"
	"sync"

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
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^(checkbox|radio)$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").OnElements("input")
	// pymdownx.tabbed's radio inputs and labels.
	p.AllowAttrs("name").Matching(regexp.MustCompile(`^__tabbed_\d{1,6}$`)).OnElements("input")
	p.AllowElements("label")
	p.AllowAttrs("for").Matching(regexp.MustCompile(`^__tabbed_\d{1,6}_\d{1,6}$`)).OnElements("label")
	p.AllowAttrs("data-tabs").Matching(regexp.MustCompile(`^\d{1,6}:\d{1,6}$`)).OnElements("div")
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

// sanitizer is the policy, made once: a policy is safe for concurrent use
// and making one compiles a dozen regular expressions.
var sanitizer = sync.OnceValue(newSanitizer)

// Sanitize applies the builder's HTML policy to html, for pages of sites
// the builder did not make (published by techdocs-cli in CI).
func Sanitize(html []byte) []byte {
	return sanitizer().SanitizeBytes(html)
}

// PageContent returns the content of a built page: what lies between the
// builder's content markers, or for pages of other builders the
// md-content article (Material and techdocs-core's layout), else the
// body. ok is false when html has none of these.
func PageContent(html []byte) (content []byte, ours bool) {
	s := string(html)
	if i, j := strings.Index(s, contentStart), strings.Index(s, contentEnd); i >= 0 && j > i {
		return []byte(s[i+len(contentStart) : j]), true
	}
	for _, open := range []string{`<article class="md-content__inner md-typeset"`, "<body"} {
		if i := strings.Index(s, open); i >= 0 {
			rest := s[i:]
			if k := strings.IndexByte(rest, '>'); k >= 0 {
				rest = rest[k+1:]
			}
			end := "</article>"
			if open == "<body" {
				end = "</body>"
			}
			if j := strings.LastIndex(rest, end); j >= 0 {
				rest = rest[:j]
			}
			return []byte(rest), false
		}
	}
	return html, false
}
