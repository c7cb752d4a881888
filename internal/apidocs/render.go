package apidocs

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFS embed.FS

// Stylesheet holds the CSS rules of the fragments' classes, for the
// portal's stylesheet; like the markup it needs no inline style.
//
//go:embed style.css
var Stylesheet string

// templates are parsed once, on first use (not when the package loads:
// every process of the binary would pay for it): they are part of the
// binary, so an error is a programming error that no test run would miss.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("apidocs").Funcs(template.FuncMap{
		"h":       openHeading,
		"endh":    closeHeading,
		"md":      markdown,
		"lower":   strings.ToLower,
		"plural":  plural,
		"at":      at,
		"inc":     func(l int) int { return min(6, l+1) },
		"typeof":  typeOf,
		"nested":  nested,
		"capital": capital,
		"gqltype": gqlType,
		"argdocs": func(args []GQLField) bool {
			for _, a := range args {
				if a.Description != "" || a.Deprecated != "" {
					return true
				}
			}
			return false
		},
	}).ParseFS(templateFS, "templates/*.html"))
})

// maxRaw bounds the definition text shown when it cannot be read.
const maxRaw = 1 << 20

// view is what the templates render: the document with the heading
// levels of its outline.
type view struct {
	*Document
	ID             string
	H1, H2, H3, H4 int
	Contents       []contentsEntry
	// For the raw fallback.
	TypeName, Err, Notice, Raw, RawCut string
}

type contentsEntry struct{ Name, Anchor string }

// Render renders an API entity's definition as an HTML fragment: a
// <section> whose headings start at opts.HeadingLevel, with the
// operations, channels or types, their parameters and schemas as tables
// and collapsible property trees, and descriptions as sanitised Markdown.
// All text of the definition is escaped. A definition that cannot be read
// renders as a located error and the definition as text; so does an API
// type without a viewer, with a notice instead of the error. Render fails
// only on bad options.
func Render(specType, definition string, opts Options) (template.HTML, error) {
	opts, err := opts.normalised()
	if err != nil {
		return "", err
	}
	v := view{ID: opts.IDPrefix}
	v.H1 = opts.HeadingLevel
	v.H2, v.H3, v.H4 = min(6, v.H1+1), min(6, v.H1+2), min(6, v.H1+3)
	doc, err := Parse(specType, definition, opts)
	name := "raw"
	if err != nil {
		v.TypeName = typeName(specType)
		if errors.Is(err, ErrUnsupported) {
			v.Notice = fmt.Sprintf("Greenroom has no viewer for API type %q; the definition is shown as text.", specType)
		} else {
			v.Err = err.Error()
		}
		v.Raw = definition
		if len(v.Raw) > maxRaw {
			cut := maxRaw
			for cut > 0 && !utf8.RuneStart(v.Raw[cut]) {
				cut--
			}
			v.Raw, v.RawCut = v.Raw[:cut], strconv.Itoa(maxRaw>>10)+" KB"
		}
		v.Raw = strings.ToValidUTF8(v.Raw, "\uFFFD")
	} else {
		v.Document, name = doc, "document"
		v.Contents = contents(doc)
	}
	var b strings.Builder
	if err := templates().ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("apidocs: render: %w", err)
	}
	return template.HTML(b.String()), nil
}

func typeName(t string) string {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "openapi":
		return "OpenAPI"
	case "asyncapi":
		return "AsyncAPI"
	case "graphql":
		return "GraphQL"
	}
	return "API"
}

// contents lists the sections a reader jumps between.
func contents(d *Document) []contentsEntry {
	var out []contentsEntry
	switch {
	case d.OpenAPI != nil:
		for _, g := range d.OpenAPI.Groups {
			out = append(out, contentsEntry{g.Name, g.Anchor})
		}
		if len(d.OpenAPI.Schemas) > 0 {
			out = append(out, contentsEntry{"Schemas", d.idOf("schemas")})
		}
	case d.AsyncAPI != nil:
		for _, c := range d.AsyncAPI.Channels {
			out = append(out, contentsEntry{c.Address, c.Anchor})
		}
		if len(d.AsyncAPI.Schemas) > 0 {
			out = append(out, contentsEntry{"Schemas", d.idOf("schemas")})
		}
	case d.GraphQL != nil:
		g := d.GraphQL
		for _, r := range []struct {
			t    *GQLType
			name string
		}{{g.Query, "Queries"}, {g.Mutation, "Mutations"}, {g.Subscription, "Subscriptions"}} {
			if r.t != nil {
				out = append(out, contentsEntry{r.name, r.t.Anchor})
			}
		}
		if len(g.Types) > 0 {
			out = append(out, contentsEntry{"Types", d.idOf("types")})
		}
	}
	return out
}

// idOf is the id of a fixed section; Render sets the prefix.
func (d *Document) idOf(section string) string { return d.prefix + "-" + section }

func openHeading(level int, id string) template.HTML {
	l := strconv.Itoa(min(6, max(1, level)))
	if id == "" {
		return template.HTML("<h" + l + ">")
	}
	return template.HTML("<h" + l + ` id="` + template.HTMLEscapeString(id) + `">`)
}

func closeHeading(level int) template.HTML {
	return template.HTML("</h" + strconv.Itoa(min(6, max(1, level))) + ">")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// leveled pairs a value with the heading level it renders at.
type leveled struct {
	H     int
	V     any
	Extra string
}

func at(h int, v any, extra string) leveled { return leveled{h, v, extra} }

func capital(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// typeOf renders a schema's type, linking the reusable schema it names.
func typeOf(s *Schema) template.HTML {
	if s == nil {
		return "any value"
	}
	esc := template.HTMLEscapeString
	link := func(name string) string {
		if s.RefAnchor == "" {
			return "<code>" + esc(name) + "</code>"
		}
		return `<a href="#` + esc(s.RefAnchor) + `"><code>` + esc(name) + `</code></a>`
	}
	switch {
	case s.RefName != "" && (s.Recursive || s.Collapsed || s.Type == s.RefName):
		return template.HTML(link(s.RefName))
	case s.RefName != "":
		return template.HTML(link(s.RefName) + " (" + esc(s.Type) + ")")
	case s.Items != nil && s.Items.RefName != "" && strings.HasPrefix(s.Type, "array of "):
		return template.HTML("array of " + string(typeOf(&Schema{RefName: s.Items.RefName, RefAnchor: s.Items.RefAnchor, Type: s.Items.RefName})))
	case s.Unresolved != "":
		return template.HTML("unresolved <code>" + esc(s.Unresolved) + "</code>")
	}
	return template.HTML(esc(s.Type))
}

// nested reports whether a schema has a tree below it.
func nested(s *Schema) bool {
	if s == nil {
		return false
	}
	return len(s.Properties) > 0 || len(s.Variants) > 0 || s.Additional != nil || nested(s.Items) ||
		(s.Items != nil && (len(s.Items.Enum) > 0 || s.Items.Description != ""))
}

// gqlType renders a GraphQL type, linking its named type when the schema
// defines it.
func gqlType(t TypeRef) template.HTML {
	esc := template.HTMLEscapeString
	name := "<code>" + esc(t.Name) + "</code>"
	if t.Anchor != "" {
		name = `<a href="#` + esc(t.Anchor) + `">` + name + `</a>`
	}
	return template.HTML(`<span class="apidocs-type">` + esc(t.Prefix) + name + esc(t.Suffix) + `</span>`)
}
