package catalogtest

import (
	"encoding/json"
	"slices"
	"strings"
)

// The YAML of the generated files is written here rather than by
// goccy/go-yaml, which takes about 150 µs an entity (2.5 minutes for a
// million); this takes a few. It writes only the shapes of this package's
// types, in block style as people write catalog files, and quotes every
// scalar it is not sure about as a JSON string (a valid YAML double-quoted
// scalar). The tests parse everything it writes back and compare.

// kv is one key of a mapping. v is a string, a []string, a []kv (a nested
// mapping) or a [][]kv (a list of mappings); empty values are left out
// unless keep is set.
type kv struct {
	k    string
	v    any
	keep bool
}

// Spec is the spec of a generated entity: one of the *Spec types of this
// package.
type Spec interface {
	fields() []kv
}

// AppendYAML appends the entity as one YAML document, without the "---"
// separator.
func (e Entity) AppendYAML(b []byte) []byte {
	var spec []kv
	if e.Spec != nil {
		spec = e.Spec.fields()
	}
	return appendMapping(b, 0, []kv{
		{k: "apiVersion", v: e.APIVersion},
		{k: "kind", v: e.Kind},
		{k: "metadata", v: e.Metadata.fields()},
		{k: "spec", v: spec, keep: true},
	})
}

func (m Metadata) fields() []kv {
	links := make([][]kv, len(m.Links))
	for i, l := range m.Links {
		links[i] = []kv{{k: "url", v: l.URL}, {k: "title", v: l.Title}}
	}
	return []kv{
		{k: "name", v: m.Name}, {k: "namespace", v: m.Namespace}, {k: "title", v: m.Title},
		{k: "description", v: m.Description}, {k: "labels", v: sortedKVs(m.Labels)},
		{k: "annotations", v: sortedKVs(m.Annotations)}, {k: "tags", v: m.Tags}, {k: "links", v: links},
	}
}

func sortedKVs(m map[string]string) []kv {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]kv, len(keys))
	for i, k := range keys {
		out[i] = kv{k: k, v: m[k]}
	}
	return out
}

func (p Profile) fields() []kv {
	return []kv{{k: "displayName", v: p.DisplayName}, {k: "email", v: p.Email}}
}

func (s ComponentSpec) fields() []kv {
	return []kv{{k: "type", v: s.Type}, {k: "lifecycle", v: s.Lifecycle}, {k: "owner", v: s.Owner},
		{k: "system", v: s.System}, {k: "providesApis", v: s.ProvidesAPIs}, {k: "consumesApis", v: s.ConsumesAPIs},
		{k: "dependsOn", v: s.DependsOn}}
}

func (s APISpec) fields() []kv {
	return []kv{{k: "type", v: s.Type}, {k: "lifecycle", v: s.Lifecycle}, {k: "owner", v: s.Owner},
		{k: "system", v: s.System}, {k: "definition", v: s.Definition}}
}

func (s ResourceSpec) fields() []kv {
	return []kv{{k: "type", v: s.Type}, {k: "owner", v: s.Owner}, {k: "system", v: s.System}, {k: "dependsOn", v: s.DependsOn}}
}

func (s SystemSpec) fields() []kv {
	return []kv{{k: "owner", v: s.Owner}, {k: "domain", v: s.Domain}}
}

func (s DomainSpec) fields() []kv { return []kv{{k: "owner", v: s.Owner}} }

func (s GroupSpec) fields() []kv {
	return []kv{{k: "type", v: s.Type}, {k: "profile", v: s.Profile.fields()}, {k: "parent", v: s.Parent},
		{k: "children", v: s.Children, keep: true}}
}

func (s UserSpec) fields() []kv {
	return []kv{{k: "profile", v: s.Profile.fields()}, {k: "memberOf", v: s.MemberOf, keep: true}}
}

func (s LocationSpec) fields() []kv {
	return []kv{{k: "type", v: s.Type}, {k: "targets", v: s.Targets, keep: true}}
}

func empty(v any) bool {
	switch t := v.(type) {
	case string:
		return t == ""
	case []string:
		return len(t) == 0
	case []kv:
		for _, f := range t {
			if f.keep || !empty(f.v) {
				return false
			}
		}
		return true
	case [][]kv:
		return len(t) == 0
	}
	return v == nil
}

func appendMapping(b []byte, indent int, fields []kv) []byte {
	for _, f := range fields {
		if empty(f.v) && !f.keep {
			continue
		}
		b = appendIndent(b, indent)
		b = appendField(b, indent, f)
	}
	return b
}

// appendField writes "key: value\n" at the current position, which is
// already indented.
func appendField(b []byte, indent int, f kv) []byte {
	if plainSafe(f.k) {
		b = append(b, f.k...)
	} else {
		q, _ := json.Marshal(f.k)
		b = append(b, q...)
	}
	b = append(b, ':')
	switch v := f.v.(type) {
	case string:
		b = append(b, ' ')
		return appendScalar(b, v, indent)
	case []string:
		if len(v) == 0 {
			return append(b, " []\n"...)
		}
		b = append(b, '\n')
		for _, s := range v {
			b = appendIndent(b, indent+2)
			b = append(b, "- "...)
			b = appendScalar(b, s, indent+4)
		}
		return b
	case []kv:
		if empty(v) {
			return append(b, " {}\n"...)
		}
		b = append(b, '\n')
		return appendMapping(b, indent+2, v)
	case [][]kv:
		b = append(b, '\n')
		for _, m := range v {
			b = appendIndent(b, indent+2)
			b = append(b, "- "...)
			// The first key sits after the dash, the rest under it.
			b = appendMappingAfterDash(b, indent+4, m)
		}
		return b
	}
	return append(b, " null\n"...)
}

func appendMappingAfterDash(b []byte, indent int, fields []kv) []byte {
	first := true
	for _, f := range fields {
		if empty(f.v) && !f.keep {
			continue
		}
		if !first {
			b = appendIndent(b, indent)
		}
		first = false
		b = appendField(b, indent, f)
	}
	if first {
		b = append(b, "{}\n"...)
	}
	return b
}

func appendIndent(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// appendScalar writes s and a newline: plain when that reads back as the
// same string, as a literal block when it has several lines, else quoted.
func appendScalar(b []byte, s string, indent int) []byte {
	switch {
	case plainSafe(s):
		b = append(b, s...)
		return append(b, '\n')
	case literalSafe(s):
		body := strings.TrimSuffix(s, "\n")
		if body == s {
			b = append(b, "|-\n"...)
		} else {
			b = append(b, "|\n"...)
		}
		for _, line := range strings.Split(body, "\n") {
			if line != "" {
				b = appendIndent(b, indent+2)
				b = append(b, line...)
			}
			b = append(b, '\n')
		}
		return b
	}
	q, _ := json.Marshal(s) // marshalling a string cannot fail
	b = append(b, q...)
	return append(b, '\n')
}

// plainSafe reports whether s reads back as the same string when written
// as a YAML plain scalar: it starts with a letter, has only a conservative
// set of characters, no ": " or " #", and is not a word YAML 1.1 or 1.2
// resolves to a boolean or null.
func plainSafe(s string) bool {
	if s == "" || !isLetter(s[0]) || strings.HasSuffix(s, ":") || strings.HasSuffix(s, " ") ||
		strings.Contains(s, ": ") || strings.Contains(s, " #") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && !strings.ContainsRune(" ._/:@+-,", rune(c)) {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
		return false
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// literalSafe reports whether s can be a literal block scalar ("|" or
// "|-") without an indentation indicator: several lines, the first
// non-empty one not starting with a blank, no trailing blanks, at most one
// trailing newline, printable ASCII and tabs.
func literalSafe(s string) bool {
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") || strings.HasSuffix(s, "\n\n") {
		return false
	}
	if first := strings.TrimLeft(s, "\n"); strings.HasPrefix(first, " ") || strings.HasPrefix(first, "\t") {
		return false // the first non-empty line would set the block's indentation
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c < 0x20 && c != '\t' || c > 0x7e {
				return false
			}
		}
	}
	return true
}
