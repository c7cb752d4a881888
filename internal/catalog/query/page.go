package query

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
)

// Cursor is the state of a by-query walk (GET or POST), carried opaquely
// by the client as base64 JSON between pages (Backstage's Cursor, with the
// store's tie-breaker where Backstage has its internal entity id).
type Cursor struct {
	Filter *Filter `json:"filter,omitempty"`
	// Query is the predicate of a walk begun with POST /entities/by-query,
	// carried instead of Filter (which DecodeCursor parses from it): the
	// client continues a walk whose cursor has a query with POST.
	Query       json.RawMessage `json:"query,omitempty"`
	OrderFields []Order         `json:"orderFields"`
	FullText    FullTextFilter  `json:"fullTextFilter"`
	// OrderFieldValues is the position to continue from: the order value
	// and tie-breaker of the last (first, when IsPrevious) entity of the
	// page the cursor came with, or just the tie-breaker when unordered.
	OrderFieldValues []string `json:"orderFieldValues"`
	// IsPrevious walks backwards from the position.
	IsPrevious bool `json:"isPrevious"`
	// FirstSortFieldValues is the position of the walk's first entity, to
	// know when a backward walk has reached the start.
	FirstSortFieldValues []string `json:"firstSortFieldValues,omitempty"`
	TotalItems           int      `json:"totalItems"`
}

// Position is where one entity sits in a StyleQuery order: its order value
// (when ordered) and Key, a unique and stable tie-breaker of the store's
// choosing (Greenroom's store uses an internal id, as Backstage uses its
// entity id).
type Position struct {
	Value string
	Key   string
}

// values is the position as a cursor stores it.
func (p Position) values(ordered bool) []string {
	if ordered {
		return []string{p.Value, p.Key}
	}
	return []string{p.Key}
}

// After returns the position to continue from and whether there is one.
func (c *Cursor) After() (Position, bool) {
	switch len(c.OrderFieldValues) {
	case 1:
		return Position{Key: c.OrderFieldValues[0]}, true
	case 2:
		return Position{Value: c.OrderFieldValues[0], Key: c.OrderFieldValues[1]}, true
	}
	return Position{}, false
}

// Encode returns the cursor in the opaque form clients pass back.
func (c *Cursor) Encode() string {
	enc := *c
	if enc.Query != nil {
		enc.Filter = nil // parsed again from the query
	}
	b, err := json.Marshal(enc)
	if err != nil {
		// Only a malformed filter tree could fail, and Decode rejects those.
		panic("query: encode cursor: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor from Encode. Anything else is a
// greenroom.CodeInvalid error.
func DecodeCursor(s string) (*Cursor, error) {
	malformed := invalid("Malformed cursor, could not be parsed")
	b, ok := decodeBase64(s)
	if !ok {
		return nil, malformed
	}
	var c Cursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, malformed
	}
	if c.Query != nil {
		f, err := ParsePredicate(c.Query)
		if err != nil || c.Filter != nil {
			return nil, malformed
		}
		c.Filter = &f
	} else if c.Filter != nil {
		if err := c.Filter.check(); err != nil {
			return nil, malformed
		}
	}
	if len(c.OrderFields) > 1 {
		c.OrderFields = c.OrderFields[:1]
	}
	want := 1
	if len(c.OrderFields) > 0 {
		want = 2
	}
	if len(c.OrderFieldValues) != want || (c.FirstSortFieldValues != nil && len(c.FirstSortFieldValues) != want) || c.TotalItems < 0 {
		return nil, malformed
	}
	for _, s := range slices.Concat(c.OrderFieldValues, c.FirstSortFieldValues, c.FullText.Fields, []string{c.FullText.Term}) {
		if checkText("cursor", s) != nil {
			return nil, malformed
		}
	}
	for _, o := range c.OrderFields {
		if checkText("cursor", o.Field) != nil {
			return nil, malformed
		}
	}
	return &c, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, as
// Node's Buffer.from(s, 'base64') does.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// after is GET /entities' after cursor: the next page's limit and offset.
type after struct {
	Limit  *int `json:"limit,omitempty"`
	Offset *int `json:"offset,omitempty"`
}

// EncodeAfter returns the opaque after value for the page of limit
// entities starting at offset, as Backstage encodes it.
func EncodeAfter(limit, offset int) string {
	b, _ := json.Marshal(after{Limit: &limit, Offset: &offset}) // two ints cannot fail
	return base64.StdEncoding.EncodeToString(b)
}

func decodeAfter(s string) (after, error) {
	b, ok := decodeBase64(s)
	var raw map[string]any
	if !ok || json.Unmarshal(b, &raw) != nil || raw == nil {
		return after{}, invalid("Malformed after cursor, could not be parsed")
	}
	var a after
	for _, f := range []struct {
		name, msg string
		dst       **int
		min       int
	}{
		{"limit", "Malformed after cursor, limit was not an number", &a.Limit, 1},
		{"offset", "Malformed after cursor, offset was not a number", &a.Offset, 0},
	} {
		v, ok := raw[f.name]
		if !ok {
			continue
		}
		n, isNum := v.(float64)
		if !isNum || n != math.Trunc(n) || n < float64(f.min) || n > math.MaxInt32 {
			return after{}, invalid("%s", f.msg)
		}
		i := int(n)
		*f.dst = &i
	}
	return a, nil
}

// EntitiesPage is one page of QueryEntities results. T is the store's
// record type; the catalog maps it to served JSON with MapItems.
type EntitiesPage[T any] struct {
	Items []T
	// TotalItems counts all matches when the query asked for it; for
	// StyleQuery pages after the first it is the first page's count.
	TotalItems int
	// NextCursor and PrevCursor continue a StyleQuery walk; nil at its
	// ends.
	NextCursor, PrevCursor *Cursor
	// NextAfter is GET /entities' after value for the next page, "" on the
	// last.
	NextAfter string
}

// PageInfo is the pageInfo object of a by-query response.
type PageInfo struct {
	NextCursor string `json:"nextCursor,omitempty"`
	PrevCursor string `json:"prevCursor,omitempty"`
}

// Info returns the page's encoded cursors.
func (p EntitiesPage[T]) Info() PageInfo {
	var info PageInfo
	if p.NextCursor != nil {
		info.NextCursor = p.NextCursor.Encode()
	}
	if p.PrevCursor != nil {
		info.PrevCursor = p.PrevCursor.Encode()
	}
	return info
}

// MapItems converts a page's items, keeping its paging.
func MapItems[T, U any](p EntitiesPage[T], f func(T) (U, error)) (EntitiesPage[U], error) {
	out := EntitiesPage[U]{TotalItems: p.TotalItems, NextCursor: p.NextCursor, PrevCursor: p.PrevCursor, NextAfter: p.NextAfter}
	out.Items = make([]U, 0, len(p.Items))
	for _, item := range p.Items {
		u, err := f(item)
		if err != nil {
			return EntitiesPage[U]{}, err
		}
		out.Items = append(out.Items, u)
	}
	return out, nil
}

// FetchLimit is how many rows the store fetches for q (resolved): one more
// than the page when walking forward, to learn whether more follow; -1 for
// all.
func (q EntitiesQuery) FetchLimit() int {
	if q.Limit < 0 {
		return -1
	}
	if q.Style == StyleQuery && q.Cursor != nil && q.Cursor.IsPrevious {
		return q.Limit
	}
	return q.Limit + 1
}

// Backward reports whether the store walks q's order in reverse: a
// StyleQuery page before its cursor's position. The store still hands
// rows to NewPage in the order it fetched them.
func (q EntitiesQuery) Backward() bool {
	return q.Style == StyleQuery && q.Cursor != nil && q.Cursor.IsPrevious
}

// NewPage assembles the page for q (resolved) from the rows the store
// fetched (at most FetchLimit, in fetch order) and their positions, with
// total the count of all matches when Count asked for one.
func NewPage[T any](q EntitiesQuery, rows []T, positions []Position, total int) EntitiesPage[T] {
	if q.Style == StyleList {
		p := EntitiesPage[T]{Items: rows, TotalItems: total}
		if q.Limit >= 0 && len(rows) > q.Limit {
			p.Items = rows[:q.Limit]
			p.NextAfter = EncodeAfter(q.Limit, q.Offset+q.Limit)
		}
		return p
	}
	if q.Backward() {
		rows, positions = slices.Clone(rows), slices.Clone(positions)
		slices.Reverse(rows)
		slices.Reverse(positions)
	}
	base := Cursor{Filter: q.Filter, Query: q.Query, OrderFields: q.Order, FullText: q.FullText, TotalItems: total}
	if q.Cursor != nil {
		base = *q.Cursor
	}
	if base.OrderFields == nil {
		base.OrderFields = []Order{} // Backstage's cursors always carry the array
	}
	p := EntitiesPage[T]{TotalItems: base.TotalItems}
	more := q.Limit > 0 && (q.Backward() || len(rows) > q.Limit)
	if len(rows) > q.Limit {
		rows, positions = rows[:q.Limit], positions[:q.Limit]
	}
	p.Items = rows
	if len(rows) == 0 {
		return p
	}
	ordered := len(base.OrderFields) > 0
	first := positions[0].values(ordered)
	last := positions[len(positions)-1].values(ordered)
	firstOfWalk := base.FirstSortFieldValues
	if firstOfWalk == nil {
		firstOfWalk = first
	}
	if more {
		next := base
		next.OrderFieldValues, next.FirstSortFieldValues, next.IsPrevious = last, firstOfWalk, false
		p.NextCursor = &next
	}
	if q.Cursor != nil && !slices.Equal(first, q.Cursor.FirstSortFieldValues) {
		prev := base
		prev.OrderFieldValues, prev.IsPrevious = first, true
		p.PrevCursor = &prev
	}
	return p
}
