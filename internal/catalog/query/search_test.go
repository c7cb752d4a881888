package query

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The cases below are Backstage's buildEntitySearch.test.ts, rewritten as
// tables.

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func row(key, value string) SearchRow {
	return SearchRow{Key: key, Value: strings.ToLower(value), Original: value}
}

func nullRow(key string) SearchRow { return SearchRow{Key: key, Null: true} }

func TestTraverse(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []kv
		// sorted: Backstage lists these in document order, which a Go map
		// does not keep; compare as sets.
		sorted bool
	}{
		{"expands lists of strings to several rows", `{"a":["b","c","d"]}`, []kv{
			{"a", "b"}, {"a.b", true}, {"a", "c"}, {"a.c", true}, {"a", "d"}, {"a.d", true},
		}, false},
		{"expands objects", `{"a":{"b":{"c":"d"},"e":"f"}}`, []kv{{"a.b.c", "d"}, {"a.e", "f"}}, false},
		{"expands list of objects", `{"root":{"list":[{"a":1},{"a":2}]}}`, []kv{{"root.list.a", 1.0}, {"root.list.a", 2.0}}, false},
		{"skips over special keys", `{"status":{"x":1},"attachments":[{"y":2}],"relations":[{"z":3}],"a":"a",
			"metadata":{"b":"b","name":"name","namespace":"namespace","uid":"uid","etag":"etag","c":"c"},"d":"d"}`,
			[]kv{{"a", "a"}, {"metadata.b", "b"}, {"metadata.c", "c"}, {"d", "d"}}, true},
		{"array indexes before other keys", `{"b":1,"10":2,"2":3,"a":4}`, []kv{{"2", 3.0}, {"10", 2.0}, {"a", 4.0}, {"b", 1.0}}, false},
		{"repeated string items add one true row per key", `{"t":["Java","java","x","x"]}`, []kv{
			{"t", "Java"}, {"t.Java", true}, {"t", "java"}, {"t", "x"}, {"t.x", true}, {"t", "x"},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := walker{seen: map[string]bool{}}
			w.walk("", obj(t, tt.input))
			got, want := w.out, tt.want
			if tt.sorted {
				byKey := func(a, b kv) int { return strings.Compare(a.key, b.key) }
				got, want = slices.Clone(got), slices.Clone(want)
				slices.SortFunc(got, byKey)
				slices.SortFunc(want, byKey)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(kv{})); diff != "" {
				t.Errorf("traverse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapToRows(t *testing.T) {
	long := strings.Repeat("a", 10000)
	tests := []struct {
		name string
		in   []kv
		want []SearchRow
	}{
		{"converts base types to strings or null", []kv{
			{"a", true}, {"b", false}, {"c", 7.0}, {"d", "string"}, {"e", nil},
		}, []SearchRow{row("a", "true"), row("b", "false"), row("c", "7"), row("d", "string"), nullRow("e")}},
		{"emits lowercase keys and values and keeps the original value", []kv{{"fOo", "BaR"}},
			[]SearchRow{{Key: "foo", Value: "bar", Original: "BaR"}}},
		{"skips very large keys", []kv{{long, "foo"}}, []SearchRow{}},
		{"replaces very large values with null", []kv{{"foo", long}}, []SearchRow{nullRow("foo")}},
		{"limits count UTF-16 units", []kv{{"k", strings.Repeat("😀", 100)}, {"l", strings.Repeat("😀", 101)}},
			[]SearchRow{row("k", strings.Repeat("😀", 100)), nullRow("l")}},
		{"numbers print as in JavaScript", []kv{{"a", 1e21}, {"b", 1.5e-7}, {"c", 0.000001}, {"d", 3.0}, {"e", -2.5}, {"f", 123456789012.0}},
			[]SearchRow{row("a", "1e+21"), row("b", "1.5e-7"), row("c", "0.000001"), row("d", "3"), row("e", "-2.5"), row("f", "123456789012")}},
		{"other values print as String()", []kv{{"a", []any{"x", nil, 2.0}}, {"b", map[string]any{}}},
			[]SearchRow{row("a", "x,,2"), row("b", "[object Object]")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mapToRows(tt.in), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mapToRows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildSearch(t *testing.T) {
	tests := []struct {
		name    string
		entity  string
		want    []SearchRow
		dupKeys []string
	}{
		{"adds special keys even if missing", `{"apiVersion":"a","kind":"b","metadata":{"name":"n"}}`, []SearchRow{
			row("apiversion", "a"), row("kind", "b"), row("metadata.name", "n"),
			nullRow("metadata.namespace"), nullRow("metadata.uid"), row("metadata.namespace", "default"),
		}, nil},
		{"adds relations", `{"relations":[{"type":"t1","targetRef":"k:ns/a"},{"type":"t2","targetRef":"k:ns/b"}],
			"apiVersion":"a","kind":"b","metadata":{"name":"n"}}`, []SearchRow{
			row("apiversion", "a"), row("kind", "b"), row("metadata.name", "n"),
			nullRow("metadata.namespace"), nullRow("metadata.uid"), row("metadata.namespace", "default"),
			row("relations.t1", "k:ns/a"), row("relations.t2", "k:ns/b"),
		}, nil},
		{"annotation and label keys keep their dots", `{"kind":"Component","metadata":{"name":"Svc","namespace":"prod",
			"annotations":{"backstage.io/techdocs-ref":"dir:."},"labels":{"tier.example.com/level":"Gold"}}}`, []SearchRow{
			row("kind", "Component"),
			row("metadata.annotations.backstage.io/techdocs-ref", "dir:."),
			row("metadata.labels.tier.example.com/level", "Gold"),
			row("metadata.name", "Svc"), row("metadata.namespace", "prod"), nullRow("metadata.uid"),
		}, nil},
		{"an empty namespace also matches default", `{"kind":"k","metadata":{"name":"n","namespace":""}}`, []SearchRow{
			row("kind", "k"), row("metadata.name", "n"), row("metadata.namespace", ""), nullRow("metadata.uid"),
			row("metadata.namespace", "default"),
		}, nil},
		{"tags give value rows and key rows", `{"kind":"k","metadata":{"name":"n","namespace":"default","tags":["Java","go"]}}`, []SearchRow{
			row("kind", "k"), row("metadata.tags", "Java"), row("metadata.tags.java", "true"), row("metadata.tags", "go"),
			row("metadata.tags.go", "true"), row("metadata.name", "n"), row("metadata.namespace", "default"), nullRow("metadata.uid"),
		}, nil},
		{"rejects a key in two casings", `{"relations":[],"apiVersion":"a","kind":"b","metadata":{"name":"n","Namespace":"ns"}}`, []SearchRow{
			row("apiversion", "a"), row("kind", "b"), row("metadata.namespace", "ns"), row("metadata.name", "n"),
			nullRow("metadata.namespace"), nullRow("metadata.uid"), row("metadata.namespace", "default"),
		}, []string{"metadata.namespace"}},
		{"rejects relation types in two casings", `{"relations":[{"type":"dup","targetRef":"k:ns/a"},{"type":"DUP","targetRef":"k:ns/b"}],
			"apiVersion":"a","kind":"b","metadata":{"name":"n"}}`, nil, []string{"relations.dup"}},
		// Backstage names these in document order (spec.owner first).
		{"rejects several keys in two casings", `{"apiVersion":"a","kind":"b","metadata":{"name":"n"},
			"spec":{"owner":"o","OWNER":"o","lifecycle":"production","lifeCycle":"production"}}`, nil, []string{"spec.lifecycle", "spec.owner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildSearch(obj(t, tt.entity))
			var dup *DuplicateKeysError
			switch {
			case tt.dupKeys == nil && err != nil:
				t.Fatalf("BuildSearch: %v", err)
			case tt.dupKeys != nil:
				if !errors.As(err, &dup) {
					t.Fatalf("BuildSearch err = %v, want a DuplicateKeysError", err)
				}
				if diff := cmp.Diff(tt.dupKeys, dup.Keys); diff != "" {
					t.Errorf("duplicate keys (-want +got):\n%s", diff)
				}
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("rows (-want +got):\n%s", diff)
				}
			}
		})
	}
	err := (&DuplicateKeysError{Keys: []string{"metadata.namespace"}}).Error()
	if want := "Entity has duplicate keys that vary only in casing, 'metadata.namespace'"; err != want {
		t.Errorf("message %q, want Backstage's %q", err, want)
	}
}

func TestBuildSearchJSON(t *testing.T) {
	rows, err := BuildSearchJSON([]byte(`{"kind":"Group","metadata":{"name":"Team","uid":"stale"}}`), "u-1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rows, row("metadata.uid", "u-1")) {
		t.Errorf("rows %v lack metadata.uid from the record", rows)
	}
	if _, err := BuildSearchJSON([]byte(`[1]`), ""); err == nil {
		t.Error("a body that is not an object must fail")
	}
	rows, err = BuildSearchJSON([]byte(`{"kind":"x"}`), "u-2")
	if err != nil || !slices.Contains(rows, row("metadata.uid", "u-2")) {
		t.Errorf("entity without metadata: rows %v, err %v", rows, err)
	}
}

func TestUniqueRows(t *testing.T) {
	in := []SearchRow{row("t", "Java"), row("t", "java"), row("t", "x"), nullRow("n"), nullRow("n"), row("n", "")}
	want := []SearchRow{row("t", "Java"), row("t", "x"), nullRow("n"), row("n", "")}
	if diff := cmp.Diff(want, UniqueRows(in)); diff != "" {
		t.Errorf("UniqueRows (-want +got):\n%s", diff)
	}
}
