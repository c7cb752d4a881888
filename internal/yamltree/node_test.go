package yamltree

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(tb testing.TB, text string) *Node {
	tb.Helper()
	n, err := Parse("f.yaml", []byte(text), Limits{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestNodeAccessors(t *testing.T) {
	n := mustParse(t, "s: x\ni: -3\nf: 2.5\nb: true\nz: null\nm: {k: v}\nl: [1, 2]\n")
	if n.Kind() != Map || n.Len() != 7 {
		t.Fatalf("root: kind %v, len %d", n.Kind(), n.Len())
	}
	var keys []string
	for k := range n.Entries() {
		keys = append(keys, k)
	}
	if diff := cmp.Diff([]string{"s", "i", "f", "b", "z", "m", "l"}, keys); diff != "" {
		t.Errorf("key order (-want +got):\n%s", diff)
	}
	got := []any{n.Get("s").Str(), n.Get("i").Int(), n.Get("f").Float(), n.Get("b").Bool(), n.Get("z").Kind(),
		n.Get("m").Get("k").Str(), n.Get("l").Len(), n.Get("l").Kind().String()}
	want := []any{"x", int64(-3), 2.5, true, Null, "v", 2, "seq"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	// Accessors of another kind read as zero values.
	if s := n.Get("i"); s.Str() != "" || s.Bool() || s.Float() != 0 || s.Len() != 0 || s.Get("x") != nil {
		t.Error("an Int node has non-zero values of other kinds")
	}
	for range n.Get("s").Items() {
		t.Error("a String node yields items")
	}
}

func TestNilNode(t *testing.T) {
	var n *Node
	if n.Kind() != Null || n.Pos() != (Pos{}) || n.Len() != 0 || n.Get("a") != nil || n.Interface() != nil ||
		n.Str() != "" || n.Int() != 0 || n.Float() != 0 || n.Bool() {
		t.Error("a nil Node is not an absent value")
	}
	for range n.Entries() {
		t.Error("a nil Node yields entries")
	}
	for range n.Items() {
		t.Error("a nil Node yields items")
	}
}

func TestIteratorsStop(t *testing.T) {
	n := mustParse(t, "a: 1\nb: 2\nl: [1, 2, 3]\n")
	count := 0
	for range n.Entries() {
		count++
		break
	}
	for range n.Get("l").Items() {
		count++
		break
	}
	if count != 2 {
		t.Errorf("iterators yielded %d values before break, want 2", count)
	}
}

// TestInterfaceFreshValues checks that values shared by aliases come out
// as separate maps, so callers may modify what Interface returns.
func TestInterfaceFreshValues(t *testing.T) {
	n := mustParse(t, "a: &x {k: [1]}\nb: *x\n")
	v := n.Interface().(map[string]any)
	v["a"].(map[string]any)["k"].([]any)[0] = "changed"
	if got := v["b"].(map[string]any)["k"].([]any)[0]; got != int64(1) {
		t.Errorf("b.k[0] = %v after changing a.k[0]; aliases share Go values", got)
	}
	again := n.Interface().(map[string]any)
	if got := again["a"].(map[string]any)["k"].([]any)[0]; got != int64(1) {
		t.Errorf("a second Interface() sees the change: %v", got)
	}
	data, err := json.Marshal(again)
	if err != nil || string(data) != `{"a":{"k":[1]},"b":{"k":[1]}}` {
		t.Errorf("json = %s, %v", data, err)
	}
}

func TestFormatFloat(t *testing.T) {
	n := mustParse(t, "[.inf, -.inf, .nan, 0.1, 1.0e+300]")
	var got []string
	for _, it := range n.Items() {
		got = append(got, FormatFloat(it.Float()))
	}
	if diff := cmp.Diff([]string{".inf", "-.inf", ".nan", "0.1", "1e+300"}, got); diff != "" {
		t.Errorf("FormatFloat (-want +got):\n%s", diff)
	}
}
