package apidocs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Bounds on schema trees.
const (
	// maxSchemaDepth bounds the nesting of one schema tree.
	maxSchemaDepth = 16
	// maxSchemaNodes bounds the schema nodes of one document, so that
	// schemas referring to each other cannot multiply without end.
	maxSchemaNodes = 50_000
	// maxEnum bounds the enum values listed.
	maxEnum = 100
	// maxText bounds a description, title or example, in bytes.
	maxText = 64 << 10
)

// reader turns the values of one document into the view model, collecting
// notes on what it could not follow.
type reader struct {
	res     resolver
	ids     *anchors
	budget  int
	notes   []string
	noted   map[string]bool
	schemas map[string]string // $ref of each reusable schema → its name
}

func newReader(root *node, ids *anchors) *reader {
	return &reader{res: resolver{root: root}, ids: ids, budget: maxSchemaNodes, noted: map[string]bool{}, schemas: map[string]string{}}
}

// note records a located problem once.
func (r *reader) note(n *node, format string, args ...any) {
	msg := errorAt(n, format, args...).Error()
	if !r.noted[msg] && len(r.notes) < 100 {
		r.noted[msg] = true
		r.notes = append(r.notes, msg)
	}
}

// deref follows n's $ref, noting where it leads nowhere. The returned
// node is n itself when the $ref cannot be followed.
func (r *reader) deref(n *node) (*node, ref, bool) {
	t, rf, ok := r.res.deref(n)
	if !ok {
		switch {
		case rf.external:
			r.note(n, "$ref %q is in another document, which this viewer does not follow", rf.text)
		case rf.loop:
			r.note(n, "$ref %q leads round in a loop of $refs", rf.text)
		default:
			r.note(n, "$ref %q names nothing in this document", rf.text)
		}
	}
	return t, rf, ok
}

// text bounds a description or title.
func text(n *node) string {
	s := n.str()
	if len(s) > maxText {
		cut := maxText
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// schema reads a schema. expand is how many levels of $refs to reusable
// schemas may still be expanded in place; stack holds the $refs being
// expanded around this one, so that a schema that contains itself is
// shown once and then linked.
func (r *reader) schema(n *node, depth, expand int, stack []string) *Schema {
	if n == nil {
		return nil
	}
	if !n.isMap() {
		if n.kind == kBool { // JSON Schema's true and false
			if n.bool() {
				return &Schema{Type: "any value"}
			}
			return &Schema{Type: "no value allowed"}
		}
		r.note(n, "a schema must be an object, got %s", kindName(n))
		return &Schema{Type: "invalid schema"}
	}
	r.budget--
	if s := n.get("$ref"); s != nil {
		t, rf, ok := r.deref(n)
		if !ok {
			return &Schema{Type: "unresolved reference", Unresolved: rf.text, Description: text(n.get("description"))}
		}
		name, anchor := r.named(rf.text)
		label := name
		if label == "" {
			label = rf.text
		}
		switch {
		case slices.Contains(stack, rf.text):
			return &Schema{Type: label, RefName: name, RefAnchor: anchor, Recursive: true}
		case expand <= 0 || depth >= maxSchemaDepth || r.budget <= 0:
			out := &Schema{Type: label, RefName: name, RefAnchor: anchor, Collapsed: true, Description: text(t.get("description"))}
			if anchor == "" { // nothing to link to: show it here after all
				if depth < maxSchemaDepth && r.budget > 0 {
					out = r.schema(t, depth, 0, append(stack, rf.text))
					out.RefName = name
				}
			}
			return out
		}
		out := r.schema(t, depth, expand-1, append(stack, rf.text))
		out.RefName, out.RefAnchor = name, anchor
		if d := text(n.get("description")); d != "" { // 3.1 allows siblings of $ref
			out.Description = d
		}
		return out
	}

	s := &Schema{
		Title:       text(n.get("title")),
		Description: text(n.get("description")),
		ReadOnly:    n.get("readOnly").bool(),
		WriteOnly:   n.get("writeOnly").bool(),
		Deprecated:  n.get("deprecated").bool(),
		Nullable:    n.get("nullable").bool() || n.get("x-nullable").bool(),
	}
	var types []string
	switch t := n.get("type"); {
	case t == nil:
	case t.kind == kSeq:
		for _, it := range t.items {
			types = append(types, it.str())
		}
	default:
		types = []string{t.str()}
	}
	props, items := n.get("properties"), n.get("items")
	if len(types) == 0 {
		switch {
		case props.isMap() || n.get("additionalProperties").isMap():
			types = []string{"object"}
		case items != nil:
			types = []string{"array"}
		}
	}
	if f := n.get("format").str(); f != "" && len(types) > 0 {
		types[0] += " (" + f + ")"
	} else if f != "" {
		types = []string{f}
	}
	if s.Nullable && !slices.Contains(types, "null") {
		types = append(types, "null")
	}
	s.Type = strings.Join(types, " | ")

	if e := n.get("enum"); e != nil && e.kind == kSeq {
		for i, v := range e.items {
			if i == maxEnum {
				s.Enum = append(s.Enum, fmt.Sprintf("… and %d more", len(e.items)-maxEnum))
				break
			}
			s.Enum = append(s.Enum, bounded(v.scalarText()))
		}
	}
	if v := n.get("default"); v != nil {
		s.Default = bounded(v.scalarText())
	}
	if v := n.get("const"); v != nil {
		s.Const = bounded(v.scalarText())
	}
	if v := n.get("example"); v != nil {
		s.Example = bounded(v.scalarText())
	} else if v := n.get("examples"); v != nil && v.kind == kSeq && len(v.items) > 0 {
		s.Example = bounded(v.items[0].scalarText())
	}
	s.Constraints = constraints(n)

	if depth >= maxSchemaDepth || r.budget <= 0 {
		if props.isMap() || items != nil || n.get("allOf") != nil || n.get("oneOf") != nil || n.get("anyOf") != nil {
			s.Collapsed = true
		}
		return s
	}
	if props.isMap() {
		required := map[string]bool{}
		if req := n.get("required"); req != nil && req.kind == kSeq {
			for _, it := range req.items {
				required[it.str()] = true
			}
		}
		for i, k := range props.keys {
			p := r.schema(props.vals[i], depth+1, expand, stack)
			p.Name, p.Required = k, required[k]
			s.Properties = append(s.Properties, p)
		}
	}
	if items != nil {
		if items.kind == kSeq { // tuple form of older drafts
			for _, it := range items.items {
				s.Variants = append(s.Variants, r.schema(it, depth+1, expand, stack))
			}
			s.VariantKind = "items in order"
		} else {
			s.Items = r.schema(items, depth+1, expand, stack)
			if s.Type == "array" || s.Type == "" {
				s.Type = "array of " + itemLabel(s.Items)
			}
		}
	}
	if ap := n.get("additionalProperties"); ap.isMap() {
		s.Additional = r.schema(ap, depth+1, expand, stack)
	}
	for _, kw := range []struct{ key, label string }{{"allOf", "all of"}, {"oneOf", "one of"}, {"anyOf", "any of"}} {
		v := n.get(kw.key)
		if v == nil || v.kind != kSeq || s.VariantKind != "" {
			continue
		}
		var parts []*Schema
		for _, it := range v.items {
			if kw.key == "allOf" {
				parts = append(parts, r.allOfPart(it, depth+1, expand, stack))
				continue
			}
			parts = append(parts, r.schema(it, depth+1, expand, stack))
		}
		if kw.key == "allOf" && mergeable(parts) {
			r.merge(s, parts)
			continue
		}
		s.VariantKind, s.Variants = kw.label, parts
		if s.Type == "" {
			s.Type = kw.label
		}
	}
	if v := n.get("not"); v.isMap() && s.VariantKind == "" {
		s.VariantKind, s.Variants = "not", []*Schema{r.schema(v, depth+1, expand, stack)}
	}
	if d := n.get("discriminator"); d.isMap() {
		if p := d.get("propertyName").str(); p != "" {
			s.Constraints = append(s.Constraints, "told apart by "+p)
		}
	}
	if s.Type == "" {
		s.Type = "any value"
		if s.Const != "" {
			s.Type = "constant"
		} else if len(s.Enum) > 0 {
			s.Type = "enumeration"
		}
	}
	return s
}

// allOfPart reads one part of an allOf. A $ref there names a schema this
// one extends, so it is expanded without using up expand: its properties
// become this schema's.
func (r *reader) allOfPart(n *node, depth, expand int, stack []string) *Schema {
	s := n.get("$ref")
	if s == nil || s.kind != kString {
		return r.schema(n, depth, expand, stack)
	}
	t, rf, ok := r.res.deref(n)
	if !ok || slices.Contains(stack, rf.text) {
		return r.schema(n, depth, expand, stack) // notes or links it
	}
	out := r.schema(t, depth, expand, append(stack, rf.text))
	out.RefName, out.RefAnchor = r.named(rf.text)
	return out
}

// mergeable reports whether the parts of an allOf are all plain objects,
// which read best as one object.
func mergeable(parts []*Schema) bool {
	for _, p := range parts {
		if p.Recursive || p.Collapsed || p.Unresolved != "" || p.VariantKind != "" || p.Items != nil {
			return false
		}
		if p.Type != "object" && p.Type != "any value" {
			return false
		}
	}
	return len(parts) > 0
}

// merge folds the parts of an allOf into s.
func (r *reader) merge(s *Schema, parts []*Schema) {
	var from []string
	for _, p := range parts {
		if p.RefName != "" {
			from = append(from, p.RefName)
		}
		for _, q := range p.Properties {
			if i := slices.IndexFunc(s.Properties, func(x *Schema) bool { return x.Name == q.Name }); i >= 0 {
				s.Properties[i] = q
				continue
			}
			s.Properties = append(s.Properties, q)
		}
		if s.Description == "" {
			s.Description = p.Description
		}
	}
	s.Type = "object"
	if len(from) > 0 {
		s.Constraints = append(s.Constraints, "includes the properties of "+strings.Join(from, ", "))
	}
}

func itemLabel(s *Schema) string {
	switch {
	case s == nil:
		return "any value"
	case s.RefName != "":
		return s.RefName
	case s.Type != "":
		return s.Type
	}
	return "any value"
}

// constraints lists a schema's validation keywords in words.
func constraints(n *node) []string {
	var out []string
	value := func(key string) (string, bool) {
		v := n.get(key)
		if v == nil || (v.kind != kNumber && v.kind != kString) {
			return "", false
		}
		return bounded(v.str()), true
	}
	add := func(key, words string) {
		if v, ok := value(key); ok {
			out = append(out, words+" "+v)
		}
	}
	count := func(key, words, one, many string) {
		if v, ok := value(key); ok {
			noun := many
			if v == "1" {
				noun = one
			}
			out = append(out, words+" "+v+" "+noun)
		}
	}
	exMin, exMax := n.get("exclusiveMinimum"), n.get("exclusiveMaximum")
	if exMin.bool() { // OpenAPI 3.0: a flag on minimum
		add("minimum", "greater than")
	} else {
		add("minimum", "at least")
	}
	if exMax.bool() {
		add("maximum", "less than")
	} else {
		add("maximum", "at most")
	}
	if exMin != nil && exMin.kind == kNumber { // 3.1: the bound itself
		add("exclusiveMinimum", "greater than")
	}
	if exMax != nil && exMax.kind == kNumber {
		add("exclusiveMaximum", "less than")
	}
	add("multipleOf", "a multiple of")
	count("minLength", "at least", "character", "characters")
	count("maxLength", "at most", "character", "characters")
	add("pattern", "matches")
	count("minItems", "at least", "item", "items")
	count("maxItems", "at most", "item", "items")
	if n.get("uniqueItems").bool() {
		out = append(out, "items are unique")
	}
	count("minProperties", "at least", "property", "properties")
	count("maxProperties", "at most", "property", "properties")
	return out
}

// bounded keeps example and enum texts to a readable size.
func bounded(s string) string {
	const max = 2000
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func kindName(n *node) string {
	switch n.kind {
	case kNull:
		return "null"
	case kBool:
		return "a boolean"
	case kNumber:
		return "a number"
	case kString:
		return "a string"
	case kSeq:
		return "a list"
	}
	return "a mapping"
}

// named returns the name and anchor of the reusable schema a $ref names,
// or "" when it names something else.
func (r *reader) named(refText string) (string, string) {
	name, ok := r.schemas[refText]
	if !ok {
		return "", ""
	}
	return name, r.ids.get("schema", name)
}

// collectSchemas registers the reusable schemas under the mapping at path
// ("components", "schemas") so that $refs to them link to their section,
// and reads them.
func (r *reader) collectSchemas(m *node, prefix string) []NamedSchema {
	if !m.isMap() {
		return nil
	}
	for _, k := range m.keys {
		r.schemas[prefix+escapePointer(k)] = k
	}
	var out []NamedSchema
	for i, k := range m.keys {
		self := prefix + escapePointer(k)
		s := r.schema(m.vals[i], 0, 0, []string{self})
		out = append(out, NamedSchema{Name: k, Anchor: r.ids.get("schema", k), Schema: s})
	}
	return out
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// anchors hands out the ids of a document's sections, unique on the page
// for a given prefix: the same kind and name always get the same id.
type anchors struct {
	prefix string
	ids    map[string]string
	used   map[string]bool
}

func newAnchors(prefix string) *anchors {
	return &anchors{prefix: prefix, ids: map[string]string{}, used: map[string]bool{}}
}

func (a *anchors) get(kind, name string) string {
	k := kind + "\x00" + name
	if id, ok := a.ids[k]; ok {
		return id
	}
	var b strings.Builder
	b.WriteString(a.prefix + "-" + kind + "-")
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
		if b.Len() > 96 {
			break
		}
	}
	id := b.String()
	for n := 2; a.used[id]; n++ {
		id = b.String() + "-" + strconv.Itoa(n)
	}
	a.used[id] = true
	a.ids[k] = id
	return id
}
