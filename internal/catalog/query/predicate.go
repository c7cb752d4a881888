package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Predicate queries are the filter language of @backstage/filter-predicates,
// which @backstage/catalog-client ≥ 1.16 sends as the "query" of
// POST /entities/by-query, POST /entity-facets and POST /entities/by-refs:
//
//	{"$all": [{"kind": "component"}, {"spec.type": {"$in": ["service", "website"]}},
//	          {"$not": {"spec.lifecycle": "experimental"}},
//	          {"metadata.annotations.backstage.io/techdocs-ref": {"$exists": true}}]}
//
// ParsePredicate accepts exactly what Backstage's schema
// (createZodV3FilterPredicateSchema) accepts and gives it the meaning the
// catalog backend gives it over the search index: a field expression holds
// when every one of its keys matches (an empty one always holds); a
// primitive value matches the key's lowercased text (numbers as JavaScript
// prints them); $exists tests for any row of the key; $in for any of its
// values; $hasPrefix for a value starting with the lowercased prefix.
// Where an object carries several value operators, the first valid one of
// $exists, $in, $contains and $hasPrefix counts and the rest are ignored,
// as Backstage's schema strips them.
//
// $contains is supported where the index can answer it exactly: a
// primitive (the array has that item: the index keeps array items under
// the array's own key), $any of supported operands, an object naming one
// field (some item has that field matching), and on relations an object
// with type and optionally targetRef. $all and $not inside $contains, and
// objects naming several fields, ask which item matched, which the index
// does not record; they are refused with a 400 rather than answered wrongly.

// maxPredicateBytes bounds the JSON text of one predicate.
const maxPredicateBytes = 64 << 10

// ParsePredicate parses a predicate query into the Filter it means. Every
// problem is a greenroom.CodeInvalid error located by its JSON path, such
// as "query.$all[2].kind: …".
func ParsePredicate(raw []byte) (Filter, error) {
	if len(raw) > maxPredicateBytes {
		return Filter{}, invalid("query: larger than %d bytes", maxPredicateBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Filter{}, invalid("query: not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Filter{}, invalid("query: not valid JSON: text after the value")
	}
	var p predicateParser
	return p.predicate(v, "query", 0)
}

// predicateParser counts what one predicate holds, to bound it.
type predicateParser struct{ nodes int }

// enter charges one condition at path and checks the nesting depth.
func (p *predicateParser) enter(path string, depth, values int) error {
	p.nodes += 1 + values
	if p.nodes > maxFilterNodes {
		return invalid("%s: the query has more than %d conditions and values", path, maxFilterNodes)
	}
	if depth > maxFilterDepth {
		return invalid("%s: the query nests deeper than %d levels", path, maxFilterDepth)
	}
	return nil
}

// logicalOps are the operators that make up a whole predicate object.
var logicalOps = []string{"$all", "$any", "$not"}

// logicalOp returns the logical operator m uses, if any. An object with an
// operator must have no other key.
func logicalOp(m map[string]any, path string) (string, bool, error) {
	for _, op := range logicalOps {
		if _, ok := m[op]; ok {
			if len(m) != 1 {
				return "", false, invalid("%s: %s must be the only key of its object; wrap it and the other conditions in $all", path, op)
			}
			return op, true, nil
		}
	}
	return "", false, nil
}

// predicate parses a FilterPredicate: $all, $any, $not or a field
// expression.
func (p *predicateParser) predicate(v any, path string, depth int) (Filter, error) {
	if err := p.enter(path, depth, 0); err != nil {
		return Filter{}, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Filter{}, invalid("%s: must be an object, got %s", path, describe(v))
	}
	op, isOp, err := logicalOp(m, path)
	if err != nil {
		return Filter{}, err
	}
	if isOp {
		at := path + "." + op
		if op == "$not" {
			sub, err := p.predicate(m[op], at, depth+1)
			return Not(sub), err
		}
		items, ok := m[op].([]any)
		if !ok {
			return Filter{}, invalid("%s: must be an array of predicates, got %s", at, describe(m[op]))
		}
		subs := make([]Filter, 0, len(items))
		for i, item := range items {
			sub, err := p.predicate(item, fmt.Sprintf("%s[%d]", at, i), depth+1)
			if err != nil {
				return Filter{}, err
			}
			subs = append(subs, sub)
		}
		if op == "$any" {
			return Any(subs...), nil
		}
		return All(subs...), nil
	}
	return p.expression(m, path, depth, p.value)
}

// expression parses a field expression, each key through value; one key
// is its own condition, several are all required.
func (p *predicateParser) expression(m map[string]any, path string, depth int,
	value func(key string, v any, path string, depth int) (Filter, error)) (Filter, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // one order for the conditions and the first error
	subs := make([]Filter, 0, len(keys))
	for _, k := range keys {
		at := path + "." + k
		if err := checkKey(k, at); err != nil {
			return Filter{}, err
		}
		sub, err := value(k, m[k], at, depth+1)
		if err != nil {
			return Filter{}, err
		}
		subs = append(subs, sub)
	}
	if len(subs) == 1 {
		return subs[0], nil
	}
	return All(subs...), nil
}

// checkKey applies Backstage's rule for field names, /^(?:[^$\n\r].*)?$/
// (JavaScript's dot stops at line terminators), and refuses what the index
// cannot hold.
func checkKey(k, path string) error {
	if strings.HasPrefix(k, "$") {
		return invalid("%s: unknown operator %s; an object is either one of $all, $any and $not, or field conditions", path, k)
	}
	if strings.IndexByte(k, 0) >= 0 {
		return invalid("%s: a field name must not contain NUL", path)
	}
	rest := k
	if _, size := utf8.DecodeRuneInString(k); size > 0 && k[0] != '\n' && k[0] != '\r' {
		rest = k[size:]
	}
	if strings.ContainsAny(rest, "\n\r\u2028\u2029") {
		return invalid("%s: a field name must not contain line breaks", path)
	}
	return nil
}

// value parses the FilterPredicateValue of key.
func (p *predicateParser) value(key string, v any, path string, depth int) (Filter, error) {
	if err := p.enter(path, depth, 0); err != nil {
		return Filter{}, err
	}
	if s, ok := primitiveText(v); ok {
		if err := checkValue(s, path); err != nil {
			return Filter{}, err
		}
		return In(key, s), nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Filter{}, invalid("%s: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; got %s", path, describe(v))
	}
	switch valueOperator(m, depth) {
	case "$exists":
		if m["$exists"].(bool) {
			return Exists(key), nil
		}
		return Not(Exists(key)), nil
	case "$in":
		items := m["$in"].([]any)
		if err := p.enter(path+".$in", depth+1, len(items)); err != nil {
			return Filter{}, err
		}
		values := make([]string, 0, len(items))
		for i, item := range items {
			s, _ := primitiveText(item)
			if err := checkValue(s, fmt.Sprintf("%s.$in[%d]", path, i)); err != nil {
				return Filter{}, err
			}
			values = append(values, s)
		}
		return In(key, values...), nil
	case "$contains":
		return p.contains(key, m["$contains"], path+".$contains", depth+1)
	case "$hasPrefix":
		s := m["$hasPrefix"].(string)
		if err := checkValue(s, path+".$hasPrefix"); err != nil {
			return Filter{}, err
		}
		return Prefix(key, s), nil
	}
	return Filter{}, p.valueError(m, path, depth)
}

// valueOperator returns the value operator of m that Backstage's schema
// picks: the first of $exists, $in, $contains and $hasPrefix whose operand
// is valid; "" for none.
func valueOperator(m map[string]any, depth int) string {
	if _, ok := m["$exists"].(bool); ok {
		return "$exists"
	}
	if items, ok := m["$in"].([]any); ok && allPrimitive(items) {
		return "$in"
	}
	if c, ok := m["$contains"]; ok && validAny(c, depth+1) {
		return "$contains"
	}
	if _, ok := m["$hasPrefix"].(string); ok {
		return "$hasPrefix"
	}
	return ""
}

// valueError says what is wrong with a value object no operator of which
// is valid.
func (p *predicateParser) valueError(m map[string]any, path string, depth int) error {
	if e, ok := m["$exists"]; ok {
		return invalid("%s.$exists: must be true or false, got %s", path, describe(e))
	}
	if in, ok := m["$in"]; ok {
		items, isArray := in.([]any)
		if !isArray {
			return invalid("%s.$in: must be an array of strings, numbers or booleans, got %s", path, describe(in))
		}
		for i, item := range items {
			if _, ok := primitiveText(item); !ok {
				return invalid("%s.$in[%d]: must be a string, number or boolean, got %s", path, i, describe(item))
			}
		}
	}
	if c, ok := m["$contains"]; ok {
		// Translating the invalid operand reports where it goes wrong.
		if _, err := p.contains("", c, path+".$contains", depth+1); err != nil {
			return err
		}
		return invalid("%s.$contains: not a valid predicate", path)
	}
	if h, ok := m["$hasPrefix"]; ok {
		return invalid("%s.$hasPrefix: must be a string, got %s", path, describe(h))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > 0 && strings.HasPrefix(keys[0], "$") {
		return invalid("%s: unknown operator %s (expected $exists, $in, $contains or $hasPrefix)", path, keys[0])
	}
	if len(keys) > 0 {
		return invalid("%s: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; a nested field is named by its dotted path (%s.%s)", path, strings.TrimPrefix(path, "query."), keys[0])
	}
	return invalid("%s: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; got an empty object", path)
}

// contains parses the operand of $contains on key (an AnyFilterPredicate)
// into a condition on the index, or refuses what the index cannot answer.
func (p *predicateParser) contains(key string, v any, path string, depth int) (Filter, error) {
	if err := p.enter(path, depth, 0); err != nil {
		return Filter{}, err
	}
	if s, ok := primitiveText(v); ok {
		if err := checkValue(s, path); err != nil {
			return Filter{}, err
		}
		return In(key, s), nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Filter{}, invalid("%s: must be a string, number, boolean or an object, got %s", path, describe(v))
	}
	op, isOp, err := logicalOp(m, path)
	if err != nil {
		return Filter{}, err
	}
	if isOp {
		at := path + "." + op
		if op != "$any" {
			return Filter{}, invalid("%s: %s inside $contains is not supported: the index does not record which array item matched", at, op)
		}
		items, ok := m[op].([]any)
		if !ok {
			return Filter{}, invalid("%s: must be an array, got %s", at, describe(m[op]))
		}
		subs := make([]Filter, 0, len(items))
		for i, item := range items {
			sub, err := p.contains(key, item, fmt.Sprintf("%s[%d]", at, i), depth+1)
			if err != nil {
				return Filter{}, err
			}
			subs = append(subs, sub)
		}
		return Any(subs...), nil
	}
	if Lower(key) == "relations" {
		return p.containsRelation(m, path, depth)
	}
	switch len(m) {
	case 0: // {} holds for any item: the array has one
		return Exists(key), nil
	case 1:
		return p.expression(m, path, depth, func(field string, v any, at string, depth int) (Filter, error) {
			if isExistsFalse(v) {
				return Filter{}, invalid("%s.$exists: false inside $contains is not supported: the index does not record which array item lacks the field", at)
			}
			return p.value(key+"."+field, v, at, depth)
		})
	}
	return Filter{}, invalid("%s: an object inside $contains may name one field (relations: type and targetRef): the index does not record which array item matched", path)
}

// containsRelation parses {"type": t, "targetRef": r} inside
// relations.$contains: the index keeps each relation as relations.<type>
// = targetRef.
func (p *predicateParser) containsRelation(m map[string]any, path string, depth int) (Filter, error) {
	for k := range m {
		if k != "type" && k != "targetRef" {
			return Filter{}, invalid("%s.%s: a relation inside $contains is matched by type and targetRef only", path, k)
		}
	}
	typ, ok := m["type"].(string)
	if !ok {
		return Filter{}, invalid("%s.type: a relation inside $contains needs its type as a string", path)
	}
	if err := checkValue(typ, path+".type"); err != nil {
		return Filter{}, err
	}
	key := "relations." + typ
	target, ok := m["targetRef"]
	if !ok {
		return Exists(key), nil
	}
	if isExistsFalse(target) {
		return Filter{}, invalid("%s.targetRef.$exists: false inside $contains is not supported", path)
	}
	return p.value(key, target, path+".targetRef", depth+1)
}

func isExistsFalse(v any) bool {
	m, ok := v.(map[string]any)
	return ok && valueOperator(m, 0) == "$exists" && !m["$exists"].(bool)
}

// validAny reports whether v is an AnyFilterPredicate of Backstage's
// schema: a primitive, $all/$any/$not of those, or a field expression.
func validAny(v any, depth int) bool {
	if depth > maxFilterDepth {
		return false
	}
	if _, ok := primitiveText(v); ok {
		return true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	op, isOp, err := logicalOp(m, "")
	if err != nil {
		return false
	}
	if isOp {
		if op == "$not" {
			return validAny(m[op], depth+1)
		}
		items, ok := m[op].([]any)
		if !ok {
			return false
		}
		for _, item := range items {
			if !validAny(item, depth+1) {
				return false
			}
		}
		return true
	}
	for k, val := range m {
		if checkKey(k, "") != nil {
			return false
		}
		if _, ok := primitiveText(val); ok {
			continue
		}
		vm, ok := val.(map[string]any)
		if !ok || valueOperator(vm, depth+1) == "" {
			return false
		}
	}
	return true
}

func allPrimitive(items []any) bool {
	for _, item := range items {
		if _, ok := primitiveText(item); !ok {
			return false
		}
	}
	return true
}

// primitiveText returns a FilterPredicatePrimitive as the text the index
// compares: a string as is, a boolean or number as JavaScript's String().
func primitiveText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		// Out of range, JSON.parse reads 1e400 as Infinity and 1e-400 as 0,
		// which ParseFloat returns with ErrRange.
		f, err := strconv.ParseFloat(string(x), 64)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return string(x), true // the decoder only passes valid numbers
		case math.IsInf(f, 1):
			return "Infinity", true
		case math.IsInf(f, -1):
			return "-Infinity", true
		}
		return jsNumber(f), true
	}
	return "", false
}

// checkValue refuses text the index cannot hold.
func checkValue(s, path string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return invalid("%s: must not contain NUL", path)
	}
	return nil
}

// describe names the JSON type of v for messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	}
	return "an object"
}
