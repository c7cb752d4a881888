package query

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Fields selects the parts of each entity a response keeps, Backstage's
// fields parameter: simplified dot paths such as "kind", "metadata.name" or
// "metadata.annotations.backstage.io/techdocs-ref". A nil Fields keeps the
// whole entity.
type Fields []string

// ParseFields reads the fields parameters (repeated, comma-separated or
// both) of a catalog request. It returns nil when none selects anything, and
// a greenroom.CodeInvalid error for array paths such as metadata.tags[0].
func ParseFields(v url.Values) (Fields, error) {
	return NewFields(v["fields"])
}

// NewFields builds a projection from field lists as the body of
// POST /entities/by-refs carries them; each may be comma-separated.
// Duplicates are dropped and blanks ignored.
func NewFields(lists []string) (Fields, error) {
	var out Fields
	seen := map[string]bool{}
	for _, list := range lists {
		for _, f := range strings.Split(list, ",") {
			f = jsTrim(f)
			if f == "" || seen[f] {
				continue
			}
			if strings.Contains(f, "[") {
				return nil, invalid("Invalid field \"%s\", array type fields are not supported", f)
			}
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// Apply returns the projection of entity (decoded JSON). Each field is
// followed part by part; a part that is not a key at its level is joined to
// the next with its dot, so that annotation keys with dots resolve:
// metadata.annotations.backstage.io/techdocs-ref finds the annotation
// "backstage.io/techdocs-ref". A field that resolves to nothing is left
// out; one that resolves to null is kept as null. Array items are reached by
// index (metadata.tags.0). With no fields it returns entity itself.
//
// Apply may share subtrees of entity with the result; it does not modify
// entity's values.
func (f Fields) Apply(entity map[string]any) map[string]any {
	if len(f) == 0 {
		return entity
	}
	out := map[string]any{}
	for _, field := range f {
		path, value, ok := resolve(entity, field)
		if ok && len(path) > 0 {
			setPath(out, path, value)
		}
	}
	return out
}

// ApplyJSON projects an entity body.
func (f Fields) ApplyJSON(body []byte) ([]byte, error) {
	if len(f) == 0 {
		return body, nil
	}
	var entity map[string]any
	if err := json.Unmarshal(body, &entity); err != nil {
		return nil, fmt.Errorf("query: fields: entity body: %w", err)
	}
	b, err := json.Marshal(f.Apply(entity))
	if err != nil {
		return nil, fmt.Errorf("query: fields: %w", err)
	}
	return b, nil
}

// resolve follows field through v as Backstage's getPathArrayAndValue.
func resolve(v any, field string) ([]string, any, bool) {
	parts := strings.Split(field, ".")
	var path []string
	for i := 0; i < len(parts); i++ {
		if child, ok := childOf(v, parts[i]); ok {
			path = append(path, parts[i])
			v = child
			continue
		}
		if i+1 < len(parts) {
			parts[i+1] = parts[i] + "." + parts[i+1]
			continue
		}
		return nil, nil, false
	}
	return path, v, true
}

// childOf returns the member key of an object or the item at index key of
// an array.
func childOf(v any, key string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[key]
		return c, ok
	case []any:
		if i, ok := arrayIndex(key); ok && i < int64(len(x)) {
			return x[i], true
		}
	}
	return nil, false
}

// setPath sets path in out to value as lodash.set does: missing or scalar
// steps become objects, or arrays when the next step is an index.
func setPath(out map[string]any, path []string, value any) {
	setIn(out, path, value)
}

// setIn sets path under container c and returns c, or the grown copy of c
// when c is an array too short for the index.
func setIn(c any, path []string, value any) any {
	child := value
	if len(path) > 1 {
		child = existingContainer(c, path[0])
		if child == nil {
			if _, isIndex := arrayIndex(path[1]); isIndex {
				child = []any{}
			} else {
				child = map[string]any{}
			}
		}
		child = setIn(child, path[1:], value)
	}
	switch x := c.(type) {
	case map[string]any:
		x[path[0]] = child
	case []any:
		i, _ := arrayIndex(path[0])
		if i >= int64(len(x)) {
			grown := make([]any, i+1)
			copy(grown, x)
			x = grown
		}
		x[i] = child
		return x
	}
	return c
}

// existingContainer returns the object or array at key of c, or nil.
func existingContainer(c any, key string) any {
	child, ok := childOf(c, key)
	if !ok {
		return nil
	}
	switch child.(type) {
	case map[string]any, []any:
		return child
	}
	return nil
}
