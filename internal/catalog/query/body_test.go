package query_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
)

// The bodies are what catalog-client 1.16.4's queryEntitiesByPredicate and
// getEntityFacetsByPredicate send.
func TestParseQueryBody(t *testing.T) {
	q, fields, err := query.ParseQueryBody([]byte(`{
		"query": {"$all": [{"kind": "component"}, {"spec.type": {"$in": ["service", "website"]}}]},
		"limit": 5, "offset": 2.0,
		"orderBy": [{"field": "metadata.name", "order": "desc"}, {"field": "metadata.title", "order": "asc"}],
		"fullTextFilter": {"term": "pay", "fields": ["metadata.name"]},
		"fields": ["kind,metadata.name", "spec"],
		"totalItems": "exclude",
		"somethingElse": 1
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := query.EntitiesQuery{
		Style: query.StyleQuery, Limit: 5, Offset: 2,
		Filter:   filterPtr(query.All(query.In("kind", "component"), query.In("spec.type", "service", "website"))),
		Query:    json.RawMessage(`{"$all":[{"kind":"component"},{"spec.type":{"$in":["service","website"]}}]}`),
		Order:    []query.Order{{Field: "metadata.name", Desc: true}, {Field: "metadata.title"}},
		FullText: query.FullTextFilter{Term: "pay", Fields: []string{"metadata.name"}},
	}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseQueryBody (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(query.Fields{"kind", "metadata.name", "spec"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}

	q, fields, err = query.ParseQueryBody([]byte(`{}`))
	if err != nil || q.Limit != query.DefaultQueryLimit || !q.TotalItems || q.Filter != nil || q.Query != nil || fields != nil {
		t.Errorf("empty body: %+v, %v, %v", q, fields, err)
	}
	for body, want := range map[string]bool{`{"totalItems":"include"}`: true, `{"totalItems":false}`: false, `{"totalItems":true}`: true} {
		if q, _, err := query.ParseQueryBody([]byte(body)); err != nil || q.TotalItems != want {
			t.Errorf("%s: TotalItems %v, %v", body, q.TotalItems, err)
		}
	}

	for _, tt := range []struct{ body, want string }{
		{`[]`, "Malformed request body: expected a JSON object"},
		{`null`, "Malformed request body: expected a JSON object"},
		{`{"limit":-1}`, "limit: must be a whole number from 0 to 2147483647"},
		{`{"limit":1.5}`, "limit: must be a whole number from 0 to 2147483647"},
		{`{"limit":"20"}`, "limit: must be a whole number from 0 to 2147483647"},
		{`{"offset":1e10}`, "offset: must be a whole number from 0 to 2147483647"},
		{`{"orderBy":{"field":"a"}}`, "orderBy: must be an array of {field, order} objects with string members"},
		{`{"orderBy":[{"field":"a","order":"up"}]}`, "orderBy[0].order: must be asc or desc"},
		{`{"orderBy":[{"field":"a","order":"asc"},{"order":"asc"}]}`, "orderBy[1].field: must be a string"},
		{`{"orderBy":[{"field":"a"}]}`, "orderBy[0].order: must be asc or desc"},
		{`{"fullTextFilter":"pay"}`, "fullTextFilter: must be an object with a string term and an array of string fields"},
		{`{"fields":"kind"}`, "fields: must be an array of strings"},
		{`{"fields":["metadata.tags[0]"]}`, `Invalid field "metadata.tags[0]", array type fields are not supported`},
		{`{"totalItems":"maybe"}`, `totalItems: must be "include" or "exclude"`},
		{`{"cursor":""}`, "Cursor cannot be empty"},
		{`{"cursor":null}`, "Cursor cannot be empty"},
		{`{"cursor":7}`, "cursor: must be a string"},
		{`{"cursor":"bm90IGpzb24="}`, "Malformed cursor, could not be parsed"},
		{`{"query":{"kind":{"$eq":1}}}`, "query.kind: unknown operator $eq (expected $exists, $in, $contains or $hasPrefix)"},
		{`{"query":null}`, "query: must be an object, got null"},
	} {
		_, _, err := query.ParseQueryBody([]byte(tt.body))
		wantInvalid(t, tt.body, err, tt.want)
	}
}

// A walk begun with a predicate carries it in its cursors as "query" (the
// key catalog-client looks for to keep posting), not as a filter, and gets
// the same filter back from them.
func TestPredicateCursor(t *testing.T) {
	first, _, err := query.ParseQueryBody([]byte(`{"query":{"metadata.name":{"$hasPrefix":"pay"}},"orderBy":[{"field":"metadata.name","order":"asc"}],"limit":1}`))
	if err != nil {
		t.Fatal(err)
	}
	p := query.NewPage(first.Resolved(), []string{"a", "b"}, pos("a", "b"), 2)
	if p.NextCursor == nil {
		t.Fatal("no next cursor")
	}
	raw, err := base64.StdEncoding.DecodeString(p.Info().NextCursor)
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		t.Fatal(err)
	}
	if _, ok := members["filter"]; ok || string(members["query"]) != `{"metadata.name":{"$hasPrefix":"pay"}}` {
		t.Errorf("cursor members %s: want the query and no filter", raw)
	}
	for _, next := range []func() (query.EntitiesQuery, error){
		func() (query.EntitiesQuery, error) {
			q, _, err := query.ParseQueryBody([]byte(`{"cursor":"` + p.Info().NextCursor + `","limit":1}`))
			return q, err
		},
		func() (query.EntitiesQuery, error) { // the GET form takes it too, as Backstage's does
			return query.ParseQueryParams(url.Values{"cursor": {p.Info().NextCursor}})
		},
	} {
		q, err := next()
		if err != nil {
			t.Fatal(err)
		}
		r := q.Resolved()
		if diff := cmp.Diff(first.Filter, r.Filter); diff != "" {
			t.Errorf("filter from the cursor (-want +got):\n%s", diff)
		}
		if string(r.Query) != string(first.Query) {
			t.Errorf("query from the cursor %s, want %s", r.Query, first.Query)
		}
		// The next page's cursors keep the query.
		if c := query.NewPage(r, []string{"b"}, pos("b"), 0).PrevCursor; c == nil || string(c.Query) != string(first.Query) {
			t.Errorf("prev cursor lost the query: %+v", c)
		}
	}

	bad := query.Cursor{Query: json.RawMessage(`{"$foo":1}`), OrderFields: []query.Order{}, OrderFieldValues: []string{"1"}}
	_, err = query.DecodeCursor(bad.Encode())
	wantInvalid(t, "cursor with an invalid query", err, "Malformed cursor, could not be parsed")
	both := base64.StdEncoding.EncodeToString([]byte(`{"query":{"kind":"x"},"filter":{"key":"kind"},"orderFields":[],"orderFieldValues":["1"]}`))
	_, err = query.DecodeCursor(both)
	wantInvalid(t, "cursor with query and filter", err, "Malformed cursor, could not be parsed")
}

func TestParseQueryParamsTotalItems(t *testing.T) {
	for v, want := range map[string]bool{"exclude": false, "include": true, "true": true} {
		q, err := query.ParseQueryParams(url.Values{"totalItems": {v}})
		if err != nil || q.TotalItems != want {
			t.Errorf("totalItems=%s: %v, %v; want %v", v, q.TotalItems, err, want)
		}
	}
}

func TestParseFacetsBody(t *testing.T) {
	q, err := query.ParseFacetsBody([]byte(`{"facets":["kind","","spec.type"],"query":{"kind":{"$in":["Component","API"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := query.FacetsQuery{Facets: []string{"kind", "spec.type"}, Filter: filterPtr(query.In("kind", "Component", "API"))}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseFacetsBody (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ body, want string }{
		{`{}`, "Missing or empty facets parameter"},
		{`{"facets":[]}`, "Missing or empty facets parameter"},
		{`{"facets":[""]}`, "Missing or empty facets parameter"},
		{`{"facets":"kind"}`, "facets: must be an array of strings"},
		{`{"facets":["a\u0000"]}`, `Invalid facets[0], "a\x00" is not valid text`},
		{`{"facets":["kind"],"query":{"$not":1}}`, "query.$not: must be an object, got a number"},
		{`"x"`, "Malformed request body: expected a JSON object"},
	} {
		_, err := query.ParseFacetsBody([]byte(tt.body))
		wantInvalid(t, tt.body, err, tt.want)
	}
}
