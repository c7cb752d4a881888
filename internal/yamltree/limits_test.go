package yamltree

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// aliasBomb nests nine aliases per level, ten levels deep: 9^10 values
// once expanded.
func aliasBomb() string {
	bomb := "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i, prev := 'b', 'a'; i <= 'j'; i, prev = i+1, i {
		bomb += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(prev)+", ", 8) + "*" + string(prev) + "]\n"
	}
	return bomb
}

// mappings writes n block mappings of keys keys each.
func mappings(n, keys int) string {
	var b strings.Builder
	for j := 0; j < n; j++ {
		b.WriteString("m" + strconv.Itoa(j) + ":\n")
		for i := 0; i < keys; i++ {
			b.WriteString("  key" + strconv.Itoa(i) + ": v\n")
		}
	}
	return b.String()
}

// flowKeys writes n distinct flow mapping entries.
func flowKeys(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("key" + strconv.Itoa(i) + ": v, ")
	}
	return b.String()
}

// deepBlock nests n block mappings by indentation.
func deepBlock(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return b.String()
}

// TestHostileInput feeds inputs that would exhaust time or memory without
// the limits: each must fail fast with one located error.
func TestHostileInput(t *testing.T) {
	def := DefaultLimits()
	tests := []struct {
		name string
		text string
		lim  Limits
		want string // in the message
		line int    // of the error; 0 for the whole file
	}{
		{name: "billion laughs", text: aliasBomb(), want: "too many values (the limit is 1000000, aliases included)", line: 7},
		{name: "alias bomb in a later document", text: "a: 1\n---\n---\n" + aliasBomb(), want: "too many values", line: 10},
		{name: "huge flow nesting", text: "a: " + strings.Repeat("[", 200_000), want: "file is too complex: 200001 structural characters, the limit is 100000"},
		{name: "deep flow nesting", text: "a: " + strings.Repeat("[", 50_000), want: "nested too deeply", line: 1},
		{name: "nesting over 64", text: "a: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", want: "nested too deeply (the limit is 64 levels)", line: 1},
		{name: "nesting by alias", text: "a: &a " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\nb: " + strings.Repeat("[", 30) + "*a" + strings.Repeat("]", 30) + "\n", want: "nested too deeply (the limit is 64 levels)", line: 2},
		{name: "deep block nesting", text: deepBlock(300), want: "nested too deeply", line: 257},
		{name: "wide mapping", text: mappings(1, def.MaxSiblings+1), want: "too many keys in one mapping (the limit is 5000)", line: 5002},
		{name: "too large", text: "a: " + strings.Repeat("x", def.MaxBytes), want: "file is larger than the limit of 4194304 bytes"},
		{name: "mappings on one line", text: strings.Repeat("&a a: ", 30_000), want: "mapping values are not allowed in this context", line: 1},
		{name: "tight node limit", text: "[1, 2, 3]", lim: Limits{MaxNodes: 3}, want: "too many values (the limit is 3, aliases included)", line: 1},
		{name: "tight size limit", text: "[1, 2, 3]", lim: Limits{MaxBytes: 8}, want: "file is larger than the limit of 8 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			docs, err := ParseDocuments("f.yaml", []byte(tt.text), tt.lim, nil)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("ParseDocuments took %v", d)
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
				t.Errorf("ParseDocuments allocated %d MiB", alloc>>20)
			}
			var e *Error
			if !errors.As(err, &e) || docs != nil {
				t.Fatalf("ParseDocuments = %d documents, %v; want an *Error", len(docs), err)
			}
			if !strings.Contains(e.Message, tt.want) || e.File != "f.yaml" || e.Line != tt.line {
				t.Errorf("err = %q, want %q at line %d of f.yaml", e, tt.want, tt.line)
			}
		})
	}
}

func TestLimitsAreInclusive(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		text string
		lim  Limits
		ok   bool
	}{
		{"depth at the limit", nested(4), Limits{MaxDepth: 3}, true},
		{"depth over the limit", nested(5), Limits{MaxDepth: 3}, false},
		{"nodes at the limit", "[1, 2, 3]", Limits{MaxNodes: 4}, true},
		{"nodes over the limit", "[1, 2, 3]", Limits{MaxNodes: 3}, false},
		// Keys are values too: the root, 2 keys, 3 in a and 3 for the alias.
		{"alias charged in full", "a: &a [1, 2]\nb: *a\n", Limits{MaxNodes: 9}, true},
		{"alias over the limit", "a: &a [1, 2]\nb: *a\n", Limits{MaxNodes: 8}, false},
		{"bytes at the limit", "[1, 2]", Limits{MaxBytes: 6}, true},
		{"bytes over the limit", "[1, 2]", Limits{MaxBytes: 5}, false},
		{"structural at the limit", "[1, 2]", Limits{MaxStructural: 3}, true},
		{"structural over the limit", "[1, 2]", Limits{MaxStructural: 2}, false},
		{"siblings at the limit", "a: 1\nb: 2\n", Limits{MaxSiblings: 2}, true},
		{"siblings over the limit", "a: 1\nb: 2\nc: 3\n", Limits{MaxSiblings: 2}, false},
		{"zero limits are the defaults", mappings(1, 5000), Limits{}, true},
		{"zero limits are the defaults, over", mappings(1, 5001), Limits{}, false},
		// goccy's parser was quadratic in the keys of a mapping, so the
		// squares were bounded too; go.yaml.in/yaml/v4's is linear.
		{"many wide mappings", mappings(3, 5000), Limits{}, true},
		{"flow mappings have no sibling limit", "{" + flowKeys(3) + "}", Limits{MaxSiblings: 2}, true},
		{"wide flow mapping", "{" + flowKeys(20_000) + "}", Limits{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDocuments("f.yaml", []byte(tt.text), tt.lim, nil)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}

func TestBudgetShared(t *testing.T) {
	b := NewBudget(10)
	if _, err := ParseDocuments("a.yaml", []byte("[1, 2, 3, 4, 5]"), Limits{}, b); err != nil {
		t.Fatalf("first file: %v", err)
	}
	_, err := ParseDocuments("b.yaml", []byte("[1, 2, 3, 4, 5]"), Limits{}, b)
	if err == nil || err.Error() != "b.yaml:1:11: too many values (the limit is 10, aliases included)" {
		t.Errorf("second file: err = %v, want the shared limit of 10 exceeded", err)
	}
	var zero Budget
	if _, err := ParseDocuments("c.yaml", []byte(aliasBomb()), Limits{MaxNodes: 1 << 40}, &zero); err == nil {
		t.Error("the zero Budget let an alias bomb through")
	}
}
