package entity

import (
	"encoding/json"
	"fmt"
	"strings"

	"greenroom/internal/greenroom"
)

// ParseRefInContext parses an entity reference string exactly as Backstage's
// parseEntityRef does: the form is [<kind>:][<namespace>/]<name>, a missing
// kind is taken from defaultKind and a missing namespace from
// defaultNamespace (itself defaulting to "default").
//
// Like Backstage, and unlike greenroom.ParseEntityRef, it does not trim
// spaces, and a "/" before the first ":" makes the rest the name, so
// "ns/a:b" is namespace ns, name "a:b". The name is not checked against the
// entity name format: a reference may name an entity that cannot exist.
// Parts keep their case; EntityRef.String lowercases for comparison.
func ParseRefInContext(s, defaultKind, defaultNamespace string) (greenroom.EntityRef, error) {
	if s == "" {
		return greenroom.EntityRef{}, refError("entity reference must not be empty")
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if slash != -1 && slash < colon {
		colon = -1 // the colon belongs to the name
	}
	var r greenroom.EntityRef
	hasKind, hasNS := colon != -1, slash != -1
	if hasKind {
		r.Kind = s[:colon]
	}
	if hasNS {
		r.Namespace = s[colon+1 : slash]
	}
	r.Name = s[max(colon+1, slash+1):]
	if (hasKind && r.Kind == "") || (hasNS && r.Namespace == "") || r.Name == "" {
		return greenroom.EntityRef{}, refError("entity reference %s was not on the form [<kind>:][<namespace>/]<name>", quote(s))
	}
	if !hasKind {
		r.Kind = defaultKind
	}
	if !hasNS {
		r.Namespace = defaultNamespaceOr(defaultNamespace)
	}
	return checkRef(r, quote(s))
}

// ParseRefValue parses a reference given either as a string (see
// ParseRefInContext) or in compound form, an object with "name" and
// optional "kind" and "namespace", as Backstage's parseEntityRef accepts
// both. Missing compound parts take the same defaults; present ones must be
// non-empty strings.
func ParseRefValue(v any, defaultKind, defaultNamespace string) (greenroom.EntityRef, error) {
	switch t := v.(type) {
	case string:
		return ParseRefInContext(t, defaultKind, defaultNamespace)
	case map[string]any:
		if len(t) == 0 {
			return greenroom.EntityRef{}, refError("entity reference must not be empty")
		}
		r := greenroom.EntityRef{Kind: defaultKind, Namespace: defaultNamespaceOr(defaultNamespace)}
		parts := [...]struct {
			key string
			dst *string
		}{{"kind", &r.Kind}, {"namespace", &r.Namespace}, {"name", &r.Name}}
		for _, p := range parts {
			key, dst := p.key, p.dst
			raw, present := t[key]
			if !present || raw == nil {
				continue
			}
			s, ok := raw.(string)
			if !ok {
				return greenroom.EntityRef{}, refError("entity reference %s has a %s that is not a string", compact(t), key)
			}
			*dst = s
		}
		return checkRef(r, compact(t))
	case nil:
		return greenroom.EntityRef{}, refError("entity reference must not be empty")
	default:
		return greenroom.EntityRef{}, refError("entity reference must be a string or an object with kind, namespace and name, got %s", jsonType(v))
	}
}

// checkRef applies parseEntityRef's final checks, in its order.
func checkRef(r greenroom.EntityRef, textual string) (greenroom.EntityRef, error) {
	switch {
	case r.Kind == "":
		return greenroom.EntityRef{}, refError("entity reference %s had missing or empty kind (e.g. did not start with \"component:\" or similar)", textual)
	case r.Namespace == "":
		return greenroom.EntityRef{}, refError("entity reference %s had missing or empty namespace", textual)
	case r.Name == "":
		return greenroom.EntityRef{}, refError("entity reference %s had missing or empty name", textual)
	}
	return r, nil
}

func defaultNamespaceOr(ns string) string {
	if ns == "" {
		return greenroom.DefaultNamespace
	}
	return ns
}

func refError(format string, args ...any) error {
	return greenroom.Errorf(greenroom.CodeInvalid, format, args...)
}

// quote renders s as JSON.stringify would, bounded in length for messages.
func quote(s string) string {
	b, _ := json.Marshal(truncate(s))
	return string(b)
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return truncate(string(b))
}

// truncate bounds a value quoted in a message, so that a problem about a
// huge field stays readable.
func truncate(s string) string {
	const maxQuoted = 120
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut-- // do not split a UTF-8 sequence
	}
	return s[:cut] + "…"
}
