package yamltree

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// values converts documents to plain values for comparison.
func values(docs []*Node) []any {
	var out []any
	for _, d := range docs {
		out = append(out, d.Interface())
	}
	return out
}

func TestParseDocuments(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []any
	}{
		{
			name: "empty documents do not end the stream",
			text: "a: 1\n---\n---\n- x\n---\nb: 2\n",
			want: []any{map[string]any{"a": int64(1)}, []any{"x"}, map[string]any{"b": int64(2)}},
		},
		{
			name: "leading and trailing separators",
			text: "---\n---\na: 1\n---\n",
			want: []any{map[string]any{"a": int64(1)}},
		},
		{
			name: "comment-only documents and document ends",
			text: "# head\n---\n# nothing\n---\na: 1\n...\n---\n# tail\n...\nb: 2\n",
			want: []any{map[string]any{"a": int64(1)}, map[string]any{"b": int64(2)}},
		},
		{
			name: "directives stay with their document",
			text: "%YAML 1.2\n---\na: 1\n...\n%TAG !e! tag:example.com,2000:\n---\nb: !e!x {c: 2}\n",
			want: []any{map[string]any{"a": int64(1)}, map[string]any{"b": map[string]any{"c": int64(2)}}},
		},
		{
			name: "explicit null document is kept",
			text: "--- null\n--- ~\n---\n",
			want: []any{nil, nil},
		},
		{name: "nothing", text: ""},
		{name: "only a comment", text: "# just this\n"},
		{
			name: "scalar documents",
			text: "--- 1\n--- text\n--- |\n  block\n",
			want: []any{int64(1), "text", "block\n"},
		},
		{
			name: "json",
			text: `{"a": [1, -2.5, true, null, "x\ty"], "b": {}, "c": []}`,
			want: []any{map[string]any{"a": []any{int64(1), -2.5, true, nil, "x\ty"}, "b": map[string]any{}, "c": []any{}}},
		},
		{
			name: "scalars",
			text: "i: 0x1F\nbig: 18446744073709551615\nf: 1.5e3\ninf: -.inf\nt: yes\nn: ~\nts: 2001-12-14t21:59:43.10-05:00\ns: !!str 123\nnul: !!null x\nother: !custom {a: 1}\n",
			want: []any{map[string]any{
				"i": int64(31), "big": 18446744073709551615.0, "f": 1500.0, "inf": math.Inf(-1), "t": "yes", "n": nil,
				"ts": "2001-12-14t21:59:43.10-05:00", "s": "123", "nul": nil, "other": map[string]any{"a": int64(1)},
			}},
		},
		{
			name: "core tags",
			text: "s: !!str 012\nl: !!str |\n  lit\nq: !!str 'x'\nn: !!null x\nm: !!map {a: 1}\n",
			want: []any{map[string]any{"s": "012", "l": "lit\n", "q": "x", "n": nil, "m": map[string]any{"a": int64(1)}}},
		},
		{
			name: "scalar keys become text",
			text: "1: a\ntrue: b\nnull: c\n1.5: d\n",
			want: []any{map[string]any{"1": "a", "true": "b", "null": "c", "1.5": "d"}},
		},
		{
			name: "anchors, aliases and merge keys",
			text: "base: &b {x: 1, y: 2}\nmore: &m {z: 3}\nuse:\n  <<: [*b, *m]\n  y: 20\ncopy: *b\n",
			want: []any{map[string]any{
				"base": map[string]any{"x": int64(1), "y": int64(2)},
				"more": map[string]any{"z": int64(3)},
				"use":  map[string]any{"x": int64(1), "y": int64(20), "z": int64(3)},
				"copy": map[string]any{"x": int64(1), "y": int64(2)},
			}},
		},
		{
			name: "an anchor may be redefined",
			text: "a: &x 1\nb: *x\nc: &x 2\nd: *x\n",
			want: []any{map[string]any{"a": int64(1), "b": int64(1), "c": int64(2), "d": int64(2)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseDocuments("f.yaml", []byte(tt.text), Limits{}, nil)
			if err != nil {
				t.Fatalf("ParseDocuments: %v", err)
			}
			if diff := cmp.Diff(tt.want, values(docs)); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDocumentsNaN(t *testing.T) {
	docs, err := ParseDocuments("f.yaml", []byte("a: .nan\n"), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := docs[0].Get("a"); v.Kind() != Float || !math.IsNaN(v.Float()) {
		t.Errorf("a = %v %v, want a NaN float", v.Kind(), v.Float())
	}
}

func TestParsePositions(t *testing.T) {
	text := `# comment
app:
  title: x
  list:
    - one
    - {k: v}
alias: &a [1]
again: *a
---
- first
`
	docs, err := ParseDocuments("f.yaml", []byte(text), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := docs[0].Get("app")
	list := app.Get("list")
	var items []*Node
	for _, it := range list.Items() {
		items = append(items, it)
	}
	seq := docs[1]
	var first *Node
	for _, it := range seq.Items() {
		first = it
	}
	got := map[string]string{
		"root":         docs[0].Pos().String(),
		"app":          app.Pos().String(),
		"app.title":    app.Get("title").Pos().String(),
		"app.list":     list.Pos().String(),
		"app.list[0]":  items[0].Pos().String(),
		"app.list[1]":  items[1].Pos().String(),
		"app.list[1]k": items[1].Get("k").Pos().String(),
		"again":        docs[0].Get("again").Pos().String(),
		"doc 2":        seq.Pos().String(),
		"doc 2[0]":     first.Pos().String(),
	}
	want := map[string]string{
		"root":         "f.yaml:2:1",
		"app":          "f.yaml:2:1",
		"app.title":    "f.yaml:3:3",
		"app.list":     "f.yaml:4:3",
		"app.list[0]":  "f.yaml:5:7",
		"app.list[1]":  "f.yaml:6:7",
		"app.list[1]k": "f.yaml:6:8",
		"again":        "f.yaml:8:1",
		"doc 2":        "f.yaml:10:1",
		"doc 2[0]":     "f.yaml:10:3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // Error()
	}{
		{name: "syntax", text: "apiVersion: v1\nkind: [\n", want: "f.yaml:2:7: did not find expected node content (while parsing a flow node)"},
		{name: "syntax with context", text: "kind: [a, b\nc: d\n", want: "f.yaml:2:2: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 7)"},
		{name: "syntax in a later document", text: "a: 1\n---\n---\nb: [\n", want: "f.yaml:4:4: did not find expected node content (while parsing a flow node)"},
		{name: "syntax at the end after comments", text: "a: {\n# note\n\n", want: "f.yaml:1:4: did not find expected node content (while parsing a flow node)"},
		{name: "duplicate key", text: "a:\n  b: 1\n  b: 2\n", want: `f.yaml:3:3: duplicate key: mapping key "b" already defined at [2:3]`},
		{name: "duplicate key in flow", text: "{a: 1, a: 2}", want: `f.yaml:1:8: duplicate key: mapping key "a" already defined at [1:2]`},
		{name: "duplicate key text", text: "1: a\n'1': b\n", want: `f.yaml:2:1: duplicate key: mapping key "1" already defined at [1:1]`},
		{name: "dangling alias", text: "a: *nope\n", want: "f.yaml:1:4: alias *nope refers to no anchor defined before it"},
		{name: "self alias", text: "a: &a [*a]\n", want: "f.yaml:1:8: alias *a refers to no anchor defined before it"},
		{name: "anchors end with their document", text: "a: &x 1\n---\nb: *x\n", want: "f.yaml:3:4: alias *x refers to no anchor defined before it"},
		{name: "merge of a scalar", text: "a:\n  <<: 1\n", want: "f.yaml:2:3: a merge key (<<) takes a mapping or a list of mappings"},
		{name: "merge of a list of scalars", text: "a:\n  <<: [1]\n", want: "f.yaml:2:8: a merge key (<<) takes a mapping or a list of mappings"},
		{name: "mapping as key", text: "? {a: 1}\n: x\n", want: "f.yaml:1:3: mapping keys must be plain values, not mappings or lists"},
		{name: "mapping as key by alias", text: "a: &k {b: 1}\n? *k\n: v\n", want: "f.yaml:2:3: mapping keys must be plain values, not mappings or lists"},
		{name: "value after separator", text: "--- a: 1\n", want: "f.yaml:1:6: mapping values are not allowed in this context"},
		{name: "bad character", text: "a: x\n  b: \x01\n", want: "f.yaml:2:6: control characters are not allowed (value: 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseDocuments("f.yaml", []byte(tt.text), Limits{}, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if docs != nil {
				t.Errorf("documents returned with the error: %v", values(docs))
			}
		})
	}
}

func TestParse(t *testing.T) {
	n, err := Parse("f.yaml", []byte("---\n---\na: 1\n---\n"), Limits{}, nil)
	if err != nil || n.Get("a").Int() != 1 {
		t.Errorf("Parse = %v, %v; want the one document", n.Interface(), err)
	}
	n, err = Parse("f.yaml", []byte("# nothing\n"), Limits{}, nil)
	if n != nil || err != nil {
		t.Errorf("Parse of no document = %v, %v; want nil, nil", n, err)
	}
	_, err = Parse("f.yaml", []byte("a: 1\n---\n---\nb: 2\n"), Limits{}, nil)
	if err == nil || err.Error() != "f.yaml:4:1: expected one YAML document; document 2 is extra" {
		t.Errorf("Parse of two documents: err = %v", err)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Pos: Pos{File: "f", Line: 2, Column: 3}, Message: "m"}, "f:2:3: m"},
		{&Error{Pos: Pos{File: "f", Line: 2}, Message: "m"}, "f:2: m"},
		{&Error{Pos: Pos{File: "f"}, Message: "m"}, "f: m"},
		{&Error{Message: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestParserPanicRecovered checks the recovery path: a panic raised while
// parsing is reported as an error in the file.
func TestParserPanicRecovered(t *testing.T) {
	docs, err := recovered("f.yaml", func() ([]*Node, error) {
		var n *Node
		return []*Node{{kind: n.vals["x"].kind}}, nil
	})
	var e *Error
	if !errors.As(err, &e) || docs != nil {
		t.Fatalf("recovered = %v, %v; want no documents and an *Error", docs, err)
	}
	if e.File != "f.yaml" || !strings.HasPrefix(e.Message, "the YAML parser failed on this file: ") {
		t.Errorf("err = %q", e)
	}
}
