package query_test

import (
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

func wantInvalid(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("%s: err = %v, want code invalid", what, err)
		return
	}
	if msg != "" && greenroom.ErrorMessage(err) != msg {
		t.Errorf("%s: message %q, want %q", what, greenroom.ErrorMessage(err), msg)
	}
}

func TestParseOrder(t *testing.T) {
	got, err := query.ParseOrder(url.Values{"order": {"asc:metadata.name", "desc:spec.a:b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []query.Order{{Field: "metadata.name"}, {Field: "spec.a:b", Desc: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOrder (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"metadata.name", "up:x", "asc:", "ASC:x", "asc:a\nb"} {
		_, err := query.ParseOrder(url.Values{"order": {bad}})
		wantInvalid(t, bad, err, `Invalid order parameter "`+bad+`", expected "<asc or desc>:<field name>"`)
	}

	got, err = query.ParseOrderFields(url.Values{"orderField": {"metadata.name,desc", "kind", "spec.x,asc,ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	want = []query.Order{{Field: "metadata.name", Desc: true}, {Field: "kind"}, {Field: "spec.x"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOrderFields (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"metadata.uid,diagonal", "x,", "x,DESC"} {
		_, err := query.ParseOrderFields(url.Values{"orderField": {bad}})
		wantInvalid(t, bad, err, "Invalid order field order, must be asc or desc")
	}
}

func TestParseEntitiesParams(t *testing.T) {
	q, err := query.ParseEntitiesParams(url.Values{"filter": {"kind=component"}, "order": {"desc:metadata.name"}, "limit": {"10"}, "offset": {"5"}})
	if err != nil {
		t.Fatal(err)
	}
	want := query.EntitiesQuery{Style: query.StyleList, Filter: filterPtr(query.In("kind", "component")),
		Order: []query.Order{{Field: "metadata.name", Desc: true}}, Limit: 10, Offset: 5}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseEntitiesParams (-want +got):\n%s", diff)
	}
	q, err = query.ParseEntitiesParams(url.Values{})
	if err != nil || q.Limit != query.NoLimit || q.Offset != 0 {
		t.Errorf("no params: %+v, %v; want no limit", q, err)
	}
	after := query.EncodeAfter(3, 6)
	if after != base64.StdEncoding.EncodeToString([]byte(`{"limit":3,"offset":6}`)) {
		t.Errorf("EncodeAfter = %s, not Backstage's encoding", after)
	}
	q, err = query.ParseEntitiesParams(url.Values{"after": {after}, "limit": {"50"}, "offset": {"1"}})
	if err != nil || q.Limit != 3 || q.Offset != 6 {
		t.Errorf("after: %+v, %v; want limit 3 offset 6 from the cursor", q, err)
	}
	bad := []struct {
		params url.Values
		msg    string
	}{
		{url.Values{"limit": {"0"}}, "Invalid limit, must be greater than zero"},
		{url.Values{"limit": {"-1"}}, "Invalid limit, must be greater than zero"},
		{url.Values{"limit": {"asd"}}, "Invalid limit, not an integer"},
		{url.Values{"limit": {"07"}}, "Invalid limit, not an integer"},
		{url.Values{"limit": {"1.5"}}, "Invalid limit, not an integer"},
		{url.Values{"limit": {"1", "2"}}, "Invalid limit, not an integer on string form"},
		{url.Values{"offset": {"-1"}}, "Invalid offset, must be zero or greater"},
		{url.Values{"after": {""}}, "Invalid after, must not be empty"},
		{url.Values{"after": {"a", "b"}}, "Invalid after, not a string"},
		{url.Values{"after": {"!!!"}}, "Malformed after cursor, could not be parsed"},
		{url.Values{"after": {base64.StdEncoding.EncodeToString([]byte(`{"limit":"x"}`))}}, "Malformed after cursor, limit was not an number"},
		{url.Values{"after": {base64.StdEncoding.EncodeToString([]byte(`{"offset":1.5}`))}}, "Malformed after cursor, offset was not a number"},
		{url.Values{"filter": {"=x"}}, ""},
		{url.Values{"order": {"x"}}, ""},
	}
	for _, b := range bad {
		_, err := query.ParseEntitiesParams(b.params)
		wantInvalid(t, b.params.Encode(), err, b.msg)
	}
}

func TestParseQueryParams(t *testing.T) {
	q, err := query.ParseQueryParams(url.Values{
		"limit": {"3"}, "filter": {"a=1", "b=2"}, "orderField": {"metadata.name,desc"},
		"fullTextFilterTerm": {"query"}, "fullTextFilterFields": {"metadata.name,metadata.namespace"}, "offset": {"2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := query.EntitiesQuery{
		Style: query.StyleQuery, Limit: 3, Offset: 2, TotalItems: true,
		Filter:   filterPtr(query.Any(query.In("a", "1"), query.In("b", "2"))),
		Order:    []query.Order{{Field: "metadata.name", Desc: true}},
		FullText: query.FullTextFilter{Term: "query", Fields: []string{"metadata.name", "metadata.namespace"}},
	}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseQueryParams (-want +got):\n%s", diff)
	}
	q, err = query.ParseQueryParams(url.Values{})
	if err != nil || q.Limit != query.DefaultQueryLimit || q.Filter != nil || q.Order != nil {
		t.Errorf("no params: %+v, %v", q, err)
	}

	c := &query.Cursor{OrderFields: []query.Order{{Field: "metadata.name"}}, OrderFieldValues: []string{"a", "k:d/a"},
		FirstSortFieldValues: []string{"a", "k:d/a"}, TotalItems: 7, Filter: filterPtr(query.In("kind", "x"))}
	q, err = query.ParseQueryParams(url.Values{"cursor": {c.Encode()}, "limit": {"3"}, "filter": {"ignored=1"}, "orderField": {"ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(query.EntitiesQuery{Style: query.StyleQuery, Limit: 3, Cursor: c, TotalItems: true}, q); diff != "" {
		t.Errorf("cursor request (-want +got):\n%s", diff)
	}
	if q.Count() {
		t.Error("a cursor request must not count again")
	}
	r := q.Resolved()
	if diff := cmp.Diff(c.Filter, r.Filter); diff != "" || len(r.Order) != 1 || r.Order[0].Field != "metadata.name" {
		t.Errorf("Resolved takes the cursor's filter and order: %+v", r)
	}

	for _, bad := range []url.Values{
		{"limit": {"asd"}}, {"limit": {"-1"}}, {"orderField": {"metadata.uid,diagonal"}}, {"fullTextFilterTerm": {"a", "b"}},
		{"cursor": {"a", "b"}}, {"cursor": {"bm90IGpzb24="}}, {"offset": {"-2"}}, {"filter": {"="}},
	} {
		_, err := query.ParseQueryParams(bad)
		wantInvalid(t, bad.Encode(), err, "")
	}
}

func TestDecodeCursor(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	good := &query.Cursor{OrderFields: []query.Order{}, OrderFieldValues: []string{"c:d/x"}, FullText: query.FullTextFilter{Term: "x"}}
	got, err := query.DecodeCursor(good.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(good, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	urlSafe := base64.RawURLEncoding.EncodeToString([]byte(`{"orderFields":[],"orderFieldValues":["a"],"isPrevious":false,"fullTextFilter":{"term":""},"totalItems":0}`))
	if _, err := query.DecodeCursor(urlSafe); err != nil {
		t.Errorf("URL-safe unpadded base64: %v", err)
	}
	for _, bad := range []string{
		"", "%%%", enc("[]"), enc("{"), enc(`{"orderFieldValues":["a"],"bogus":1}`),
		enc(`{"orderFields":[],"orderFieldValues":["a","b"]}`),
		enc(`{"orderFields":[{"field":"x"}],"orderFieldValues":["a"]}`),
		enc(`{"orderFields":[{"field":"x","order":"sideways"}],"orderFieldValues":["a","b"]}`),
		enc(`{"orderFields":[],"orderFieldValues":["a"],"totalItems":-1}`),
		enc(`{"orderFields":[],"orderFieldValues":["a"],"filter":{"key":1}}`),
		enc(`{"orderFields":[],"orderFieldValues":["\u0000"]}`),
		enc(`{"orderFields":[],"orderFieldValues":["a"],"filter":` + deepFilter(40) + `}`),
	} {
		_, err := query.DecodeCursor(bad)
		wantInvalid(t, bad, err, "Malformed cursor, could not be parsed")
	}
}

func deepFilter(depth int) string {
	s := `{"key":"a"}`
	for range depth {
		s = `{"not":` + s + `}`
	}
	return s
}

// pos builds positions named by ref, ordered by value = ref.
func pos(refs ...string) []query.Position {
	out := make([]query.Position, len(refs))
	for i, r := range refs {
		out[i] = query.Position{Value: r, Key: r}
	}
	return out
}

func TestNewPage(t *testing.T) {
	name := []query.Order{{Field: "metadata.name"}}
	first := query.EntitiesQuery{Style: query.StyleQuery, Order: name, Limit: 2, Filter: filterPtr(query.In("kind", "x"))}
	p := query.NewPage(first, []string{"a", "b", "c"}, pos("a", "b", "c"), 9)
	if diff := cmp.Diff([]string{"a", "b"}, p.Items); diff != "" || p.TotalItems != 9 || p.PrevCursor != nil || p.NextCursor == nil {
		t.Fatalf("first page: %+v (items diff %s)", p, diff)
	}
	next := p.NextCursor
	wantNext := &query.Cursor{Filter: first.Filter, OrderFields: name, OrderFieldValues: []string{"b", "b"},
		FirstSortFieldValues: []string{"a", "a"}, TotalItems: 9}
	if diff := cmp.Diff(wantNext, next); diff != "" {
		t.Errorf("next cursor (-want +got):\n%s", diff)
	}

	second := query.EntitiesQuery{Style: query.StyleQuery, Limit: 2, Cursor: next}.Resolved()
	if second.FetchLimit() != 3 || second.Backward() {
		t.Errorf("forward page fetches limit+1: %d", second.FetchLimit())
	}
	p = query.NewPage(second, []string{"c"}, pos("c"), 0)
	if p.NextCursor != nil || p.PrevCursor == nil || p.TotalItems != 9 {
		t.Fatalf("last page: %+v", p)
	}
	if diff := cmp.Diff([]string{"c", "c"}, p.PrevCursor.OrderFieldValues); diff != "" || !p.PrevCursor.IsPrevious {
		t.Errorf("prev cursor: %+v", p.PrevCursor)
	}

	back := query.EntitiesQuery{Style: query.StyleQuery, Limit: 2, Cursor: p.PrevCursor}.Resolved()
	if back.FetchLimit() != 2 || !back.Backward() {
		t.Errorf("backward page fetches exactly limit: %d", back.FetchLimit())
	}
	// The store fetches backwards: nearest first.
	p = query.NewPage(back, []string{"b", "a"}, pos("b", "a"), 0)
	if diff := cmp.Diff([]string{"a", "b"}, p.Items); diff != "" {
		t.Errorf("backward page items (-want +got):\n%s", diff)
	}
	if p.PrevCursor != nil || p.NextCursor == nil {
		t.Errorf("back at the start: prev %v, next %v", p.PrevCursor, p.NextCursor)
	}

	zero := query.NewPage(query.EntitiesQuery{Style: query.StyleQuery, Limit: 0}, []string(nil), nil, 4)
	if zero.NextCursor != nil || zero.TotalItems != 4 || len(zero.Items) != 0 {
		t.Errorf("limit 0: %+v", zero)
	}

	list := query.EntitiesQuery{Style: query.StyleList, Limit: 2, Offset: 4}
	lp := query.NewPage(list, []string{"a", "b", "c"}, nil, 0)
	if len(lp.Items) != 2 || lp.NextAfter != query.EncodeAfter(2, 6) {
		t.Errorf("list page: %+v", lp)
	}
	if lp := query.NewPage(list, []string{"a"}, nil, 0); lp.NextAfter != "" {
		t.Errorf("last list page has after %q", lp.NextAfter)
	}
	if (query.EntitiesQuery{Style: query.StyleList, Limit: query.NoLimit}).FetchLimit() != -1 {
		t.Error("no limit fetches all")
	}
}

func TestResolvedFullText(t *testing.T) {
	q := query.EntitiesQuery{Style: query.StyleQuery, FullText: query.FullTextFilter{Term: "  Pay "}}.Resolved()
	if diff := cmp.Diff(query.FullTextFilter{Term: "Pay", Fields: []string{"metadata.uid"}}, q.FullText); diff != "" {
		t.Errorf("default field without order (-want +got):\n%s", diff)
	}
	q = query.EntitiesQuery{Style: query.StyleQuery, Order: []query.Order{{Field: "Metadata.Name"}, {Field: "kind"}},
		FullText: query.FullTextFilter{Term: "pay"}}.Resolved()
	if diff := cmp.Diff([]string{"metadata.name"}, q.FullText.Fields); diff != "" || len(q.Order) != 1 {
		t.Errorf("default field is the order field: %+v", q)
	}
}

func TestParseFacetsParams(t *testing.T) {
	q, err := query.ParseFacetsParams(url.Values{"facet": {"kind", "", "spec.type"}, "filter": {"kind=component"}})
	if err != nil {
		t.Fatal(err)
	}
	want := query.FacetsQuery{Facets: []string{"kind", "spec.type"}, Filter: filterPtr(query.In("kind", "component"))}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseFacetsParams (-want +got):\n%s", diff)
	}
	_, err = query.ParseFacetsParams(url.Values{"facet": {""}})
	wantInvalid(t, "no facet", err, "Missing facet parameter")
}
