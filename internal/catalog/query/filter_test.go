package query_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

func filterPtr(f query.Filter) *query.Filter { return &f }

// The parse cases follow Backstage's parseEntityFilterParams.test.ts, with
// the newer grammar in which "a" alone tests existence and "a=" the empty
// value.
func TestParseFilter(t *testing.T) {
	tests := []struct {
		name    string
		filters []string
		want    *query.Filter
	}{
		{"no filter", nil, nil},
		{"blank filter", []string{" , "}, nil},
		{"single string", []string{"a=1"}, filterPtr(query.In("a", "1"))},
		{"repeated params are alternatives", []string{"a=1", "b=2"}, filterPtr(query.Any(query.In("a", "1"), query.In("b", "2")))},
		{"merges values within each filter", []string{"a=1", "b=2,b=3,c=4"}, filterPtr(query.Any(
			query.In("a", "1"),
			query.All(query.In("b", "2", "3"), query.In("c", "4")),
		))},
		{"key alone is existence", []string{"kind=component,spec.type"}, filterPtr(query.All(query.In("kind", "component"), query.Exists("spec.type")))},
		{"blank alternatives are dropped", []string{"", "a=1"}, filterPtr(query.In("a", "1"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := query.ParseFilter(url.Values{"filter": tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFilter(%q) (-want +got):\n%s", tt.filters, diff)
			}
		})
	}
}

func TestParseFilterString(t *testing.T) {
	tests := []struct {
		in   string
		want []query.Filter
		err  string
	}{
		{"", nil, ""},
		{"a=1,b=2,a=3", []query.Filter{query.In("a", "1", "3"), query.In("b", "2")}, ""},
		{" a = 1 , b = 2 , a = 3 ", []query.Filter{query.In("a", "1", "3"), query.In("b", "2")}, ""},
		{"x=2,a", []query.Filter{query.In("x", "2"), query.Exists("a")}, ""},
		{"x=2,a=", []query.Filter{query.In("x", "2"), query.In("a", "")}, ""},
		{"a,a=1", []query.Filter{query.In("a", "1")}, ""},
		{"a=b=c", []query.Filter{query.In("a", "b=c")}, ""},
		{"Kind=x,kind=y", []query.Filter{query.In("Kind", "x"), query.In("kind", "y")}, ""},
		{"metadata.annotations.backstage.io/orphan=true", []query.Filter{query.In("metadata.annotations.backstage.io/orphan", "true")}, ""},
		{"\ufeffa=1\u00a0", []query.Filter{query.In("a", "1")}, ""},
		{"x=2,=a", nil, "Invalid filter, '=a' is not a valid statement (expected a string on the form a=b or a= or a)"},
		{"x=2,=", nil, "Invalid filter, '=' is not a valid statement (expected a string on the form a=b or a= or a)"},
		{"x=2, = y", nil, "Invalid filter, '= y' is not a valid statement (expected a string on the form a=b or a= or a)"},
		{"a=\x00", nil, `Invalid filter, "a=\x00" is not valid text`},
		{"a=\xff", nil, `Invalid filter, "a=\xff" is not valid text`},
	}
	for _, tt := range tests {
		got, err := query.ParseFilterString(tt.in)
		if tt.err != "" {
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid || greenroom.ErrorMessage(err) != tt.err {
				t.Errorf("ParseFilterString(%q) err = %v, want invalid %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFilterString(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseFilterString(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	entity := func(s string) []query.SearchRow {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		rows, err := query.BuildSearch(m)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	svc := entity(`{"kind":"Component","metadata":{"name":"Pay","namespace":"default","tags":["java"],"annotations":{"backstage.io/orphan":"true"}},
		"spec":{"type":"service","owner":"group:default/Team-A","x":null},"relations":[{"type":"ownedBy","targetRef":"group:default/team-a"}]}`)
	tests := []struct {
		name   string
		filter query.Filter
		want   bool
	}{
		{"value", query.In("kind", "component"), true},
		{"key and value case-insensitive", query.In("KIND", "COMPONENT"), true},
		{"other value", query.In("kind", "api"), false},
		{"any of several values", query.In("spec.type", "website", "service"), true},
		{"existence", query.Exists("spec.owner"), true},
		{"existence of a null value", query.Exists("spec.x"), true},
		{"null is no value", query.In("spec.x", "null"), false},
		{"missing key", query.Exists("spec.system"), false},
		{"empty values match nothing", query.In("kind"), false},
		{"array item key", query.In("metadata.tags.java", "true"), true},
		{"array item value", query.In("metadata.tags", "JAVA"), true},
		{"relation", query.In("relations.ownedby", "group:default/team-a"), true},
		{"annotation with dots", query.In("metadata.annotations.backstage.io/orphan", "true"), true},
		{"namespace default", query.In("metadata.namespace", "default"), true},
		{"all", query.All(query.In("kind", "component"), query.In("spec.type", "service")), true},
		{"all, one fails", query.All(query.In("kind", "component"), query.In("spec.type", "website")), false},
		{"any", query.Any(query.In("kind", "api"), query.In("spec.type", "service")), true},
		{"any, none holds", query.Any(query.In("kind", "api"), query.In("spec.type", "website")), false},
		{"not", query.Not(query.In("kind", "api")), true},
		{"not of a match", query.Not(query.In("kind", "component")), false},
		{"empty all holds", query.All(), true},
		{"empty any fails", query.Any(), false},
	}
	for _, tt := range tests {
		if got := tt.filter.Match(svc); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFilterJSON(t *testing.T) {
	f := query.Any(query.All(query.In("kind", "component"), query.Exists("spec.type")), query.Not(query.In("a")))
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"anyOf":[{"allOf":[{"key":"kind","values":["component"]},{"key":"spec.type"}]},{"not":{"key":"a","values":[]}}]}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want Backstage's form %s", b, want)
	}
	var back query.Filter
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`null`, `[]`, `{}`, `{"key":"a","allOf":[]}`, `{"key":null}`, `{"key":1}`,
		`{"key":"a","values":"x"}`, `{"not":null}`, `{"allOf":[null]}`, `{"anyOf":{}}`} {
		var f query.Filter
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("Unmarshal(%s) = %+v, want an error", bad, f)
		}
	}
}
