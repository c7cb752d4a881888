package yamltree

import (
	"iter"
	"strconv"
)

// Kind is the JSON-like type of a Node. YAML-only types (timestamps,
// binary) arrive as strings, as in JSON data.
type Kind uint8

// The kinds of Node.
const (
	Null Kind = iota
	Bool
	Int
	Float
	String
	Map
	Seq
)

// String returns the kind's name: null, bool, int, float, string, map or
// seq.
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Int:
		return "int"
	case Float:
		return "float"
	case String:
		return "string"
	case Map:
		return "map"
	case Seq:
		return "seq"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Pos is a place in a file. Line and Column are 1-based; 0 when unknown.
type Pos struct {
	File         string
	Line, Column int
}

// String renders "file:line:col", leaving out what is unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// Node is one value of a parsed document. A Node is never modified after
// parsing, so the values an alias refers to are shared, not copied; treat
// it as read-only. Every method accepts a nil *Node, which reads as an
// absent value: kind Null, no position, no entries.
type Node struct {
	kind  Kind
	pos   Pos
	b     bool
	i     int64
	f     float64
	s     string
	keys  []string // in document order
	vals  map[string]*Node
	items []*Node
}

func newMap(p Pos, size int) *Node {
	return &Node{kind: Map, pos: p, vals: make(map[string]*Node, size)}
}

func newString(s string, p Pos) *Node { return &Node{kind: String, s: s, pos: p} }

// set adds key to a map node; a key already present keeps its place.
func (n *Node) set(key string, v *Node) {
	if _, ok := n.vals[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.vals[key] = v
}

// Kind returns the type of n.
func (n *Node) Kind() Kind {
	if n == nil {
		return Null
	}
	return n.kind
}

// Pos returns where n was declared: for a mapping value the position of
// its key, for a list item the item, for a document the start of its
// content, and for an alias the alias.
func (n *Node) Pos() Pos {
	if n == nil {
		return Pos{}
	}
	return n.pos
}

// Bool returns the value of a Bool node, false for other kinds.
func (n *Node) Bool() bool { return n != nil && n.b }

// Int returns the value of an Int node, 0 for other kinds. Integers
// outside the int64 range are Float nodes.
func (n *Node) Int() int64 {
	if n == nil {
		return 0
	}
	return n.i
}

// Float returns the value of a Float node (possibly ±Inf or NaN, from
// .inf and .nan), 0 for other kinds.
func (n *Node) Float() float64 {
	if n == nil {
		return 0
	}
	return n.f
}

// Str returns the value of a String node, "" for other kinds.
func (n *Node) Str() string {
	if n == nil {
		return ""
	}
	return n.s
}

// Len returns the number of entries of a Map node or items of a Seq node,
// 0 for other kinds.
func (n *Node) Len() int {
	switch n.Kind() {
	case Map:
		return len(n.keys)
	case Seq:
		return len(n.items)
	}
	return 0
}

// Get returns the value at key of a Map node, or nil when there is none
// or n is not a map.
func (n *Node) Get(key string) *Node {
	if n == nil || n.kind != Map {
		return nil
	}
	return n.vals[key]
}

// Entries yields the keys and values of a Map node in document order
// (keys brought in by a merge key last); nothing for other kinds. Keys are
// the text of scalar keys: 1, true and null become "1", "true" and "null".
func (n *Node) Entries() iter.Seq2[string, *Node] {
	return func(yield func(string, *Node) bool) {
		if n.Kind() != Map {
			return
		}
		for _, k := range n.keys {
			if !yield(k, n.vals[k]) {
				return
			}
		}
	}
}

// Items yields the index and value of each item of a Seq node; nothing
// for other kinds.
func (n *Node) Items() iter.Seq2[int, *Node] {
	return func(yield func(int, *Node) bool) {
		if n.Kind() != Seq {
			return
		}
		for i, it := range n.items {
			if !yield(i, it) {
				return
			}
		}
	}
}

// Interface converts n to plain Go values, the kind encoding/json decodes
// into an any but with integers kept exact: map[string]any, []any, string,
// int64, float64, bool and nil (for a nil Node too). Each call returns fresh maps and slices, also
// where aliases share a value, so the result may be modified. Its size is
// bounded by the node limit the parse applied. NaN and infinite floats
// have no JSON form; encoding/json refuses them.
func (n *Node) Interface() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case Bool:
		return n.b
	case Int:
		return n.i
	case Float:
		return n.f
	case String:
		return n.s
	case Map:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.vals[k].Interface()
		}
		return m
	case Seq:
		s := make([]any, len(n.items))
		for i, v := range n.items {
			s[i] = v.Interface()
		}
		return s
	}
	return nil
}
