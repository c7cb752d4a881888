package yamltree

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"greenroom/internal/catalog/catalogtest"
)

// differences lists the inputs on which yamltree and the goccy/go-yaml
// implementation it replaced (reference_goccy_test.go) legitimately
// disagree, with the reason. TestDifferential checks that they still do,
// so that the list stays true.
var differences = map[string]string{
	// Positions where goccy is off.
	"s: !!str 012\nl: !!str |\n  lit\nn: !!null x\nm: !!map {a: 1}\nbig: 18446744073709551615\n":                                                                     "goccy locates the first key of a tagged flow mapping at its '{'",
	"%YAML 1.2\n---\na: 1\n...\n%TAG !e! tag:example.com,2000:\n---\nb: !e!x {c: 2}\n":                                                                               "goccy locates the first key of a tagged flow mapping at its '{'",
	"i: 0x1F\nbig: 18446744073709551615\nf: 1.5e3\ninf: -.inf\nt: yes\nn: ~\nts: 2001-12-14t21:59:43.10-05:00\ns: !!str 123\nnul: !!null x\nother: !custom {a: 1}\n": "goccy locates the first key of a tagged flow mapping at its '{'",
	"s: !!str 012\nl: !!str |\n  lit\nq: !!str 'x'\nn: !!null x\nm: !!map {a: 1}\n":                                                                                  "goccy locates the first key of a tagged flow mapping at its '{'",
	"- a: 1\n  b: 2\n- c: 3\n-\n- - x\n  - y\n- \n":                                                                                                                  "goccy locates an empty list item one column after the '- ' (or past the end of a line holding only '-'), yamltree right after the '-'",
	"- \n- x\n-\n": "goccy locates an empty list item after a lone '-' past the end of its line, yamltree right after the '-'",
	// Positions by another rule.
	"? a\n: 1\n? b\n: 2\n":      "goccy locates the value of an explicit key ('? a') at the '?', yamltree at the key, as Node.Pos says",
	"? |\n  block key\n: v\n":   "goccy locates the value of an explicit key ('? a') at the '?', yamltree at the key, as Node.Pos says",
	"? &k a\n: *k\n":            "goccy locates the value of an explicit key ('? a') at the '?', yamltree at the key, as Node.Pos says",
	"a: &k {b: 1}\n? *k\n: v\n": "an explicit key that is not a scalar is reported at the key, not at its '?'",
	"&r {a: 1}":                 "goccy locates an anchored document at the value after the anchor, yamltree at the anchor, as it does list items",
	"--- &r\na: 1\n":            "goccy locates an anchored document at the value after the anchor, yamltree at the anchor, as it does list items",
	// Values where goccy is wrong.
	"[+-5]":        "goccy reads +-5 as the integer 5; it is a string",
	"--- !!str\n":  `goccy reads an empty !!str document as "null"; it is ""`,
	"\ufeffa: 1\n": "goccy keeps a leading byte order mark as part of the first key; YAML drops it",
	// Input goccy refuses and yamltree accepts.
	"a: !!str\nb: !!str ~\nc: !!str true\nd: !!null ''\ne: !!int 7\nf: !!float 1\ng: !!bool yes\nh: ! 12\n": "goccy refuses a tag without a value at the end of a line (a: !!str); it is an empty string",
	"--- &a\n":           "goccy refuses an anchor without a value; it is an anchored null, so a null document",
	"a: !!map [1]\n":     "goccy refuses a collection tag on another collection, or !!str and !!null on one; yamltree ignores tags on collections",
	"a: !!str [1]\n":     "goccy refuses a collection tag on another collection, or !!str and !!null on one; yamltree ignores tags on collections",
	"a: !!null {b: 1}\n": "goccy refuses a collection tag on another collection, or !!str and !!null on one; yamltree ignores tags on collections",
	"a: !!seq {b: 1}\n":  "goccy refuses a collection tag on another collection, or !!str and !!null on one; yamltree ignores tags on collections",
	// Input the YAML specification forbids, which goccy accepted.
	"a: x\x01y\n": "control characters other than tab and line breaks are not allowed in YAML (goccy silently dropped them)",
	"a: !e!x b\n": "the tag handle !e! is used without a %TAG directive defining it",
	// Found by fuzzing the two parsers against each other.
	"- x \n- y\n":       "goccy locates a plain scalar followed by blanks at the end of its line one column to the right",
	"- a\n -b\n":        "goccy locates a plain list item continued on a line starting with '-' at that line",
	"a: !t\nb: 1\n":     "goccy takes a tag without a value at the end of a line for the tag of the mapping on the next lines; it tags an empty value",
	"[a:]":              "in a flow collection a ':' before ']' or ',' makes a key (YAML 1.2); goccy keeps it in the scalar",
	"{a:1}":             "in a flow mapping a:1 is one plain scalar, a key without a value (YAML 1.2); goccy splits it at the ':'",
	" |1\n 0\n":         "the indentation indicator of a block scalar at the top level counts from column 0 in v4 (as in libyaml), from -1 in goccy",
	" |1+  ":            "goccy gives a kept (|+) block scalar with no content at the end of the input a line break it does not have",
	"a: |\n  x  ":       "goccy drops the trailing blanks of a block scalar's last line when no line break ends the input",
	"a: >\n  x\n  y":    "goccy does not fold the last line of a folded block scalar when no line break ends the input",
	"a: x\n\n  \n  y\n": "goccy drops a line of blanks after an empty line in a multi-line plain scalar; each is a line break",
	"?\n":               "a lone '?' is an explicit empty key (a mapping {null: null}); goccy reads the string \"?\"",
	"a:\n b\n:\n":       "a ':' at the start of a line is a value for an empty (null) key, which goccy refuses",
	"a:\n-\nb:\n":       "goccy nests the key after an empty list item ('-' alone) into that item; it belongs to the outer mapping",
	"...x\n":            "\"...\" followed by a character other than a blank is not a document end marker but the start of a plain scalar",
}

// extraInputs are inputs of the differential test beyond the fuzz corpus,
// the test tables and the generated catalogs: corners of scalar
// resolution, positions and document handling.
var extraInputs = []string{
	// Scalars.
	"[0, -0, +0, 00, 012, -012, 09, 0x1F, -0x1F, 0X1F, 0o17, 0b101, 0b2, 1_000, _1, 1_, -_1, -+5, 0x]",
	"a: -\nb: +\nc: -1-\n",
	"[+-5]",
	"[1.5, -1.5, .5, -.5, +.5, 1., 1.5e3, 1.5E-3, 1e3, 1.2.3, ., 01.5, 0.0, -0.0, 1.0e999, 0X1.8P1, ._5]",
	"[9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809, 18446744073709551616]",
	"[.inf, .Inf, .INF, -.inf, +.inf, .nan, .NaN, .NAN, .nAn, inf, nan, Infinity]",
	"[true, True, TRUE, tRue, false, False, FALSE, yes, no, on, off, y, n, null, Null, NULL, nUll, ~, '', \"\"]",
	"[2001-12-14, 2001-12-14t21:59:43.10-05:00, 12:30, 1:2:3, 0.1.2]",
	"a: 'single ''quoted'''\nb: \"double \\\"quoted\\\" \\t\\u00e9 \\x41\"\nc: plain # comment\nd: plain with spaces  \n",
	"a: multi\n  line\n\n  plain\nb: 'multi\n  line\n\n  single'\nc: \"multi\n  line\\\n  double\"\n",
	"a: |\n  keep\n\n  lines\n\nb: |-\n  strip\nc: |+\n  keep\n\nd: >\n  folded\n  text\n\n  para\ne: >-\n  x\n   more\n  y\nf: |2\n    indented\n",
	"- |\n  a\n- >\n  b\n- |\n\n  c\n",
	"a: !!str\nb: !!str ~\nc: !!str true\nd: !!null ''\ne: !!int 7\nf: !!float 1\ng: !!bool yes\nh: ! 12\n",
	"a: !!binary aGk=\nb: !!timestamp 2001-12-14\nc: !local x\nd: !<tag:yaml.org,2002:str> 5\n",
	// Keys.
	"1: a\n0x10: b\n-1: c\n1.0: d\n~: e\nfalse: f\n'q': g\n\"dq\": h\n.inf: i\n",
	"? a\n: 1\n? b\n: 2\n",
	"? |\n  block key\n: v\n",
	"{a: 1, b: {c: [1, 2, {d: e}]}, 'f': \"g\"}",
	"[a, [b, c], {d: e}, [], {}]",
	"a: {x: 1,\n  y: 2}\nb: [1,\n  2]\n",
	"- a: 1\n  b: 2\n- c: 3\n-\n- - x\n  - y\n- \n",
	"a:\n- 1\n- 2\nb:\n  - 3\n",
	"a:\nb: ~\nc: null\n",
	"- \n- x\n-\n",
	// Anchors and merges.
	"a: &x {k: 1}\nb: *x\nc: [*x, *x]\n",
	"&r {a: 1}",
	"--- &r\na: 1\n",
	"- &a 1\n- *a\n- &b [x]\n- *b\n",
	"base: &b\n  k: 1\nuse:\n  m: 2\n  <<: *b\n  k: 3\n",
	"base: &b\n  k: 1\nuse:\n  <<: *b\n",
	"a: &a x\nb: &b [*a]\nc: &c {k: *b}\nd: *c\n",
	"'<<': {a: 1}\n",
	"a: <<\n",
	"? &k a\n: *k\n",
	// Documents.
	"--- &a\n",
	"--- !!null\n",
	"--- !!str\n",
	"%YAML 1.2\n",
	"%YAML 1.2\n---\n",
	"%YAML 1.1\n--- x\n",
	"--- x\n...\n--- y\n...\n",
	"a: 1\n...\n",
	"...\n",
	"---\n...\n---\n",
	"--- # comment\na: 1\n",
	"--- [1,\n 2]\n--- {a: b}\n",
	"-- x\n",
	// Text.
	"\ufeffa: 1\n",
	"a: 1\r\nb:\r\n  c: 2\r\n",
	"é: ü\nñ: {ß: 1}\n",
	"a: x\x01y\n",
	"a:\tb\n",
	"a: b\t\n",
	"a: 1 # c\n# c\nb: 2\n",
	// Errors.
	"a: 1\na: 2\n",
	"{a: 1, a: 1}",
	"a: [1, 2\n",
	"a: {b\n",
	"a: 'x\n",
	"a: \"x\n",
	"a: b: c\n",
	"a:\n  - b\n c: d\n",
	"- a\nb: c\n",
	"a: *x\n",
	"a: &x [*x]\n",
	"[a]: b\n",
	"? [a]\n: b\n",
	"a: !!map [1]\n",
	"a: !!str [1]\n",
	"a: !!null {b: 1}\n",
	"a: !!seq {b: 1}\n",
	"a: !e!x b\n",
	"@a: b\n",
	"`a`: b\n",
	"a: %x\n",
	"a: b\n  c: d\n",
	// Found by fuzzing the two parsers against each other.
	"- x \n- y\n",
	"a: !t\nb: 1\n",
	"[a:]",
	" |1\n 0\n",
	" |1+  ",
	"a: |\n  x  ",
	"a: >\n  x\n  y",
	"a: x\n\n  \n  y\n",
	"?\n",
	"{a:1}",
	"a:\n-\nb:\n",
	"...x\n",
	"a:\n b\n:\n",
	"- a\n -b\n",
}

// TestDifferential parses the same inputs with yamltree and with the
// goccy/go-yaml implementation it replaced, and requires the same
// outcome: both fail, or both return the same documents with the same
// values, key order, kinds and positions.
func TestDifferential(t *testing.T) {
	inputs := differentialInputs(t)
	seen := map[string]bool{}
	for _, in := range inputs {
		if seen[in.text] {
			continue
		}
		seen[in.text] = true
		t.Run(in.name, func(t *testing.T) {
			diff := compareParsers(in.text)
			reason, known := differences[in.text]
			switch {
			case known && diff == "":
				t.Errorf("listed as a difference (%s), but both parsers agree on %q", reason, in.text)
			case !known && diff != "":
				t.Errorf("parsers differ on %q:\n%s", in.text, diff)
			}
		})
	}
	for text := range differences {
		if !seen[text] {
			t.Errorf("listed difference %q is not among the inputs", text)
		}
	}
}

// compareParsers returns how the two parsers differ on text, "" when
// they agree.
func compareParsers(text string) string {
	want, wantErr := goccyParse("f.yaml", []byte(text), Limits{}, nil)
	got, gotErr := ParseDocuments("f.yaml", []byte(text), Limits{}, nil)
	switch {
	case wantErr != nil && gotErr != nil:
		// The parsers word syntax errors differently; yamltree's own
		// errors must be the same.
		if ownError(wantErr) && wantErr.Error() != gotErr.Error() {
			return fmt.Sprintf("goccy fails with %q, yamltree with %q", wantErr, gotErr)
		}
		return ""
	case wantErr != nil:
		return fmt.Sprintf("goccy fails (%v), yamltree returns %v", wantErr, values(got))
	case gotErr != nil:
		return fmt.Sprintf("goccy returns %v, yamltree fails (%v)", values(want), gotErr)
	}
	return cmp.Diff(shapes(want), shapes(got), cmpopts.EquateNaNs())
}

// ownError reports whether err is one of yamltree's errors rather than
// one of the parser's.
func ownError(err error) bool {
	e, ok := err.(*Error)
	if !ok {
		return false
	}
	for _, prefix := range []string{"duplicate key", "alias *", "a merge key", "mapping keys must", "too many", "values are nested", "file is"} {
		if strings.HasPrefix(e.Message, prefix) {
			return true
		}
	}
	return false
}

// shape is one value of a tree, as the differential test compares it.
type shape struct {
	Path string
	Kind Kind
	At   string
	Val  any // scalars only
}

// shapes flattens documents into their values in document order.
func shapes(docs []*Node) []shape {
	var out []shape
	var walk func(path string, n *Node)
	walk = func(path string, n *Node) {
		s := shape{Path: path, Kind: n.Kind(), At: n.Pos().String()}
		if s.Kind != Map && s.Kind != Seq {
			s.Val = n.Interface()
		}
		out = append(out, s)
		for k, v := range n.Entries() {
			walk(path+"."+strconv.Quote(k), v)
		}
		for i, v := range n.Items() {
			walk(path+"["+strconv.Itoa(i)+"]", v)
		}
	}
	for i, d := range docs {
		walk("doc"+strconv.Itoa(i), d)
	}
	return out
}

type input struct{ name, text string }

// differentialInputs gathers the fuzz corpus, the texts of the package's
// test tables, generated catalog files and extraInputs.
func differentialInputs(t *testing.T) []input {
	t.Helper()
	var ins []input
	corpus, err := filepath.Glob("testdata/fuzz/FuzzParseDocuments/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range corpus {
		ins = append(ins, input{"corpus/" + filepath.Base(path), readCorpusFile(t, path)})
	}
	for _, file := range []string{"parse_test.go", "limits_test.go", "node_test.go"} {
		for i, text := range tableTexts(t, file) {
			ins = append(ins, input{fmt.Sprintf("%s/%d", file, i), text})
		}
	}
	for seed := range uint64(3) {
		ins = append(ins, input{fmt.Sprintf("catalog/%d", seed), string(catalogFile(t, 60, seed))})
	}
	ins = append(ins, input{"catalog/500k", string(catalogOfSize(t, 500<<10))})
	for i, text := range extraInputs {
		ins = append(ins, input{fmt.Sprintf("extra/%d", i), text})
	}
	return ins
}

// readCorpusFile decodes one file of the fuzz corpus ("go test fuzz v1"
// and one []byte literal).
func readCorpusFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz corpus file", path)
	}
	lit, ok := strings.CutPrefix(lines[1], "[]byte(")
	lit, ok2 := strings.CutSuffix(lit, ")")
	if !ok || !ok2 {
		t.Fatalf("%s: not a []byte value", path)
	}
	s, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// tableTexts returns the string literals given as "text" fields in the
// test tables of file, and those passed to mustParse.
func tableTexts(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	add := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				texts = append(texts, s)
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "text" {
				add(n.Value)
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "mustParse" && len(n.Args) == 2 {
				add(n.Args[1])
			}
		}
		return true
	})
	return texts
}

// catalogFile returns n generated catalog entities as one multi-document
// catalog-info file.
func catalogFile(tb testing.TB, n int, seed uint64) []byte {
	tb.Helper()
	ents, err := catalogtest.Generate(max(n, catalogtest.MinEntities), seed)
	if err != nil {
		tb.Fatal(err)
	}
	var b []byte
	for i, e := range ents[:n] {
		if i > 0 {
			b = append(b, "---\n"...)
		}
		b = e.AppendYAML(b)
	}
	return b
}

// catalogOfSize returns a generated catalog file of about size bytes.
func catalogOfSize(tb testing.TB, size int) []byte {
	tb.Helper()
	n := 100
	b := catalogFile(tb, n, 1)
	for len(b) < size {
		n = n * size / len(b) * 11 / 10
		b = catalogFile(tb, n, 1)
	}
	if i := bytes.Index(b[size:], []byte("\n---\n")); i >= 0 {
		b = b[:size+i+1]
	}
	return b
}
