package entity

import (
	"bytes"
	"encoding/json"

	"greenroom/internal/greenroom"
)

// Entity is one catalog entity. It keeps the decoded JSON object as it came,
// so that marshalling it again loses no field this package does not know,
// and reads the fields it does know on demand.
//
// Numbers are kept as json.Number, which preserves their text exactly. An
// Entity is not safe for concurrent mutation; concurrent reads are fine.
type Entity struct {
	raw map[string]any
}

// Parse decodes one entity from JSON. The document must be a JSON object;
// whether it is a valid entity is Validate's question, not Parse's.
func Parse(data []byte) (*Entity, error) {
	var e Entity
	if err := e.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return &e, nil
}

// New wraps an already decoded JSON object, such as one from
// encoding/json, without copying it: the Entity owns raw from then on.
// Values must be JSON values (maps with string keys, []any, strings,
// numbers, booleans, nil); a nil map is treated as empty.
func New(raw map[string]any) *Entity {
	if raw == nil {
		raw = map[string]any{}
	}
	return &Entity{raw: raw}
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *Entity) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "entity is not valid JSON: %w", err)
	}
	if dec.More() {
		return greenroom.Errorf(greenroom.CodeInvalid, "entity JSON has data after the object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return greenroom.Errorf(greenroom.CodeInvalid, "entity must be a JSON object, got %s", jsonType(v))
	}
	e.raw = m
	return nil
}

// MarshalJSON implements json.Marshaler. Keys come out sorted, so equal
// entities marshal to equal bytes.
func (e *Entity) MarshalJSON() ([]byte, error) {
	return CanonicalJSON(e)
}

// Raw returns the entity's underlying JSON object. It is the entity's own
// map, not a copy: callers that change it change the entity.
func (e *Entity) Raw() map[string]any {
	e.init()
	return e.raw
}

// Clone returns a deep copy of the entity.
func (e *Entity) Clone() *Entity {
	return &Entity{raw: deepCopy(e.raw).(map[string]any)}
}

// APIVersion returns apiVersion, or "" when it is missing or not a string.
func (e *Entity) APIVersion() string { return str(e.raw["apiVersion"]) }

// Kind returns kind as written (Backstage compares kinds case-sensitively),
// or "" when it is missing or not a string.
func (e *Entity) Kind() string { return str(e.raw["kind"]) }

// Name returns metadata.name, or "".
func (e *Entity) Name() string { return str(e.meta()["name"]) }

// Namespace returns metadata.namespace, defaulting to "default" as
// Backstage's DefaultNamespaceEntityPolicy does.
func (e *Entity) Namespace() string {
	if ns := str(e.meta()["namespace"]); ns != "" {
		return ns
	}
	return greenroom.DefaultNamespace
}

// Ref returns the entity's own reference: kind, namespace (defaulted) and
// name as written. Its String form is the lowercased canonical ref.
func (e *Entity) Ref() greenroom.EntityRef {
	return greenroom.EntityRef{Kind: e.Kind(), Namespace: e.Namespace(), Name: e.Name()}
}

// Metadata is the typed view of metadata's well-known fields. Fields of the
// wrong type read as empty; Validate reports them.
type Metadata struct {
	Name        string
	Namespace   string // as written; "" when unset (Entity.Namespace defaults it)
	Title       string
	Description string
	Labels      map[string]string
	Annotations map[string]string
	Tags        []string
	Links       []Link
	UID         string
	Etag        string
}

// Link is one entry of metadata.links.
type Link struct {
	URL   string
	Title string
	Icon  string
	Type  string
}

// Metadata returns a fresh typed copy of metadata's well-known fields.
func (e *Entity) Metadata() Metadata {
	m := e.meta()
	md := Metadata{
		Name:        str(m["name"]),
		Namespace:   str(m["namespace"]),
		Title:       str(m["title"]),
		Description: str(m["description"]),
		Labels:      strMap(m["labels"]),
		Annotations: strMap(m["annotations"]),
		UID:         str(m["uid"]),
		Etag:        str(m["etag"]),
	}
	if tags, ok := m["tags"].([]any); ok {
		for _, t := range tags {
			if s, ok := t.(string); ok {
				md.Tags = append(md.Tags, s)
			}
		}
	}
	if links, ok := m["links"].([]any); ok {
		for _, l := range links {
			if lm, ok := l.(map[string]any); ok {
				md.Links = append(md.Links, Link{
					URL: str(lm["url"]), Title: str(lm["title"]),
					Icon: str(lm["icon"]), Type: str(lm["type"]),
				})
			}
		}
	}
	return md
}

// Annotation returns one annotation's value, or "" when it is absent.
func (e *Entity) Annotation(key string) string {
	a, _ := e.meta()["annotations"].(map[string]any)
	return str(a[key])
}

// Spec returns the spec object, or nil when there is none. It is the
// entity's own map, not a copy.
func (e *Entity) Spec() map[string]any {
	s, _ := e.raw["spec"].(map[string]any)
	return s
}

// Status returns the status object, or nil when there is none. It is the
// entity's own map, not a copy.
func (e *Entity) Status() map[string]any {
	s, _ := e.raw["status"].(map[string]any)
	return s
}

// Relations returns the relations attached to the entity (the stitched
// relations array), each with Source set to the entity's own ref. Entries
// whose target cannot be read are left out.
func (e *Entity) Relations() []Relation {
	items, _ := e.raw["relations"].([]any)
	self := e.Ref()
	var out []Relation
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		r, ok := relationFromMap(m)
		if !ok {
			continue
		}
		r.Source = self
		out = append(out, r)
	}
	return out
}

// SetRelations replaces the entity's relations array with rels in their
// stitched form ({type, targetRef}); nil removes it.
func (e *Entity) SetRelations(rels []Relation) {
	if rels == nil {
		delete(e.raw, "relations")
		return
	}
	items := make([]any, len(rels))
	for i, r := range rels {
		items[i] = map[string]any{"type": r.Type, "targetRef": r.Target.String()}
	}
	e.init()
	e.raw["relations"] = items
}

// SetMetadata sets one metadata field, such as "uid" or "etag", creating
// metadata when it is missing or not an object.
func (e *Entity) SetMetadata(key string, value any) {
	e.init()
	m, ok := e.raw["metadata"].(map[string]any)
	if !ok {
		m = map[string]any{}
		e.raw["metadata"] = m
	}
	m[key] = value
}

// init makes the zero Entity usable for writes.
func (e *Entity) init() {
	if e.raw == nil {
		e.raw = map[string]any{}
	}
}

func (e *Entity) meta() map[string]any {
	m, _ := e.raw["metadata"].(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, c := range t {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, c := range t {
			s[i] = deepCopy(c)
		}
		return s
	default:
		return v
	}
}

// jsonType names the JSON type of a decoded value, for messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, float32, int, int64, int32, uint64, uint32, uint:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "unsupported value"
	}
}
