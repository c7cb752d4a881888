package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"greenroom/internal/greenroom"
)

// LocationsQuery is the body of POST /locations/by-query: a first page
// (Limit, Query) or a following one (Cursor).
type LocationsQuery struct {
	Cursor *string `json:"cursor,omitempty"`
	// Limit is the page size, 1000 when nil; larger pages are cut to
	// maxRegisteredLocations.
	Limit *float64 `json:"limit,omitempty"`
	// Query is a filter predicate over id, type, target and entityRef:
	// {"type": "url", "target": {"$hasPrefix": "https://github.com/"}},
	// with $all, $any, $not, $in, $hasPrefix, $exists and $contains as in
	// Backstage.
	Query json.RawMessage `json:"query,omitempty"`
}

// LocationsPage is Backstage's response to POST /locations/by-query.
type LocationsPage struct {
	Items      []Location `json:"items"`
	TotalItems int        `json:"totalItems"`
	PageInfo   struct {
		NextCursor string `json:"nextCursor,omitempty"`
	} `json:"pageInfo"`
}

// locationsCursor is what a cursor encodes, in Backstage's form:
// base64 of {"limit", "afterId", "query"}.
type locationsCursor struct {
	Limit   int             `json:"limit"`
	AfterID string          `json:"afterId,omitempty"`
	Query   json.RawMessage `json:"query,omitempty"`
}

// QueryLocations returns one page of the locations matching q, in id order.
// TotalItems counts every match. Malformed input is CodeInvalid.
func (s *Service) QueryLocations(ctx context.Context, q LocationsQuery) (LocationsPage, error) {
	c, err := parseLocationsQuery(q)
	if err != nil {
		return LocationsPage{}, err
	}
	match, err := compileLocationPredicate(c.Query)
	if err != nil {
		return LocationsPage{}, err
	}
	all, err := s.Locations(ctx)
	if err != nil {
		return LocationsPage{}, err
	}
	slices.SortFunc(all, func(a, b Location) int { return strings.Compare(a.ID, b.ID) })
	page := LocationsPage{Items: []Location{}}
	for _, l := range all {
		if !match(l) {
			continue
		}
		page.TotalItems++
		if l.ID <= c.AfterID && c.AfterID != "" {
			continue
		}
		if len(page.Items) == c.Limit {
			if page.PageInfo.NextCursor == "" {
				next := c
				next.AfterID = page.Items[len(page.Items)-1].ID
				b, _ := json.Marshal(next) // plain strings and numbers: cannot fail
				page.PageInfo.NextCursor = base64Std(b)
			}
			continue
		}
		page.Items = append(page.Items, l)
	}
	return page, nil
}

func parseLocationsQuery(q LocationsQuery) (locationsCursor, error) {
	if q.Cursor != nil {
		if *q.Cursor == "" {
			return locationsCursor{}, greenroom.Errorf(greenroom.CodeInvalid, "Cursor cannot be empty")
		}
		data, err := decodeBase64(*q.Cursor)
		var c locationsCursor
		if err == nil {
			err = json.Unmarshal(data, &c)
		}
		if err != nil {
			return locationsCursor{}, greenroom.Errorf(greenroom.CodeInvalid, "Malformed cursor, unknown encoding")
		}
		if c.Limit < 1 {
			return locationsCursor{}, greenroom.Errorf(greenroom.CodeInvalid, "Malformed cursor: limit must be an integer >= 1")
		}
		c.Limit = min(c.Limit, maxRegisteredLocations)
		return c, nil
	}
	c := locationsCursor{Limit: defaultLocationsLimit, Query: q.Query}
	if q.Limit != nil {
		l := *q.Limit
		if l != float64(int64(l)) || l < 1 {
			return c, greenroom.Errorf(greenroom.CodeInvalid, "Limit must be a positive integer >= 1")
		}
		c.Limit = int(min(l, maxRegisteredLocations))
	}
	if string(c.Query) == "null" {
		c.Query = nil
	}
	return c, nil
}

// compileLocationPredicate turns a filter predicate into a test, checking
// all of it first so that an error never depends on the data. Matching is
// case-insensitive except for ids in $in, as in Backstage's location store.
func compileLocationPredicate(raw json.RawMessage) (func(Location) bool, error) {
	if len(raw) == 0 {
		return func(Location) bool { return true }, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid query: %v", err)
	}
	return compilePredicate(v, 0)
}

func compilePredicate(v any, depth int) (func(Location) bool, error) {
	if depth > 32 {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, nested deeper than 32 levels")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, expected an object")
	}
	for _, op := range []string{"$all", "$any"} {
		if sub, ok := obj[op]; ok {
			list, ok := sub.([]any)
			if !ok {
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, %s needs a list", op)
			}
			fns := make([]func(Location) bool, len(list))
			for i, item := range list {
				fn, err := compilePredicate(item, depth+1)
				if err != nil {
					return nil, err
				}
				fns[i] = fn
			}
			if len(fns) == 0 {
				return func(Location) bool { return false }, nil
			}
			all := op == "$all"
			return func(l Location) bool {
				for _, fn := range fns {
					if fn(l) != all {
						return !all
					}
				}
				return all
			}, nil
		}
	}
	if sub, ok := obj["$not"]; ok {
		fn, err := compilePredicate(sub, depth+1)
		if err != nil {
			return nil, err
		}
		return func(l Location) bool { return !fn(l) }, nil
	}
	var fns []func(Location) bool
	for key, val := range obj {
		if strings.HasPrefix(key, "$") {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, unknown logic operator '%s'", key)
		}
		field, err := locationField(key)
		if err != nil {
			return nil, err
		}
		fn, err := compileValue(field, key, val)
		if err != nil {
			return nil, err
		}
		fns = append(fns, fn)
	}
	return func(l Location) bool {
		for _, fn := range fns {
			if !fn(l) {
				return false
			}
		}
		return true
	}, nil
}

func locationField(key string) (func(Location) string, error) {
	switch strings.ToLower(key) {
	case "id":
		return func(l Location) string { return l.ID }, nil
	case "type":
		return func(l Location) string { return l.Type }, nil
	case "target":
		return func(l Location) string { return l.Target }, nil
	case "entityref":
		return func(l Location) string { return l.EntityRef }, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, expected key to be 'id', 'type', 'target', or 'entityRef', got '%s'", key)
}

func compileValue(field func(Location) string, key string, val any) (func(Location) bool, error) {
	if s, ok := primitive(val); ok {
		return func(l Location) bool { return strings.EqualFold(field(l), s) }, nil
	}
	m, ok := val.(map[string]any)
	if !ok || len(m) != 1 {
		b, _ := json.Marshal(val)
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, got unknown matcher object '%s'", b)
	}
	for op, arg := range m {
		switch op {
		case "$exists":
			want, ok := arg.(bool)
			if !ok {
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, $exists needs true or false")
			}
			return func(Location) bool { return want }, nil // every location has every field
		case "$in":
			list, ok := arg.([]any)
			if !ok {
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, $in needs a list")
			}
			vals := make([]string, len(list))
			for i, item := range list {
				if vals[i], ok = primitive(item); !ok {
					return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, $in needs primitive values")
				}
			}
			exact := strings.EqualFold(key, "id")
			return func(l Location) bool {
				v := field(l)
				return slices.ContainsFunc(vals, func(w string) bool { return v == w || (!exact && strings.EqualFold(v, w)) })
			}, nil
		case "$hasPrefix":
			p, ok := arg.(string)
			if !ok {
				return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, $hasPrefix needs a string")
			}
			p = strings.ToUpper(p)
			return func(l Location) bool { return strings.HasPrefix(strings.ToUpper(field(l)), p) }, nil
		case "$contains":
			return func(Location) bool { return false }, nil // no location field is a list
		}
	}
	b, _ := json.Marshal(val)
	return nil, greenroom.Errorf(greenroom.CodeInvalid, "Invalid filter predicate, got unknown matcher object '%s'", b)
}

// primitive renders a JSON string, number or boolean as text, the way SQL
// compares them as text in Backstage.
func primitive(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return fmt.Sprint(t), true
	case float64:
		return strconvFloat(t), true
	}
	return "", false
}

func strconvFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// decodeBase64 accepts padded and unpadded base64, as Node's Buffer does.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	return b, err
}
