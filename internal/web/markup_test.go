package web

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// walk calls fn for every element of the tree.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// text returns the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// find returns the elements fn accepts, in document order.
func find(doc *html.Node, fn func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if fn(n) {
			out = append(out, n)
		}
	})
	return out
}

func byTag(doc *html.Node, a atom.Atom) []*html.Node {
	return find(doc, func(n *html.Node) bool { return n.DataAtom == a })
}

// headings returns the heading levels in document order.
func headings(doc *html.Node) []int {
	var out []int
	walk(doc, func(n *html.Node) {
		switch n.DataAtom {
		case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
			out = append(out, int(n.Data[1]-'0'))
		}
	})
	return out
}

// markupProblems checks what every page must get right for keyboard and
// screen-reader users, and for the CSP: one h1 that comes first, heading
// levels never skipped going down, landmarks, a skip link to main, every
// form control labelled, unique ids, no inline script or style.
func markupProblems(doc *html.Node) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	hs := headings(doc)
	h1 := 0
	for i, l := range hs {
		if l == 1 {
			h1++
		}
		if i == 0 && l != 1 {
			add("the first heading is h%d, not h1", l)
		}
		if i > 0 && l > hs[i-1]+1 {
			add("heading h%d follows h%d (a level is skipped)", l, hs[i-1])
		}
	}
	if h1 != 1 {
		add("%d h1 headings, want exactly 1", h1)
	}

	if h := byTag(doc, atom.Html); len(h) != 1 {
		add("no html element")
	} else if lang, _ := attr(h[0], "lang"); lang == "" {
		add("html has no lang")
	}
	for _, a := range []atom.Atom{atom.Header, atom.Nav, atom.Main, atom.Footer} {
		if len(byTag(doc, a)) == 0 {
			add("no <%s> landmark", a)
		}
	}
	if mains := byTag(doc, atom.Main); len(mains) != 1 {
		add("%d main elements", len(mains))
	} else if id, _ := attr(mains[0], "id"); id != "main" {
		add("main has id %q, the skip link targets #main", id)
	}
	if skip := find(doc, func(n *html.Node) bool { h, _ := attr(n, "href"); return n.DataAtom == atom.A && h == "#main" }); len(skip) == 0 {
		add("no skip link to #main")
	}
	for _, nav := range byTag(doc, atom.Nav) {
		if l, _ := attr(nav, "aria-label"); l == "" {
			add("a nav has no aria-label")
		}
	}

	ids := map[string]bool{}
	labelFor := map[string]bool{}
	walk(doc, func(n *html.Node) {
		if id, ok := attr(n, "id"); ok {
			if ids[id] {
				add("duplicate id %q", id)
			}
			ids[id] = true
		}
		if n.DataAtom == atom.Label {
			if f, ok := attr(n, "for"); ok {
				labelFor[f] = true
			}
		}
		if _, ok := attr(n, "style"); ok {
			add("<%s> has a style attribute, which the CSP blocks", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				add("<%s> has an inline %s handler", n.Data, a.Key)
			}
		}
		if n.DataAtom == atom.Script {
			if src, _ := attr(n, "src"); src == "" || text(n) != "" {
				add("inline script")
			}
		}
		if n.DataAtom == atom.Style {
			add("inline <style>")
		}
		if n.DataAtom == atom.A {
			if h, _ := attr(n, "href"); strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "javascript:") {
				add("a javascript: link: %s", h)
			}
		}
		if n.DataAtom == atom.Img {
			if _, ok := attr(n, "alt"); !ok {
				add("an img has no alt")
			}
		}
		if n.DataAtom == atom.Table && len(find(n, func(c *html.Node) bool { return c.DataAtom == atom.Caption })) == 0 {
			add("a table has no caption")
		}
	})
	walk(doc, func(n *html.Node) {
		if n.DataAtom != atom.Input && n.DataAtom != atom.Select && n.DataAtom != atom.Textarea {
			return
		}
		if t, _ := attr(n, "type"); t == "hidden" || t == "submit" {
			return
		}
		id, _ := attr(n, "id")
		_, aria := attr(n, "aria-label")
		if aria || (id != "" && labelFor[id]) || inside(n, atom.Label) {
			return
		}
		name, _ := attr(n, "name")
		add("<%s name=%q> has no label", n.Data, name)
	})
	// Named landmarks of one role need distinct names (axe's
	// landmark-unique): navs by aria-label, regions by aria-label or the
	// text of their aria-labelledby.
	byID := map[string]*html.Node{}
	walk(doc, func(n *html.Node) {
		if id, ok := attr(n, "id"); ok {
			byID[id] = n
		}
	})
	seen := map[string]bool{}
	walk(doc, func(n *html.Node) {
		role, _ := attr(n, "role")
		switch {
		case n.DataAtom == atom.Nav:
			role = "navigation"
		case n.DataAtom == atom.Section:
			role = "region"
		case role != "region":
			return
		}
		name, _ := attr(n, "aria-label")
		if id, ok := attr(n, "aria-labelledby"); ok {
			if l := byID[id]; l != nil {
				name = text(l)
			} else {
				add("aria-labelledby=%q names no element", id)
			}
		}
		if name == "" {
			return // an unnamed section is no landmark
		}
		if seen[role+"\x00"+name] {
			add("two %s landmarks are named %q", role, name)
		}
		seen[role+"\x00"+name] = true
	})
	for _, b := range byTag(doc, atom.Button) {
		if text(b) == "" {
			if l, _ := attr(b, "aria-label"); l == "" {
				add("a button has no text")
			}
		}
	}
	return out
}

func inside(n *html.Node, a atom.Atom) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.DataAtom == a {
			return true
		}
	}
	return false
}
