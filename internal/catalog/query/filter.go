package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Op says what a Filter node does.
type Op uint8

// The filter operations of Backstage's EntityFilter.
const (
	// OpMatch holds when the entity has a search row for Key whose value is
	// one of Values, or any row for Key at all (even a null one) when
	// Values is nil. Keys and values compare case-insensitively.
	OpMatch Op = iota
	// OpAll holds when every one of Sub holds; with no Sub it always holds.
	OpAll
	// OpAny holds when at least one of Sub holds; with no Sub it never does.
	OpAny
	// OpNot holds when its one Sub does not.
	OpNot
	// OpPrefix holds when the entity has a non-null search row for Key
	// whose value starts with Values[0], case-insensitively: the
	// $hasPrefix of a predicate query.
	OpPrefix
)

// Limits on a filter decoded from a client's cursor or predicate query,
// so that a crafted one cannot make the store build an enormous query:
// nesting depth, and nodes and values in all.
const (
	maxFilterDepth = 32
	maxFilterNodes = 2000
)

// Filter is one node of an entity filter: Backstage's EntityFilter, a tree
// of all-of, any-of and not over key/value predicates. A nil *Filter means
// no filtering. Build filters with In, Exists, All, Any and Not.
type Filter struct {
	Op Op
	// Key and Values are the predicate of OpMatch. Values nil means the
	// key only has to exist; an empty non-nil Values matches nothing. For
	// OpPrefix, Values holds the one prefix.
	Key    string
	Values []string
	// Sub holds the operands of OpAll, OpAny and OpNot.
	Sub []Filter
}

// In returns the predicate "key has one of values" (case-insensitive).
func In(key string, values ...string) Filter {
	return Filter{Op: OpMatch, Key: key, Values: append([]string{}, values...)}
}

// Exists returns the predicate "the entity has key", with any value.
func Exists(key string) Filter { return Filter{Op: OpMatch, Key: key} }

// All returns the conjunction of fs.
func All(fs ...Filter) Filter { return Filter{Op: OpAll, Sub: append([]Filter{}, fs...)} }

// Any returns the disjunction of fs.
func Any(fs ...Filter) Filter { return Filter{Op: OpAny, Sub: append([]Filter{}, fs...)} }

// Not returns the negation of f.
func Not(f Filter) Filter { return Filter{Op: OpNot, Sub: []Filter{f}} }

// Prefix returns the predicate "key has a value starting with prefix"
// (case-insensitive); an empty prefix matches any non-null value.
func Prefix(key, prefix string) Filter {
	return Filter{Op: OpPrefix, Key: key, Values: []string{prefix}}
}

// IsMatch reports whether f is a key/value predicate (OpMatch or
// OpPrefix) rather than a combination of others.
func (f Filter) IsMatch() bool { return f.Op == OpMatch || f.Op == OpPrefix }

// Match reports whether an entity with the given search rows (from
// BuildSearch) passes f. It is the reference semantics the store's SQL
// translation must agree with.
func (f Filter) Match(rows []SearchRow) bool {
	switch f.Op {
	case OpAll:
		for _, s := range f.Sub {
			if !s.Match(rows) {
				return false
			}
		}
		return true
	case OpAny:
		for _, s := range f.Sub {
			if s.Match(rows) {
				return true
			}
		}
		return false
	case OpNot:
		return len(f.Sub) == 1 && !f.Sub[0].Match(rows)
	case OpPrefix:
		key, prefix := Lower(f.Key), ""
		if len(f.Values) > 0 {
			prefix = Lower(f.Values[0])
		}
		for _, r := range rows {
			if r.Key == key && !r.Null && strings.HasPrefix(r.Value, prefix) {
				return true
			}
		}
		return false
	}
	key := Lower(f.Key)
	var values []string
	if f.Values != nil {
		values = make([]string, len(f.Values))
		for i, v := range f.Values {
			values[i] = Lower(v)
		}
	}
	for _, r := range rows {
		if r.Key != key {
			continue
		}
		if values == nil || (!r.Null && slices.Contains(values, r.Value)) {
			return true
		}
	}
	return false
}

// ParseFilter parses the filter parameters of a catalog request as Backstage
// does: each filter value is a comma-separated list of conditions that must
// all hold, "key=value" or just "key" (the key exists); a key named several
// times in one value matches any of its values; repeated filter parameters
// are alternatives. It returns nil when there is nothing to filter by.
func ParseFilter(v url.Values) (*Filter, error) {
	var outer []Filter
	for _, s := range v["filter"] {
		inner, err := ParseFilterString(s)
		if err != nil {
			return nil, err
		}
		switch len(inner) {
		case 0:
		case 1:
			outer = append(outer, inner[0])
		default:
			outer = append(outer, Filter{Op: OpAll, Sub: inner})
		}
	}
	switch len(outer) {
	case 0:
		return nil, nil
	case 1:
		return &outer[0], nil
	}
	return &Filter{Op: OpAny, Sub: outer}, nil
}

// ParseFilterString parses one filter value such as
// "kind=component,spec.type=service,metadata.tags.java" into its conditions,
// one OpMatch per distinct key (compared exactly, as Backstage groups them)
// in order of first appearance. Blank statements are skipped; an empty value
// ("a=") matches the empty string. It returns nil for a blank string.
func ParseFilterString(s string) ([]Filter, error) {
	if err := checkText("filter", s); err != nil {
		return nil, err
	}
	var out []Filter
	index := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		statement := jsTrim(part)
		if statement == "" {
			continue
		}
		key, value, hasValue := strings.Cut(statement, "=")
		key = jsTrim(key)
		if key == "" {
			return nil, invalid("Invalid filter, '%s' is not a valid statement (expected a string on the form a=b or a= or a)", statement)
		}
		i, seen := index[key]
		if !seen {
			i = len(out)
			index[key] = i
			out = append(out, Filter{Op: OpMatch, Key: key})
		}
		if hasValue {
			out[i].Values = append(out[i].Values, jsTrim(value))
		}
	}
	return out, nil
}

// jsTrim trims what JavaScript's String.prototype.trim does: Unicode white
// space and line terminators, including U+FEFF but not U+0085.
func jsTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
			return true
		}
		return r >= 0x2000 && r <= 0x200a
	})
}

// MarshalJSON encodes f in Backstage's EntityFilter form: {"key","values"},
// {"allOf":[…]}, {"anyOf":[…]} or {"not":{…}}; OpPrefix, which
// EntityFilter lacks, as {"key","hasPrefix"}.
func (f Filter) MarshalJSON() ([]byte, error) {
	switch f.Op {
	case OpPrefix:
		if len(f.Values) != 1 {
			return nil, errors.New("query: a prefix filter needs exactly one prefix")
		}
		return json.Marshal(struct {
			Key       string `json:"key"`
			HasPrefix string `json:"hasPrefix"`
		}{f.Key, f.Values[0]})
	case OpMatch:
		if f.Values == nil {
			return json.Marshal(struct {
				Key string `json:"key"`
			}{f.Key})
		}
		return json.Marshal(struct {
			Key    string   `json:"key"`
			Values []string `json:"values"`
		}{f.Key, f.Values})
	case OpAll, OpAny:
		sub := f.Sub
		if sub == nil {
			sub = []Filter{}
		}
		if f.Op == OpAll {
			return json.Marshal(struct {
				AllOf []Filter `json:"allOf"`
			}{sub})
		}
		return json.Marshal(struct {
			AnyOf []Filter `json:"anyOf"`
		}{sub})
	case OpNot:
		if len(f.Sub) != 1 {
			return nil, errors.New("query: a not filter needs exactly one operand")
		}
		return json.Marshal(struct {
			Not Filter `json:"not"`
		}{f.Sub[0]})
	}
	return nil, fmt.Errorf("query: unknown filter op %d", f.Op)
}

// UnmarshalJSON decodes Backstage's EntityFilter form (and MarshalJSON's
// {"key","hasPrefix"}). Exactly one of key, allOf, anyOf and not must be
// present.
func (f *Filter) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return errors.New("a filter must be an object")
	}
	var present []string
	for _, k := range []string{"key", "allOf", "anyOf", "not"} {
		if _, ok := raw[k]; ok {
			present = append(present, k)
		}
	}
	if len(present) != 1 {
		return errors.New("a filter needs exactly one of key, allOf, anyOf and not")
	}
	field := raw[present[0]]
	if bytes.Equal(bytes.TrimSpace(field), []byte("null")) {
		return fmt.Errorf("filter %s must not be null", present[0])
	}
	switch present[0] {
	case "key":
		*f = Filter{Op: OpMatch}
		if err := json.Unmarshal(field, &f.Key); err != nil {
			return fmt.Errorf("filter key: %w", err)
		}
		if prefix, ok := raw["hasPrefix"]; ok {
			var p *string
			if _, both := raw["values"]; both || json.Unmarshal(prefix, &p) != nil || p == nil {
				return errors.New("filter hasPrefix must be a string, without values")
			}
			f.Op, f.Values = OpPrefix, []string{*p}
		} else if values, ok := raw["values"]; ok {
			f.Values = []string{}
			if err := json.Unmarshal(values, &f.Values); err != nil || f.Values == nil {
				return errors.New("filter values must be an array of strings")
			}
		}
	case "allOf", "anyOf":
		*f = Filter{Op: OpAll}
		if present[0] == "anyOf" {
			f.Op = OpAny
		}
		f.Sub = []Filter{}
		if err := json.Unmarshal(field, &f.Sub); err != nil {
			return err
		}
	default:
		var sub Filter
		if err := json.Unmarshal(field, &sub); err != nil {
			return err
		}
		*f = Filter{Op: OpNot, Sub: []Filter{sub}}
	}
	return nil
}

// check bounds a filter that came from outside (a decoded cursor).
func (f Filter) check() error {
	nodes := 0
	var walk func(f Filter, depth int) error
	walk = func(f Filter, depth int) error {
		nodes += 1 + len(f.Values)
		if depth > maxFilterDepth || nodes > maxFilterNodes {
			return errors.New("filter too large")
		}
		if f.Op == OpPrefix && len(f.Values) != 1 {
			return errors.New("a prefix filter needs exactly one prefix")
		}
		if f.IsMatch() {
			if !utf8.ValidString(f.Key) || strings.IndexByte(f.Key, 0) >= 0 {
				return errors.New("filter key is not valid text")
			}
			for _, v := range f.Values {
				if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
					return errors.New("filter value is not valid text")
				}
			}
		}
		if f.Op == OpNot && len(f.Sub) != 1 {
			return errors.New("a not filter needs exactly one operand")
		}
		for _, s := range f.Sub {
			if err := walk(s, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(f, 0)
}
