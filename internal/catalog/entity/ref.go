package entity

import (
	"encoding/json"
	"fmt"

	"greenroom/internal/greenroom"
)

// ParseRefInContext parses an entity reference string exactly as Backstage's
// parseEntityRef does: the form is [<kind>:][<namespace>/]<name>, a missing
// kind is taken from defaultKind and a missing namespace from
// defaultNamespace (itself defaulting to "default").
//
// It is greenroom.ParseEntityRef: like Backstage, it does not trim
// spaces, and a "/" before the first ":" makes the rest the name, so
// "ns/a:b" is namespace ns, name "a:b". The name is not checked against the
// entity name format: a reference may name an entity that cannot exist.
// Parts keep their case; EntityRef.String lowercases for comparison.
func ParseRefInContext(s, defaultKind, defaultNamespace string) (greenroom.EntityRef, error) {
	return greenroom.ParseEntityRef(s, defaultKind, defaultNamespace)
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
	return greenroom.CheckEntityRef(r, textual)
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
func quote(s string) string { return greenroom.QuoteRef(s) }

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return truncate(string(b))
}

// truncate bounds a value quoted in a message, so that a problem about a
// huge field stays readable.
func truncate(s string) string { return greenroom.TruncateQuoted(s) }
