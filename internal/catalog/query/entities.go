package query

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Style is which of Backstage's two entity list endpoints a query follows;
// they order and page differently.
type Style uint8

const (
	// StyleList is GET /entities: offset paging (limit, offset, after),
	// any number of order fields, entities lacking an order field after
	// those that have it, ties broken by a stable internal order, unordered
	// results by ref.
	StyleList Style = iota
	// StyleQuery is GET /entities/by-query: keyset paging with opaque
	// cursors, one order field (further ones are ignored, as Backstage
	// does), entities lacking the order field left out, ties and unordered
	// results in a stable internal order (Backstage's is its entity id).
	StyleQuery
)

// NoLimit as EntitiesQuery.Limit returns every match.
const NoLimit = -1

// DefaultQueryLimit is the page size of GET /entities/by-query when the
// request names none (Backstage's documented default).
const DefaultQueryLimit = 20

// defaultTextField is what a full-text filter searches when it names no
// fields and the query has no order field, as in Backstage.
const defaultTextField = "metadata.uid"

// FullTextFilter keeps entities one of whose Fields contains Term,
// case-insensitively. A blank Term filters nothing.
type FullTextFilter struct {
	Term string `json:"term"`
	// Fields are search keys; nil means the order field, or metadata.uid
	// when there is none.
	Fields []string `json:"fields,omitempty"`
}

// EntitiesQuery asks the store for one page of entities.
type EntitiesQuery struct {
	Style  Style
	Filter *Filter // nil selects every entity
	// Query is the predicate Filter was parsed from, for a walk begun with
	// POST /entities/by-query; its cursors carry it.
	Query    json.RawMessage
	Order    []Order
	FullText FullTextFilter
	// Offset skips that many matches; with StyleQuery only on the first
	// page (Cursor nil).
	Offset int
	// Limit is the most entities the page holds, NoLimit for all (only
	// StyleList); 0 returns none but still counts TotalItems.
	Limit int
	// Cursor continues a StyleQuery walk from a page's NextCursor or
	// PrevCursor. Filter, Order, FullText and the total then come from it.
	Cursor *Cursor
	// TotalItems asks for the number of all matches (StyleQuery: counted
	// on the first page, then carried by the cursors).
	TotalItems bool
}

// Resolved returns q with the filter, order and full-text filter it
// effectively applies: those of its cursor when it has one, the first
// order field only for StyleQuery, and the full-text term trimmed with its
// default fields filled in.
func (q EntitiesQuery) Resolved() EntitiesQuery {
	if q.Style == StyleQuery && q.Cursor != nil {
		q.Filter, q.Query, q.Order, q.FullText = q.Cursor.Filter, q.Cursor.Query, q.Cursor.OrderFields, q.Cursor.FullText
		q.Offset = 0
	}
	if q.Style == StyleQuery && len(q.Order) > 1 {
		q.Order = q.Order[:1]
	}
	q.FullText.Term = jsTrim(q.FullText.Term)
	if q.FullText.Term != "" && q.FullText.Fields == nil {
		q.FullText.Fields = []string{defaultTextField}
		if len(q.Order) > 0 {
			q.FullText.Fields = []string{q.Order[0].Key()}
		}
	}
	return q
}

// Count reports whether the store must count all matches for q.
func (q EntitiesQuery) Count() bool {
	if q.Style == StyleQuery && q.Cursor != nil {
		return false // the cursor carries the first page's count
	}
	return q.TotalItems
}

// ParseEntitiesParams reads GET /entities: filter, order, offset, limit
// and after (which, when given, supplies limit and offset). Fields are read
// by ParseFields.
func ParseEntitiesParams(v url.Values) (EntitiesQuery, error) {
	q := EntitiesQuery{Style: StyleList, Limit: NoLimit}
	var err error
	if q.Filter, err = ParseFilter(v); err != nil {
		return q, err
	}
	if q.Order, err = ParseOrder(v); err != nil {
		return q, err
	}
	offset, hasOffset, err := intParam(v, "offset")
	if err != nil {
		return q, err
	}
	limit, hasLimit, err := intParam(v, "limit")
	if err != nil {
		return q, err
	}
	after, hasAfter, err := stringParam(v, "after")
	if err != nil {
		return q, err
	}
	if hasOffset && offset < 0 {
		return q, invalid("Invalid offset, must be zero or greater")
	}
	if hasLimit && limit <= 0 {
		return q, invalid("Invalid limit, must be greater than zero")
	}
	if hasAfter && after == "" {
		return q, invalid("Invalid after, must not be empty")
	}
	q.Offset = offset
	if hasLimit {
		q.Limit = limit
	}
	if hasAfter {
		a, err := decodeAfter(after)
		if err != nil {
			return q, err
		}
		if a.Limit != nil {
			q.Limit = *a.Limit
		}
		if a.Offset != nil {
			q.Offset = *a.Offset
		}
	}
	return q, nil
}

// ParseQueryParams reads GET /entities/by-query: either cursor (then
// filter, orderField and the full-text parameters are ignored, as Backstage
// documents) or filter, orderField, fullTextFilterTerm, fullTextFilterFields
// and offset; and limit and totalItems. Fields are read by ParseFields. A
// first page counts TotalItems, as Backstage does by default, unless
// totalItems is "exclude" (catalog-client ≥ 1.16), when the count is 0.
func ParseQueryParams(v url.Values) (EntitiesQuery, error) {
	q := EntitiesQuery{Style: StyleQuery, Limit: DefaultQueryLimit, TotalItems: true}
	total, _, err := stringParam(v, "totalItems")
	if err != nil {
		return q, err
	}
	q.TotalItems = total != "exclude"
	limit, hasLimit, err := intParam(v, "limit")
	if err != nil {
		return q, err
	}
	if hasLimit {
		if limit < 0 {
			return q, invalid("Invalid limit, must be zero or greater")
		}
		q.Limit = limit
	}
	cursor, _, err := stringParam(v, "cursor")
	if err != nil {
		return q, err
	}
	if cursor != "" {
		if q.Cursor, err = DecodeCursor(cursor); err != nil {
			return q, err
		}
		return q, nil
	}
	offset, _, err := intParam(v, "offset")
	if err != nil {
		return q, err
	}
	if offset < 0 {
		return q, invalid("Invalid offset, must be zero or greater")
	}
	q.Offset = offset
	if q.Filter, err = ParseFilter(v); err != nil {
		return q, err
	}
	if q.Order, err = ParseOrderFields(v); err != nil {
		return q, err
	}
	term, _, err := stringParam(v, "fullTextFilterTerm")
	if err != nil {
		return q, err
	}
	if err := checkText("fullTextFilterTerm", term); err != nil {
		return q, err
	}
	q.FullText.Term = term
	for _, list := range v["fullTextFilterFields"] {
		if err := checkText("fullTextFilterFields", list); err != nil {
			return q, err
		}
		q.FullText.Fields = append(q.FullText.Fields, strings.Split(list, ",")...)
	}
	return q, nil
}
