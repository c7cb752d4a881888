package query_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// The accepted forms follow @backstage/filter-predicates' schema and the
// catalog backend's translation (applyPredicateEntityFilterToQuery and its
// tests); $contains is Greenroom's partial support, see predicate.go.
func TestParsePredicate(t *testing.T) {
	tests := []struct {
		name, in string
		want     query.Filter
	}{
		{"field value", `{"kind":"component"}`, query.In("kind", "component")},
		{"empty expression holds", `{}`, query.All()},
		{"several fields are all required", `{"spec.type":"service","kind":"Component"}`,
			query.All(query.In("kind", "Component"), query.In("spec.type", "service"))},
		{"$all with $in", `{"$all":[{"kind":"component"},{"spec.type":{"$in":["service","website"]}}]}`,
			query.All(query.In("kind", "component"), query.In("spec.type", "service", "website"))},
		{"empty $all", `{"$all":[]}`, query.All()},
		{"empty $any", `{"$any":[]}`, query.Any()},
		{"$not", `{"$not":{"spec.lifecycle":"experimental"}}`, query.Not(query.In("spec.lifecycle", "experimental"))},
		{"nested", `{"$all":[{"kind":"component"},{"$any":[{"spec.type":"service"},{"spec.type":"website"}]},{"$not":{"spec.lifecycle":"experimental"}}]}`,
			query.All(query.In("kind", "component"), query.Any(query.In("spec.type", "service"), query.In("spec.type", "website")),
				query.Not(query.In("spec.lifecycle", "experimental")))},
		{"$exists true", `{"spec.owner":{"$exists":true}}`, query.Exists("spec.owner")},
		{"$exists false", `{"spec.owner":{"$exists":false}}`, query.Not(query.Exists("spec.owner"))},
		{"empty $in matches nothing", `{"spec.type":{"$in":[]}}`, query.In("spec.type")},
		{"$hasPrefix", `{"metadata.name":{"$hasPrefix":"Service"}}`, query.Prefix("metadata.name", "Service")},
		{"numbers and booleans as JavaScript prints them", `{"a":1.50,"b":1e21,"c":true,"d":-0,"e":7}`,
			query.All(query.In("a", "1.5"), query.In("b", "1e+21"), query.In("c", "true"), query.In("d", "0"), query.In("e", "7"))},
		{"$in of mixed primitives", `{"k":{"$in":["a",2,false]}}`, query.In("k", "a", "2", "false")},
		{"the first valid value operator counts", `{"k":{"$exists":"yes","$in":["a"],"$hasPrefix":"b"}}`, query.In("k", "a")},
		{"other operators are stripped", `{"k":{"$exists":true,"$in":["a"]}}`, query.Exists("k")},
		{"annotation key with dots and slashes", `{"metadata.annotations.backstage.io/techdocs-ref":{"$exists":true}}`,
			query.Exists("metadata.annotations.backstage.io/techdocs-ref")},
		{"empty key", `{"":"x"}`, query.In("", "x")},
		{"line separator as the first character", "{\"\u2028a\":\"x\"}", query.In("\u2028a", "x")},
		{"$contains a primitive", `{"metadata.tags":{"$contains":"java"}}`, query.In("metadata.tags", "java")},
		{"$contains $any", `{"metadata.tags":{"$contains":{"$any":["java","go"]}}}`,
			query.Any(query.In("metadata.tags", "java"), query.In("metadata.tags", "go"))},
		{"$contains one field", `{"spec.ports":{"$contains":{"port":80}}}`, query.In("spec.ports.port", "80")},
		{"$contains one field with an operator", `{"metadata.links":{"$contains":{"url":{"$hasPrefix":"https://"}}}}`,
			query.Prefix("metadata.links.url", "https://")},
		{"$contains a relation", `{"relations":{"$contains":{"type":"ownedBy","targetRef":"group:default/team-a"}}}`,
			query.In("relations.ownedBy", "group:default/team-a")},
		{"$contains a relation type", `{"relations":{"$contains":{"type":"memberOf"}}}`, query.Exists("relations.memberOf")},
		{"$contains a relation with $in", `{"relations":{"$contains":{"type":"ownedBy","targetRef":{"$in":["group:default/a","group:default/b"]}}}}`,
			query.In("relations.ownedBy", "group:default/a", "group:default/b")},
		{"invalid $contains falls through to $hasPrefix", `{"k":{"$contains":null,"$hasPrefix":"x"}}`, query.Prefix("k", "x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := query.ParsePredicate([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParsePredicate(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePredicate(%s) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParsePredicateErrors(t *testing.T) {
	deep := strings.Repeat(`{"$not":`, 40) + `{"kind":"x"}` + strings.Repeat(`}`, 40)
	many := `{"k":{"$in":[` + strings.TrimSuffix(strings.Repeat(`"v",`, 2500), ",") + `]}}`
	tests := []struct{ in, want string }{
		{`[]`, "query: must be an object, got an array"},
		{`"kind"`, "query: must be an object, got a string"},
		{`null`, "query: must be an object, got null"},
		{`{"kind":"x"`, "query: not valid JSON: unexpected EOF"},
		{`{} {}`, "query: not valid JSON: text after the value"},
		{`{}}`, "query: not valid JSON: text after the value"},
		{`{"$all":[{"kind":"a"},{"kind":"b"},{"kind":null}]}`,
			"query.$all[2].kind: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; got null"},
		{`{"$all":{}}`, "query.$all: must be an array of predicates, got an object"},
		{`{"$any":[1]}`, "query.$any[0]: must be an object, got a number"},
		{`{"$not":[]}`, "query.$not: must be an object, got an array"},
		{`{"$all":[],"kind":"x"}`, "query: $all must be the only key of its object; wrap it and the other conditions in $all"},
		{`{"$foo":1}`, "query.$foo: unknown operator $foo; an object is either one of $all, $any and $not, or field conditions"},
		{`{"kind":"x","$foo":1}`, "query.$foo: unknown operator $foo; an object is either one of $all, $any and $not, or field conditions"},
		{`{"kind":{"$eq":"x"}}`, "query.kind: unknown operator $eq (expected $exists, $in, $contains or $hasPrefix)"},
		{`{"kind":[]}`, "query.kind: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; got an array"},
		{`{"kind":{}}`, "query.kind: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; got an empty object"},
		{`{"spec":{"type":"service"}}`,
			"query.spec: must be a string, number, boolean, or an object with $exists, $in, $contains or $hasPrefix; a nested field is named by its dotted path (spec.type)"},
		{`{"k":{"$in":"x"}}`, "query.k.$in: must be an array of strings, numbers or booleans, got a string"},
		{`{"$all":[{"k":{"$in":["a",null]}}]}`, "query.$all[0].k.$in[1]: must be a string, number or boolean, got null"},
		{`{"k":{"$exists":1}}`, "query.k.$exists: must be true or false, got a number"},
		{`{"k":{"$hasPrefix":1}}`, "query.k.$hasPrefix: must be a string, got a number"},
		{"{\"a\\nb\":1}", "query.a\nb: a field name must not contain line breaks"},
		{"{\"\\na\":1}", "query.\na: a field name must not contain line breaks"},
		{"{\"a\\u2029\":1}", "query.a\u2029: a field name must not contain line breaks"},
		{`{"k":"a\u0000"}`, "query.k: must not contain NUL"},
		{`{"metadata.tags":{"$contains":{"$not":"java"}}}`,
			"query.metadata.tags.$contains.$not: $not inside $contains is not supported: the index does not record which array item matched"},
		{`{"metadata.tags":{"$contains":{"$all":["java"]}}}`,
			"query.metadata.tags.$contains.$all: $all inside $contains is not supported: the index does not record which array item matched"},
		{`{"spec.ports":{"$contains":{"port":80,"protocol":"tcp"}}}`,
			"query.spec.ports.$contains: an object inside $contains may name one field (relations: type and targetRef): the index does not record which array item matched"},
		{`{"spec.ports":{"$contains":{"port":{"$exists":false}}}}`,
			"query.spec.ports.$contains.port.$exists: false inside $contains is not supported: the index does not record which array item lacks the field"},
		{`{"relations":{"$contains":{"targetRef":"group:default/a"}}}`, "query.relations.$contains.type: a relation inside $contains needs its type as a string"},
		{`{"relations":{"$contains":{"type":"ownedBy","target":"x"}}}`, "query.relations.$contains.target: a relation inside $contains is matched by type and targetRef only"},
		{`{"k":{"$contains":[1]}}`, "query.k.$contains: must be a string, number, boolean or an object, got an array"},
		{deep, "query" + strings.Repeat(".$not", 33) + ": the query nests deeper than 32 levels"},
		{many, "query.k.$in: the query has more than 2000 conditions and values"},
	}
	for _, tt := range tests {
		_, err := query.ParsePredicate([]byte(tt.in))
		if greenroom.ErrorCode(err) != greenroom.CodeInvalid || greenroom.ErrorMessage(err) != tt.want {
			t.Errorf("ParsePredicate(%.80s)\n err  %v\n want invalid %q", tt.in, err, tt.want)
		}
	}
	if _, err := query.ParsePredicate([]byte(`{"k":"` + strings.Repeat("x", 70000) + `"}`)); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("an over-long predicate: err = %v, want invalid", err)
	}
}

// A prefix condition matches values, never null rows, case-insensitively.
func TestPrefixMatch(t *testing.T) {
	rows := []query.SearchRow{{Key: "metadata.name", Value: "service-a", Original: "Service-A"}, {Key: "spec.x", Null: true}}
	for _, tt := range []struct {
		f    query.Filter
		want bool
	}{
		{query.Prefix("metadata.name", "SERVICE"), true},
		{query.Prefix("Metadata.Name", "service-a"), true},
		{query.Prefix("metadata.name", ""), true},
		{query.Prefix("metadata.name", "service-ab"), false},
		{query.Prefix("metadata.name", "ervice"), false},
		{query.Prefix("spec.x", ""), false},
		{query.Prefix("spec.y", ""), false},
	} {
		if got := tt.f.Match(rows); got != tt.want {
			t.Errorf("%+v.Match = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestPrefixFilterJSON(t *testing.T) {
	f := query.All(query.Prefix("metadata.name", "pay"), query.Not(query.Exists("spec.owner")))
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"allOf":[{"key":"metadata.name","hasPrefix":"pay"},{"not":{"key":"spec.owner"}}]}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back query.Filter
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"key":"a","hasPrefix":1}`, `{"key":"a","hasPrefix":null}`, `{"key":"a","hasPrefix":"x","values":[]}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}
