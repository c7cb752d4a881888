package greenroom

import (
	"fmt"
	"strings"
)

// DefaultNamespace is the namespace of entities that name none.
const DefaultNamespace = "default"

// EntityRef identifies a catalog entity as kind:namespace/name.
type EntityRef struct {
	Kind      string
	Namespace string
	Name      string
}

// ParseEntityRef parses "kind:namespace/name", "kind:name", "namespace/name"
// or "name"; missing parts are taken from defaultKind and defaultNamespace,
// as Backstage's parseEntityRef does.
func ParseEntityRef(s, defaultKind, defaultNamespace string) (EntityRef, error) {
	var r EntityRef
	rest := strings.TrimSpace(s)
	if rest == "" {
		return r, Errorf(CodeInvalid, "entity reference is empty")
	}
	if i := strings.Index(rest, ":"); i >= 0 {
		r.Kind, rest = rest[:i], rest[i+1:]
		if r.Kind == "" {
			return r, Errorf(CodeInvalid, "entity reference %q has an empty kind", s)
		}
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		r.Namespace, rest = rest[:i], rest[i+1:]
		if r.Namespace == "" {
			return r, Errorf(CodeInvalid, "entity reference %q has an empty namespace", s)
		}
	}
	r.Name = rest
	if r.Name == "" || strings.ContainsAny(r.Name, ":/") {
		return r, Errorf(CodeInvalid, "entity reference %q has an invalid name", s)
	}
	if r.Kind == "" {
		r.Kind = defaultKind
	}
	if r.Namespace == "" {
		r.Namespace = defaultNamespace
	}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if r.Kind == "" {
		return r, Errorf(CodeInvalid, "entity reference %q has no kind and none is implied", s)
	}
	return r, nil
}

// String returns the canonical form kind:namespace/name, lowercased as
// Backstage's stringifyEntityRef does for comparison keys.
func (r EntityRef) String() string {
	return strings.ToLower(fmt.Sprintf("%s:%s/%s", r.Kind, r.Namespace, r.Name))
}
