package apidocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"greenroom/internal/yamltree"
)

// Bounds on a definition.
const (
	// MaxDefinitionBytes is the largest definition read, as JSON.
	MaxDefinitionBytes = 5 << 20
	// maxYAMLStructural bounds a YAML definition's structural characters:
	// the YAML parser takes about 1 KiB of memory per structural character,
	// so this keeps one parse under a few hundred megabytes (about 2 MB of
	// typical YAML). JSON, read by encoding/json, has only the byte bound.
	maxYAMLStructural = 400_000
	// maxNodes bounds the values of one definition.
	maxNodes = 1_000_000
	// maxDepth bounds the nesting of a definition.
	maxDepth = 96
)

// kind is the JSON type of a value.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kMap
	kSeq
)

// node is one value of a definition, with where it was written.
type node struct {
	kind  kind
	text  string // string value, or the number's or bool's text
	keys  []string
	vals  []*node
	items []*node
	idx   map[string]int // key index of large mappings
	line  int
	col   int
}

// index builds the key index of a large mapping, so get stays fast.
func (n *node) index() {
	if len(n.keys) > 16 {
		n.idx = make(map[string]int, len(n.keys))
		for i, k := range n.keys {
			n.idx[k] = i
		}
	}
}

// get returns the value at key of a mapping, nil when absent.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kMap {
		return nil
	}
	if n.idx != nil {
		if i, ok := n.idx[key]; ok {
			return n.vals[i]
		}
		return nil
	}
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

// str returns a string value, or the text of a number or bool (YAML
// versions such as 1.0 arrive as numbers); "" otherwise.
func (n *node) str() string {
	if n == nil || n.kind == kMap || n.kind == kSeq || n.kind == kNull {
		return ""
	}
	return n.text
}

func (n *node) isMap() bool { return n != nil && n.kind == kMap }

// bool reports whether n is true.
func (n *node) bool() bool { return n != nil && n.kind == kBool && n.text == "true" }

// at renders the position of n, "line 3, column 5".
func (n *node) at() string {
	if n == nil || n.line == 0 {
		return ""
	}
	if n.col == 0 {
		return "line " + strconv.Itoa(n.line)
	}
	return "line " + strconv.Itoa(n.line) + ", column " + strconv.Itoa(n.col)
}

// scalarText renders a scalar, or a mapping or list as compact JSON, for
// enums, defaults and examples.
func (n *node) scalarText() string {
	if n == nil {
		return ""
	}
	switch n.kind {
	case kNull:
		return "null"
	case kString:
		return strconv.Quote(n.text)
	case kBool, kNumber:
		return n.text
	}
	b, err := json.Marshal(n.plain(0))
	if err != nil {
		return ""
	}
	return string(b)
}

func (n *node) plain(depth int) any {
	if n == nil || depth > 32 {
		return nil
	}
	switch n.kind {
	case kBool:
		return n.text == "true"
	case kNumber:
		return json.Number(n.text)
	case kString:
		return n.text
	case kMap:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.vals[i].plain(depth + 1)
		}
		return m
	case kSeq:
		s := make([]any, len(n.items))
		for i, v := range n.items {
			s[i] = v.plain(depth + 1)
		}
		return s
	}
	return nil
}

// Error is a problem with a definition, located where the definition says
// where: Line and Column are 1-based, 0 when unknown.
type Error struct {
	Line, Column int
	Message      string
}

// Error renders "line 3, column 5: message".
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

func errorAt(n *node, format string, args ...any) *Error {
	e := &Error{Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.line, n.col
	}
	return e
}

// parseTree reads a definition as JSON when it starts with '{', else as
// YAML, bounded in size, nesting and values.
func parseTree(def string) (*node, error) {
	if len(def) > MaxDefinitionBytes {
		return nil, &Error{Message: fmt.Sprintf("the definition is %d bytes, more than the %d this viewer reads", len(def), MaxDefinitionBytes)}
	}
	if strings.HasPrefix(strings.TrimLeft(def, " \t\r\n\ufeff"), "{") {
		return parseJSON(def)
	}
	lim := yamltree.Limits{MaxBytes: MaxDefinitionBytes, MaxNodes: maxNodes, MaxDepth: maxDepth, MaxStructural: maxYAMLStructural, MaxSiblings: 10_000}
	y, err := yamltree.Parse("definition", []byte(def), lim, nil)
	if err != nil {
		var ye *yamltree.Error
		if errors.As(err, &ye) {
			return nil, &Error{Line: ye.Line, Column: ye.Column, Message: ye.Message}
		}
		return nil, &Error{Message: err.Error()}
	}
	if y == nil {
		return nil, &Error{Message: "the definition is empty"}
	}
	return fromYAML(y), nil
}

func fromYAML(y *yamltree.Node) *node {
	p := y.Pos()
	n := &node{line: p.Line, col: p.Column}
	switch y.Kind() {
	case yamltree.Null:
		n.kind = kNull
	case yamltree.Bool:
		n.kind, n.text = kBool, strconv.FormatBool(y.Bool())
	case yamltree.Int:
		n.kind, n.text = kNumber, strconv.FormatInt(y.Int(), 10)
	case yamltree.Float:
		n.kind, n.text = kNumber, yamltree.FormatFloat(y.Float())
	case yamltree.String:
		n.kind, n.text = kString, y.Str()
	case yamltree.Map:
		n.kind = kMap
		n.keys = make([]string, 0, y.Len())
		n.vals = make([]*node, 0, y.Len())
		for k, v := range y.Entries() {
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, fromYAML(v))
		}
		n.index()
	case yamltree.Seq:
		n.kind = kSeq
		n.items = make([]*node, 0, y.Len())
		for _, v := range y.Items() {
			n.items = append(n.items, fromYAML(v))
		}
	}
	return n
}

// jsonReader reads JSON tokens and knows the line and column of each.
type jsonReader struct {
	dec   *json.Decoder
	src   string
	lines []int // offsets of line starts
	nodes int
}

func parseJSON(def string) (*node, error) {
	r := &jsonReader{dec: json.NewDecoder(strings.NewReader(def)), src: def, lines: []int{0}}
	r.dec.UseNumber()
	for i := 0; i < len(def); i++ {
		if def[i] == '\n' {
			r.lines = append(r.lines, i+1)
		}
	}
	n, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := r.dec.Token(); err != io.EOF {
		line, col := r.pos(int(r.dec.InputOffset()))
		return nil, &Error{Line: line, Column: col, Message: "the JSON document goes on after its end"}
	}
	return n, nil
}

func (r *jsonReader) pos(off int) (int, int) {
	i, found := slices.BinarySearch(r.lines, off)
	if !found {
		i--
	}
	return i + 1, off - r.lines[i] + 1
}

// here is the position of the token about to be read: the decoder's
// offset is after the previous token, so skip the separators.
func (r *jsonReader) here() (int, int) {
	off := int(r.dec.InputOffset())
	for off < len(r.src) && strings.IndexByte(" \t\r\n,:", r.src[off]) >= 0 {
		off++
	}
	return r.pos(off)
}

func (r *jsonReader) fail(err error) error {
	line, col := r.pos(int(r.dec.InputOffset()))
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col = r.pos(int(se.Offset))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "the JSON document ends too early"
	}
	return &Error{Line: line, Column: col, Message: msg}
}

func (r *jsonReader) value(depth int) (*node, error) {
	if depth > maxDepth {
		line, col := r.here()
		return nil, &Error{Line: line, Column: col, Message: fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
	}
	if r.nodes++; r.nodes > maxNodes {
		line, col := r.here()
		return nil, &Error{Line: line, Column: col, Message: fmt.Sprintf("more than %d values", maxNodes)}
	}
	line, col := r.here()
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.fail(err)
	}
	n := &node{line: line, col: col}
	switch t := tok.(type) {
	case nil:
		n.kind = kNull
	case bool:
		n.kind, n.text = kBool, strconv.FormatBool(t)
	case json.Number:
		n.kind, n.text = kNumber, t.String()
	case string:
		n.kind, n.text = kString, t
	case json.Delim:
		switch t {
		case '{':
			n.kind = kMap
			var seen map[string]bool
			for r.dec.More() {
				kl, kc := r.here()
				kt, err := r.dec.Token()
				if err != nil {
					return nil, r.fail(err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, &Error{Line: kl, Column: kc, Message: "a JSON object key must be a string"}
				}
				if seen == nil {
					seen = map[string]bool{}
				}
				if seen[k] {
					return nil, &Error{Line: kl, Column: kc, Message: fmt.Sprintf("key %q is given twice", k)}
				}
				seen[k] = true
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				v.line, v.col = kl, kc // as YAML: a value is where its key is
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			n.index()
		case '[':
			n.kind = kSeq
			for r.dec.More() {
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
		}
		if _, err := r.dec.Token(); err != nil {
			return nil, r.fail(err)
		}
	}
	return n, nil
}

// resolver follows local $refs ("#/components/schemas/Pet") within one
// document.
type resolver struct {
	root *node
}

// pointer resolves a JSON pointer fragment, "" for the root.
func (r resolver) pointer(frag string) (*node, bool) {
	n := r.root
	if frag == "" {
		return n, true
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, false
	}
	for _, part := range strings.Split(frag[1:], "/") {
		part = unescapePointer(part)
		switch n.kind {
		case kMap:
			n = n.get(part)
		case kSeq:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(n.items) {
				return nil, false
			}
			n = n.items[i]
		default:
			return nil, false
		}
		if n == nil {
			return nil, false
		}
	}
	return n, true
}

func unescapePointer(s string) string {
	if strings.Contains(s, "%") {
		if u, err := unescapePercent(s); err == nil {
			s = u
		}
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func unescapePercent(s string) (string, error) {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("bad escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", err
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// maxRefChain bounds how many $refs one value may go through before it
// reaches something that is not a $ref.
const maxRefChain = 32

// ref describes where a $ref led.
type ref struct {
	text     string // the $ref as written
	external bool   // to another document: not followed
	missing  bool   // local, but nothing is there
	loop     bool   // a chain of $refs that comes back on itself
}

// deref follows n's $ref chain, if any, to the value it names. It returns
// the value (n itself when it is no $ref), the last $ref followed, and
// whether it reached a value.
func (r resolver) deref(n *node) (*node, ref, bool) {
	var last ref
	seen := map[string]bool{}
	for range maxRefChain {
		s := n.get("$ref")
		if s == nil || s.kind != kString {
			return n, last, true
		}
		last = ref{text: s.text}
		frag, ok := strings.CutPrefix(s.text, "#")
		if !ok {
			last.external = true
			return n, last, false
		}
		if seen[frag] {
			last.loop = true
			return n, last, false
		}
		seen[frag] = true
		t, ok := r.pointer(frag)
		if !ok {
			last.missing = true
			return n, last, false
		}
		n = t
	}
	last.loop = true
	return n, last, false
}
