package yamltree

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseDocuments parses arbitrary input under small limits. It must
// not panic (not even one the parser recovers from), every error must be a
// located *Error in the file, and every tree must keep within the limits
// once aliases are expanded, with every value positioned in the file.
// Seeds: testdata/fuzz/FuzzParseDocuments.
func FuzzParseDocuments(f *testing.F) {
	lim := Limits{MaxBytes: 1 << 16, MaxNodes: 5_000, MaxDepth: 12, MaxStructural: 10_000, MaxSiblings: 200}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := ParseDocuments("in.yaml", data, lim, nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "in.yaml" || e.Line < 0 || e.Column < 0 {
				t.Fatalf("err = %#v, want a located *Error", err)
			}
			if strings.HasPrefix(e.Message, "the YAML parser failed") {
				t.Fatalf("parser panic: %v", err)
			}
			if docs != nil {
				t.Fatalf("%d documents returned with an error", len(docs))
			}
			return
		}
		total := 0
		for _, d := range docs {
			size, height := check(t, d)
			total += size
			if height > lim.MaxDepth {
				t.Fatalf("tree of height %d, the limit is %d", height, lim.MaxDepth)
			}
			_ = d.Interface()
		}
		if total > lim.MaxNodes {
			t.Fatalf("%d values once expanded, the limit is %d", total, lim.MaxNodes)
		}
	})
}

// check walks n as Interface would, checking positions and map keys, and
// returns its expanded size and height.
func check(t *testing.T, n *Node) (size, height int) {
	t.Helper()
	if n == nil {
		t.Fatal("nil node in a tree")
	}
	if p := n.Pos(); p.File != "in.yaml" || p.Line < 1 || p.Column < 1 {
		t.Fatalf("node %v at %q, want a position in in.yaml", n.Kind(), p)
	}
	if n.Kind() == Map && (len(n.keys) != len(n.vals) || n.Len() != len(n.keys)) {
		t.Fatalf("map with %d keys and %d values", len(n.keys), len(n.vals))
	}
	size = 1
	visit := func(ch *Node) {
		s, h := check(t, ch)
		size += s
		height = max(height, h+1)
	}
	for _, v := range n.Entries() {
		visit(v)
	}
	for _, v := range n.Items() {
		visit(v)
	}
	return size, height
}
