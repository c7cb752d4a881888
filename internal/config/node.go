package config

import (
	"fmt"
	"strconv"
	"strings"

	"greenroom/internal/yamltree"
)

// kind is the JSON-like type of a config value: yamltree's kinds, since
// most values are parsed from YAML. Backstage config is JSON data, so
// YAML-only types (timestamps, binary) arrive here as strings.
type kind = yamltree.Kind

const (
	kindNull   = yamltree.Null
	kindBool   = yamltree.Bool
	kindInt    = yamltree.Int
	kindFloat  = yamltree.Float
	kindString = yamltree.String
	kindMap    = yamltree.Map
	kindSeq    = yamltree.Seq
)

// pos is where a value was declared: for a mapping entry the position of its
// key, for a list item the position of the item. A value read from the
// environment has a file name only (the variable's name).
type pos struct {
	file string
	line int
	col  int
}

// node is one value of the config tree. Maps keep the order of their keys so
// that problems, Raw and Dump are deterministic.
type node struct {
	kind  kind
	b     bool
	i     int64
	f     float64
	s     string
	keys  []string
	vals  map[string]*node
	items []*node
	pos   pos
}

func newMap(p pos) *node { return &node{kind: kindMap, vals: map[string]*node{}, pos: p} }

func newString(s string, p pos) *node { return &node{kind: kindString, s: s, pos: p} }

// get returns the child at key of a map node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	return n.vals[key]
}

// set adds or replaces key in a map node, keeping the first position of key.
func (n *node) set(key string, v *node) {
	if _, ok := n.vals[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.vals[key] = v
}

// del removes key from a map node.
func (n *node) del(key string) {
	if _, ok := n.vals[key]; !ok {
		return
	}
	delete(n.vals, key)
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i:i], n.keys[i+1:]...)
			break
		}
	}
}

// toAny converts n to plain Go values: map[string]any, []any, string, bool,
// int64, float64 or nil.
func (n *node) toAny() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindBool:
		return n.b
	case kindInt:
		return n.i
	case kindFloat:
		return n.f
	case kindString:
		return n.s
	case kindMap:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.vals[k].toAny()
		}
		return m
	case kindSeq:
		s := make([]any, len(n.items))
		for i, v := range n.items {
			s[i] = v.toAny()
		}
		return s
	}
	return nil
}

// describe renders n for a "got ..." message without flooding it.
func (n *node) describe() string {
	if n == nil {
		return "nothing"
	}
	switch n.kind {
	case kindNull:
		return "null"
	case kindBool:
		return strconv.FormatBool(n.b)
	case kindInt:
		return strconv.FormatInt(n.i, 10)
	case kindFloat:
		return yamltree.FormatFloat(n.f)
	case kindString:
		s := n.s
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return strconv.Quote(s)
	case kindMap:
		return "a mapping"
	case kindSeq:
		return "a list"
	}
	return "?"
}

// pathStep is one step of a path: a map key, or a list index when isIndex.
type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// parsePath splits "a.b[2].c" into steps. Keys cannot contain '.', '[' or
// ']'; such keys are still kept in the tree, they just cannot be addressed.
func parsePath(path string) ([]pathStep, error) {
	if path == "" {
		return nil, nil
	}
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		key := part
		var idx []int
		if i := strings.IndexByte(part, '['); i >= 0 {
			key = part[:i]
			rest := part[i:]
			for rest != "" {
				end := strings.IndexByte(rest, ']')
				if rest[0] != '[' || end < 0 {
					return nil, fmt.Errorf("config: invalid path %q", path)
				}
				n, err := strconv.Atoi(rest[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("config: invalid index in path %q", path)
				}
				idx = append(idx, n)
				rest = rest[end+1:]
			}
		}
		if key == "" && len(idx) == 0 {
			return nil, fmt.Errorf("config: empty key in path %q", path)
		}
		if key != "" {
			steps = append(steps, pathStep{key: key})
		}
		for _, n := range idx {
			steps = append(steps, pathStep{index: n, isIndex: true})
		}
	}
	return steps, nil
}

// lookup follows steps from n. It returns the node found (nil when absent)
// and the deepest node reached on the way, for locating problems.
func lookup(n *node, steps []pathStep) (found, deepest *node) {
	deepest = n
	cur := n
	for _, s := range steps {
		var next *node
		switch {
		case cur == nil:
		case s.isIndex && cur.kind == kindSeq && s.index < len(cur.items):
			next = cur.items[s.index]
		case !s.isIndex:
			next = cur.get(s.key)
		}
		if next == nil {
			return nil, deepest
		}
		cur = next
		deepest = cur
	}
	return cur, deepest
}

// joinPath appends key to a dotted path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
