package apidocs

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// checkFragment parses a rendered fragment as a browser would and asserts
// the rules every fragment keeps: headings start at the given level and
// never skip one going down; ids are unique and every in-page link has a
// target; table header cells have a scope; nothing a definition writes
// becomes an element or attribute that runs, loads or styles anything.
func checkFragment(t *testing.T, frag string, level int) *html.Node {
	t.Helper()
	ctx := &html.Node{Type: html.ElementNode, Data: "main", DataAtom: atom.Main}
	nodes, err := html.ParseFragment(strings.NewReader(frag), ctx)
	if err != nil {
		t.Fatalf("fragment does not parse: %v", err)
	}
	root := &html.Node{Type: html.ElementNode, Data: "main"}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	ids := map[string]bool{}
	var links []string
	prev := 0
	allowed := map[string]bool{
		"section": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "p": true, "ul": true, "ol": true,
		"li": true, "code": true, "pre": true, "span": true, "strong": true, "em": true, "a": true, "nav": true, "div": true,
		"table": true, "caption": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "details": true, "summary": true,
		"main": true, "blockquote": true, "hr": true, "br": true, "del": true, "input": true, // GFM task lists render disabled checkboxes
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if !allowed[n.Data] {
				t.Errorf("element <%s> in the fragment", n.Data)
			}
			if len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6' {
				l, _ := strconv.Atoi(n.Data[1:])
				switch {
				case prev == 0 && l != level:
					t.Errorf("first heading is h%d, want h%d", l, level)
				case l < level:
					t.Errorf("heading h%d above the fragment's level %d", l, level)
				case prev > 0 && l > prev+1:
					t.Errorf("heading h%d follows h%d: a level is skipped (%q)", l, prev, textOf(n))
				}
				prev = l
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(k, "on"), k == "style", k == "src", k == "srcdoc", k == "formaction":
					t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
				case k == "id":
					if ids[a.Val] {
						t.Errorf("id %q is used twice", a.Val)
					}
					ids[a.Val] = true
				case k == "href":
					if strings.HasPrefix(a.Val, "#") {
						links = append(links, a.Val[1:])
					} else if !safeURL(a.Val) {
						t.Errorf("unsafe link %q", a.Val)
					}
				}
			}
			if n.Data == "th" && n.Parent != nil && n.Parent.Parent != nil && attr(n, "scope") == "" && inTable(n, "apidocs-params") {
				t.Errorf("<th> %q without scope", textOf(n))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	for _, l := range links {
		if !ids[l] {
			t.Errorf("link to #%s, which is not in the fragment", l)
		}
	}
	return root
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func inTable(n *html.Node, class string) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Data == "table" {
			return strings.Contains(attr(p, "class"), class)
		}
	}
	return false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// headings returns the text of every heading, in order.
func headings(root *html.Node) []string {
	var out []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6' {
			out = append(out, n.Data+" "+strings.Join(strings.Fields(textOf(n)), " "))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}
