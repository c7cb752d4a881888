package search

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Document types, as Backstage names its indexes, so that Backstage search
// clients filtering by types[] keep working.
const (
	TypeCatalog  = "software-catalog"
	TypeTechDocs = "techdocs"
	// TypeTemplate are scaffolder templates (catalog entities of kind
	// Template), found by their parameters too and opening the create
	// form.
	TypeTemplate = "template"
)

// Categories group results for the page's docs / catalog / people filter.
const (
	CategoryCatalog   = "catalog"
	CategoryAPIs      = "apis"
	CategoryPeople    = "people"
	CategoryDocs      = "docs"
	CategoryTemplates = "templates"
)

// Bounds on what one document may carry into the index. Larger text is cut
// (at a rune boundary) and the document marked Truncated, so one huge
// README cannot blow up the index or a rebuild.
const (
	MaxTextBytes     = 256 << 10
	MaxFieldBytes    = 4 << 10
	MaxTags          = 64
	MaxKeywords      = 2000
	MaxSections      = 500
	MaxDocumentID    = 1024
	maxKeywordsBytes = 64 << 10
)

// Document is one searchable thing.
type Document struct {
	// Type is the index the document belongs to (TypeCatalog,
	// TypeTechDocs, or a later source's own); ID is unique within Type.
	Type string `json:"type"`
	ID   string `json:"id"`
	// Title is what a result shows first; Name the short identifier (an
	// entity's metadata.name), matched with the highest boost.
	Title string `json:"title"`
	Name  string `json:"name,omitempty"`
	// Text is the body: description, readable annotations, page content.
	Text        string `json:"text"`
	Description string `json:"description,omitempty"`
	// Location is where a click on the result goes (a portal path).
	Location string   `json:"location"`
	Tags     []string `json:"tags,omitempty"`
	// Keywords are further exact terms: API operation ids, paths and
	// schema names, member names, e-mail addresses.
	Keywords []string `json:"keywords,omitempty"`
	// Facets and filters.
	Kind      string `json:"kind,omitempty"`
	SpecType  string `json:"specType,omitempty"`
	Lifecycle string `json:"lifecycle,omitempty"`
	Owner     string `json:"owner,omitempty"`
	System    string `json:"system,omitempty"`
	Category  string `json:"category,omitempty"`
	// Permission attributes: the namespace and the entity ref whose read
	// permission governs the document (a doc page carries its entity's).
	Namespace string `json:"namespace,omitempty"`
	Ref       string `json:"ref,omitempty"`
	// UpdatedAt is the last change, for the recency signal; zero when
	// unknown.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Sections split a page: the result is the page, the deep link the
	// section the match falls in.
	Sections []Section `json:"sections,omitempty"`
	// Fields are extra fields returned with the document (Backstage's
	// componentType, namespace…).
	Fields map[string]string `json:"fields,omitempty"`
	// Truncated notes that Text was cut to MaxTextBytes for indexing.
	Truncated bool `json:"truncated,omitempty"`
}

// Section is one headed part of a page.
type Section struct {
	Anchor  string `json:"anchor"`
	Heading string `json:"heading"`
	Text    string `json:"text"`
}

// Key is the document's id in the engine: type and id.
func (d Document) Key() string { return d.Type + "|" + d.ID }

// normalise bounds the document and fills derived values: Text from the
// sections when empty, lowercased facets. It reports whether Text was cut.
func (d Document) normalise() Document {
	if len(d.Sections) > MaxSections {
		d.Sections = d.Sections[:MaxSections]
		d.Truncated = true
	}
	if d.Text == "" && len(d.Sections) > 0 {
		var b strings.Builder
		for _, s := range d.Sections {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(s.Heading)
			b.WriteString("\n")
			b.WriteString(s.Text)
			if b.Len() > MaxTextBytes {
				break
			}
		}
		d.Text = b.String()
	}
	if len(d.Text) > MaxTextBytes {
		d.Text = cut(d.Text, MaxTextBytes)
		d.Truncated = true
	}
	// The highlight tags must not occur in what is indexed.
	d.Title, d.Text, d.Description = noTags.Replace(d.Title), noTags.Replace(d.Text), noTags.Replace(d.Description)
	for i := range d.Sections {
		d.Sections[i].Heading, d.Sections[i].Text = noTags.Replace(d.Sections[i].Heading), noTags.Replace(d.Sections[i].Text)
	}
	d.Title = cut(d.Title, MaxFieldBytes)
	d.Name = cut(d.Name, MaxFieldBytes)
	d.Description = cut(d.Description, 4*MaxFieldBytes)
	if len(d.Tags) > MaxTags {
		d.Tags = d.Tags[:MaxTags]
	}
	n := 0
	for i, k := range d.Keywords {
		n += len(k)
		if i >= MaxKeywords || n > maxKeywordsBytes {
			d.Keywords = d.Keywords[:i]
			d.Truncated = true
			break
		}
	}
	// Sections beyond the text kept are not matched; their text is kept
	// only to locate the deep link, so bound it too.
	total := 0
	for i := range d.Sections {
		total += len(d.Sections[i].Text)
		if total > MaxTextBytes {
			d.Sections = d.Sections[:i]
			break
		}
	}
	d.Kind = strings.ToLower(d.Kind)
	d.SpecType = strings.ToLower(d.SpecType)
	d.Lifecycle = strings.ToLower(d.Lifecycle)
	d.Owner = strings.ToLower(d.Owner)
	d.System = strings.ToLower(d.System)
	d.Namespace = strings.ToLower(d.Namespace)
	d.Ref = strings.ToLower(d.Ref)
	if d.Namespace == "" {
		d.Namespace = "default"
	}
	return d
}

var noTags = strings.NewReplacer(PreTag, " ", PostTag, " ")

// cut returns s cut to at most n bytes at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
