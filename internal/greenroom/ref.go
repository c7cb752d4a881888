package greenroom

import (
	"encoding/json"
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

// ParseEntityRef parses an entity reference string exactly as Backstage's
// parseEntityRef (@backstage/catalog-model) does: the form is
// [<kind>:][<namespace>/]<name>; a missing kind is taken from defaultKind
// and a missing namespace from defaultNamespace, itself defaulting to
// "default". Spaces are not trimmed, a "/" before the first ":" makes the
// rest the name ("ns/a:b" is namespace ns, name "a:b"), and the name is
// everything after the first separators, so it may hold ":" and "/"
// ("a:b/c/d" is name "c/d"). The name is not checked against the entity
// name format: a reference may name an entity that cannot exist. Parts
// keep their case; String lowercases for comparison. Errors have code
// CodeInvalid and Backstage's messages.
func ParseEntityRef(s, defaultKind, defaultNamespace string) (EntityRef, error) {
	if s == "" {
		return EntityRef{}, Errorf(CodeInvalid, "entity reference must not be empty")
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if slash != -1 && slash < colon {
		colon = -1 // the colon belongs to the name
	}
	var r EntityRef
	hasKind, hasNS := colon != -1, slash != -1
	if hasKind {
		r.Kind = s[:colon]
	}
	if hasNS {
		r.Namespace = s[colon+1 : slash]
	}
	r.Name = s[max(colon+1, slash+1):]
	if (hasKind && r.Kind == "") || (hasNS && r.Namespace == "") || r.Name == "" {
		return EntityRef{}, Errorf(CodeInvalid, "entity reference %s was not on the form [<kind>:][<namespace>/]<name>", QuoteRef(s))
	}
	if !hasKind {
		r.Kind = defaultKind
	}
	if !hasNS {
		r.Namespace = defaultNamespace
		if r.Namespace == "" {
			r.Namespace = DefaultNamespace
		}
	}
	return CheckEntityRef(r, QuoteRef(s))
}

// CheckEntityRef applies parseEntityRef's final checks, in its order, to a
// reference with defaults applied; textual is how messages show the input.
func CheckEntityRef(r EntityRef, textual string) (EntityRef, error) {
	switch {
	case r.Kind == "":
		return EntityRef{}, Errorf(CodeInvalid, "entity reference %s had missing or empty kind (e.g. did not start with \"component:\" or similar)", textual)
	case r.Namespace == "":
		return EntityRef{}, Errorf(CodeInvalid, "entity reference %s had missing or empty namespace", textual)
	case r.Name == "":
		return EntityRef{}, Errorf(CodeInvalid, "entity reference %s had missing or empty name", textual)
	}
	return r, nil
}

// QuoteRef renders s as JSON.stringify would, bounded in length for
// messages.
func QuoteRef(s string) string {
	b, _ := json.Marshal(TruncateQuoted(s))
	return string(b)
}

// TruncateQuoted bounds a value quoted in a message, so that a problem
// about a huge field stays readable; it never splits a UTF-8 sequence.
func TruncateQuoted(s string) string {
	const maxQuoted = 120
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// String returns the canonical form kind:namespace/name, lowercased as
// Backstage's stringifyEntityRef does for comparison keys.
func (r EntityRef) String() string {
	return strings.ToLower(fmt.Sprintf("%s:%s/%s", r.Kind, r.Namespace, r.Name))
}
