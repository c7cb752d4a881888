package query

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Backstage's limits on search rows: the columns are indexed and databases
// refuse very long index entries. Lengths are in UTF-16 code units, as
// JavaScript counts them.
const (
	MaxSearchKeyLength   = 200
	MaxSearchValueLength = 200
)

// specialKeys are left out of the generic walk: they make no sense to index
// or are added separately below, null or not.
var specialKeys = map[string]bool{
	"attachments":        true,
	"relations":          true,
	"status":             true,
	"metadata.name":      true,
	"metadata.namespace": true,
	"metadata.uid":       true,
	"metadata.etag":      true,
}

// SearchRow is one row of an entity's search index, Backstage's search
// table row without the entity id. Filters, ordering, full-text filters and
// facets are all evaluated against these rows.
type SearchRow struct {
	// Key is the lowercased dot path, such as "spec.owner",
	// "metadata.tags.java" or "relations.ownedby".
	Key string
	// Value is the lowercased value and Original the value as written;
	// both are empty when Null is set.
	Value    string
	Original string
	// Null marks a null, missing (for the special keys) or over-long value.
	Null bool
}

// DuplicateKeysError is what BuildSearch returns for an entity with keys
// that differ only in letter case, such as spec.owner and spec.OWNER:
// Backstage refuses to stitch such an entity.
type DuplicateKeysError struct {
	Keys []string // lowercased, sorted
}

func (e *DuplicateKeysError) Error() string {
	return "Entity has duplicate keys that vary only in casing, '" + strings.Join(e.Keys, "', '") + "'"
}

// BuildSearch flattens an entity (decoded JSON) into its search rows
// exactly as Backstage's buildEntitySearch does:
//
//   - every leaf becomes a row keyed by its lowercased dot path, with the
//     value as a lowercased string (numbers as JavaScript prints them) and
//     the original text kept for facets; null leaves give a null row;
//   - arrays are walked item by item under the array's own path, and each
//     string item s also gives the row "<path>.<s>" = "true", so that
//     metadata.tags.java matches an entity tagged java;
//   - attachments, relations and status are not walked; metadata.name,
//     metadata.namespace and metadata.uid are always added, null when
//     missing, and an entity without a namespace also gets
//     metadata.namespace=default;
//   - each relation adds relations.<type> = its targetRef;
//   - keys longer than MaxSearchKeyLength are dropped, values longer than
//     MaxSearchValueLength become null.
//
// Annotation and label keys keep their dots and slashes, so
// metadata.annotations.backstage.io/techdocs-ref is one key. Object keys are
// visited with array indexes first, then in byte order, where JavaScript
// would use the document order; only the order of the rows differs.
//
// The rows are returned even when the entity has keys that differ only in
// case, together with a *DuplicateKeysError.
func BuildSearch(entity map[string]any) ([]SearchRow, error) {
	w := walker{seen: map[string]bool{}}
	w.walk("", entity)
	raw := w.out
	meta, _ := entity["metadata"].(map[string]any)
	raw = append(raw,
		kv{"metadata.name", meta["name"]},
		kv{"metadata.namespace", meta["namespace"]},
		kv{"metadata.uid", meta["uid"]},
	)
	if !truthy(meta["namespace"]) {
		raw = append(raw, kv{"metadata.namespace", "default"})
	}
	if relations, ok := entity["relations"].([]any); ok {
		for _, r := range relations {
			rel, ok := r.(map[string]any)
			if !ok {
				continue // Backstage fails on such an entity; it cannot validate anyway
			}
			raw = append(raw, kv{"relations." + templateString(rel["type"], hasKey(rel, "type")), rel["targetRef"]})
		}
	}
	rows := mapToRows(raw)
	return rows, duplicateKeys(raw)
}

// BuildSearchJSON decodes an entity body and flattens it with BuildSearch,
// taking metadata.uid from uid: the store keeps the uid apart from the
// body.
func BuildSearchJSON(body []byte, uid string) ([]SearchRow, error) {
	var entity map[string]any
	if err := json.Unmarshal(body, &entity); err != nil {
		return nil, fmt.Errorf("query: entity body: %w", err)
	}
	if entity == nil {
		entity = map[string]any{}
	}
	if uid != "" {
		meta, ok := entity["metadata"].(map[string]any)
		if !ok {
			meta = map[string]any{}
			entity["metadata"] = meta
		}
		meta["uid"] = uid
	}
	return BuildSearch(entity)
}

// StringRows returns the rows of string leaves, each a key and its value,
// lowercased and length-checked as BuildSearch does its leaves.
func StringRows(pairs [][2]string) []SearchRow {
	raw := make([]kv, len(pairs))
	for i, p := range pairs {
		raw[i] = kv{p[0], p[1]}
	}
	return mapToRows(raw)
}

// UniqueRows returns rows without repeats of a key and value (keeping the
// first original text), in their order: the index is a set, and one row per
// value keeps each entity counted once in a facet and listed once when
// ordered by that key.
func UniqueRows(rows []SearchRow) []SearchRow {
	out := make([]SearchRow, 0, len(rows))
	if len(rows) <= 64 {
		// An entity's few dozen rows: comparing with those kept costs less
		// than building a set (a map per entity indexed).
	next:
		for _, r := range rows {
			for _, o := range out {
				if o.Key == r.Key && o.Value == r.Value && o.Null == r.Null {
					continue next
				}
			}
			out = append(out, r)
		}
		return out
	}
	type kvNull struct {
		key, value string
		null       bool
	}
	seen := make(map[kvNull]bool, len(rows))
	for _, r := range rows {
		k := kvNull{r.Key, r.Value, r.Null}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// Lower lowercases a key or value the way the search index does.
func Lower(s string) string { return strings.ToLower(s) }

type kv struct {
	key   string
	value any
}

// walker collects the leaves of an entity, as Backstage's traverse.
type walker struct {
	out  []kv
	seen map[string]bool // lowercased keys in out
}

func (w *walker) add(key string, value any) {
	w.out = append(w.out, kv{key, value})
	w.seen[Lower(key)] = true
}

func (w *walker) walk(path string, v any) {
	if specialKeys[path] {
		return
	}
	switch x := v.(type) {
	case nil, string, float64, bool, json.Number:
		w.add(path, x)
	case []any:
		for _, item := range x {
			w.walk(path, item)
			// An item repeating a key already seen (tags [java, Java]) adds
			// no second "true" row.
			if s, ok := item.(string); ok && !w.seen[Lower(path+"."+s)] {
				w.add(path+"."+s, true)
			}
		}
	case map[string]any:
		for _, k := range objectKeys(x) {
			child := k
			if path != "" {
				child = path + "." + k
			}
			w.walk(child, x[k])
		}
	}
}

// objectKeys orders keys as JavaScript enumerates them as far as a map
// allows: canonical array indexes ascending, then the rest (byte order
// standing in for insertion order).
func objectKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ai, aok := arrayIndex(a)
		bi, bok := arrayIndex(b)
		switch {
		case aok && bok:
			return int(ai - bi)
		case aok:
			return -1
		case bok:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// arrayIndex reports whether s is a canonical array index ("0", "17").
func arrayIndex(s string) (int64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false // most keys: no ParseInt error to allocate
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n >= math.MaxUint32 || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

// mapToRows lowercases and length-checks raw key/values into rows.
func mapToRows(raw []kv) []SearchRow {
	rows := make([]SearchRow, 0, len(raw))
	for _, e := range raw {
		key := Lower(e.key)
		if jsLength(key) > MaxSearchKeyLength {
			continue
		}
		if e.value == nil {
			rows = append(rows, SearchRow{Key: key, Null: true})
			continue
		}
		original := jsString(e.value)
		value := Lower(original)
		if jsLength(value) > MaxSearchValueLength {
			rows = append(rows, SearchRow{Key: key, Null: true})
			continue
		}
		rows = append(rows, SearchRow{Key: key, Value: value, Original: original})
	}
	return rows
}

// duplicateKeys reports keys that are spelled in more than one letter case.
func duplicateKeys(raw []kv) error {
	spellings := map[string]string{}
	dup := map[string]bool{}
	for _, e := range raw {
		lower := Lower(e.key)
		if first, ok := spellings[lower]; !ok {
			spellings[lower] = e.key
		} else if first != e.key {
			dup[lower] = true
		}
	}
	if len(dup) == 0 {
		return nil
	}
	keys := make([]string, 0, len(dup))
	for k := range dup {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return &DuplicateKeysError{Keys: keys}
}

// jsLength is the length of s in UTF-16 code units.
func jsLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// jsString converts a decoded JSON value to text as JavaScript's String()
// does.
func jsString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return jsNumber(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return jsNumber(f)
		}
		return string(x)
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			if item != nil {
				parts[i] = jsString(item)
			}
		}
		return strings.Join(parts, ",")
	case nil:
		return "null"
	}
	return "[object Object]"
}

// templateString is a value interpolated into a JavaScript template
// literal: like String(), but a missing value reads "undefined".
func templateString(v any, present bool) string {
	if !present {
		return "undefined"
	}
	return jsString(v)
}

// jsNumber formats f as JavaScript's Number.prototype.toString: plain
// digits from 1e-6 up to 1e21, exponent notation ("1e+21", "1.5e-7")
// outside.
func jsNumber(f float64) string {
	if f == 0 {
		return "0" // also -0
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	return mant + "e" + exp[:1] + strings.TrimLeft(exp[1:], "0")
}

// truthy is JavaScript truthiness for a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	}
	return true
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
