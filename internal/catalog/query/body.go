package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// The JSON bodies of the predicate endpoints of catalog-client ≥ 1.16,
// POST /entities/by-query and POST /entity-facets. Members that Backstage's
// schema does not name are ignored, as its validator lets them through;
// members of the wrong type are greenroom.CodeInvalid errors naming them.

// ParseQueryBody reads the body of POST /entities/by-query: either cursor
// (then only fields and limit count besides, as in Backstage) or query (a
// predicate, see ParsePredicate), orderBy ([{field, order}]),
// fullTextFilter ({term, fields}), offset and totalItems ("include", the
// default, or "exclude"); and fields and limit. It returns the projection
// apart, as ParseFields does for the GET form.
func ParseQueryBody(body []byte) (EntitiesQuery, Fields, error) {
	q := EntitiesQuery{Style: StyleQuery, Limit: DefaultQueryLimit, TotalItems: true}
	m, err := bodyObject(body)
	if err != nil {
		return q, nil, err
	}
	var lists []string
	if err := member(m, "fields", &lists, "an array of strings"); err != nil {
		return q, nil, err
	}
	fields, err := NewFields(lists)
	if err != nil {
		return q, nil, err
	}
	if raw, ok := m["limit"]; ok {
		if q.Limit, err = count(raw, "limit"); err != nil {
			return q, nil, err
		}
	}
	if raw, ok := m["cursor"]; ok {
		var cursor string
		if err := member(m, "cursor", &cursor, "a string"); err != nil {
			return q, nil, err
		}
		if cursor == "" || string(raw) == "null" {
			return q, nil, invalid("Cursor cannot be empty")
		}
		q.Cursor, err = DecodeCursor(cursor)
		return q, fields, err
	}
	if raw, ok := m["offset"]; ok {
		if q.Offset, err = count(raw, "offset"); err != nil {
			return q, nil, err
		}
	}
	if raw, ok := m["query"]; ok {
		f, err := ParsePredicate(raw)
		if err != nil {
			return q, nil, err
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return q, nil, invalid("query: not valid JSON: %v", err)
		}
		q.Filter, q.Query = &f, compact.Bytes()
	}
	if q.Order, err = orderBy(m); err != nil {
		return q, nil, err
	}
	if q.FullText, err = fullTextFilter(m); err != nil {
		return q, nil, err
	}
	if q.TotalItems, err = totalItems(m); err != nil {
		return q, nil, err
	}
	return q, fields, nil
}

// ParseFacetsBody reads the body of POST /entity-facets: facets, a
// non-empty list of keys (empty strings ignored), and query, a predicate.
func ParseFacetsBody(body []byte) (FacetsQuery, error) {
	var q FacetsQuery
	m, err := bodyObject(body)
	if err != nil {
		return q, err
	}
	var facets []string
	if err := member(m, "facets", &facets, "an array of strings"); err != nil {
		return q, err
	}
	for i, f := range facets {
		if f == "" {
			continue
		}
		if err := checkText(fmt.Sprintf("facets[%d]", i), f); err != nil {
			return q, err
		}
		q.Facets = append(q.Facets, f)
	}
	if len(q.Facets) == 0 {
		return q, invalid("Missing or empty facets parameter")
	}
	if raw, ok := m["query"]; ok {
		f, err := ParsePredicate(raw)
		if err != nil {
			return q, err
		}
		q.Filter = &f
	}
	return q, nil
}

// bodyObject splits a JSON object into its members.
func bodyObject(body []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, invalid("Malformed request body: expected a JSON object")
	}
	return m, nil
}

// member decodes the member name of m, if present and not null, into dst;
// want describes its type for the error.
func member(m map[string]json.RawMessage, name string, dst any, want string) error {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return invalid("%s: must be %s", name, want)
	}
	return nil
}

// count reads a limit or offset: a JSON number that is a whole number from
// 0 to 2³¹-1 (20.0 is 20, as in JavaScript).
func count(raw json.RawMessage, name string) (int, error) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, invalid("%s: must be a whole number from 0 to %d", name, math.MaxInt32)
	}
	return int(f), nil
}

func orderBy(m map[string]json.RawMessage) ([]Order, error) {
	var items []struct {
		Field *string `json:"field"`
		Order *string `json:"order"`
	}
	if err := member(m, "orderBy", &items, "an array of {field, order} objects with string members"); err != nil {
		return nil, err
	}
	var out []Order
	for i, item := range items {
		at := fmt.Sprintf("orderBy[%d]", i)
		if item.Field == nil {
			return nil, invalid("%s.field: must be a string", at)
		}
		if item.Order == nil || (*item.Order != "asc" && *item.Order != "desc") {
			return nil, invalid("%s.order: must be asc or desc", at)
		}
		if err := checkText(at+".field", *item.Field); err != nil {
			return nil, err
		}
		out = append(out, Order{Field: *item.Field, Desc: *item.Order == "desc"})
	}
	return out, nil
}

func fullTextFilter(m map[string]json.RawMessage) (FullTextFilter, error) {
	var ft struct {
		Term   *string  `json:"term"`
		Fields []string `json:"fields"`
	}
	if err := member(m, "fullTextFilter", &ft, "an object with a string term and an array of string fields"); err != nil {
		return FullTextFilter{}, err
	}
	out := FullTextFilter{Fields: ft.Fields}
	if ft.Term != nil {
		out.Term = *ft.Term
	}
	if err := checkText("fullTextFilter.term", out.Term); err != nil {
		return out, err
	}
	for i, f := range out.Fields {
		if err := checkText(fmt.Sprintf("fullTextFilter.fields[%d]", i), f); err != nil {
			return out, err
		}
	}
	if len(out.Fields) == 0 {
		out.Fields = nil // none named: the default fields
	}
	return out, nil
}

// totalItems reads "include" or "exclude"; a boolean, which callers of
// older clients pass through, means the same.
func totalItems(m map[string]json.RawMessage) (bool, error) {
	raw, ok := m["totalItems"]
	if !ok || string(raw) == "null" {
		return true, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		switch v {
		case "include", true:
			return true, nil
		case "exclude", false:
			return false, nil
		}
	}
	return false, invalid(`totalItems: must be "include" or "exclude"`)
}
