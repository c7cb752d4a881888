package yamltree

import (
	"math"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// converter turns a goccy AST into nodes, resolving anchors, aliases and
// merge keys, and enforcing the node limits and the depth limit.
type converter struct {
	file    string
	lim     Limits
	budget  *Budget // shared with other parses; may be nil
	used    int     // nodes charged by this parse
	anchors map[string]anchor
}

// anchor is a converted anchored value with its size and height, so that
// aliases to it can be charged before they are used.
type anchor struct {
	val          *Node
	size, height int
}

// at returns where n starts.
func (c *converter) at(n ast.Node) Pos {
	return tokenPos(c.file, startToken(n))
}

// startToken returns the first token of n. goccy locates a block mapping
// at its first ':', so a mapping is located at its first key instead.
func startToken(n ast.Node) *token.Token {
	switch v := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		if len(v.Values) > 0 && v.Values[0].Key != nil && !v.IsFlowStyle {
			return startToken(v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return startToken(v.Key)
		}
	}
	return n.GetToken()
}

// count charges k nodes to this parse and to the shared budget.
func (c *converter) count(n ast.Node, k int) error {
	c.used += k
	ok, limit := c.used <= c.lim.MaxNodes, c.lim.MaxNodes
	if ok && c.budget != nil {
		ok, limit = c.budget.take(k)
	}
	if !ok {
		return errorf(c.at(n), "too many values (the limit is %d, aliases included)", limit)
	}
	return nil
}

func (c *converter) tooDeep(at Pos) error {
	return errorf(at, "values are nested too deeply (the limit is %d levels)", c.lim.MaxDepth)
}

// convert returns a node that the caller may reposition: it is never one
// already in the tree (an alias yields a shallow copy of its anchor's node).
func (c *converter) convert(n ast.Node, depth int) (*Node, error) {
	if depth > c.lim.MaxDepth {
		return nil, c.tooDeep(c.at(n))
	}
	switch n.(type) {
	case *ast.AnchorNode, *ast.TagNode, *ast.MappingKeyNode:
		// Wrappers: the value they hold is what counts. goccy refuses
		// chains of them ("!a !b x", "&a &b x"), so they cannot recurse
		// far.
	default:
		if err := c.count(n, 1); err != nil {
			return nil, err
		}
	}
	p := c.at(n)
	switch v := n.(type) {
	case nil:
		return &Node{kind: Null, pos: p}, nil
	case *ast.NullNode:
		return &Node{kind: Null, pos: p}, nil
	case *ast.BoolNode:
		return &Node{kind: Bool, b: v.Value, pos: p}, nil
	case *ast.IntegerNode:
		return intNode(v, p), nil
	case *ast.FloatNode:
		return &Node{kind: Float, f: v.Value, pos: p}, nil
	case *ast.InfinityNode:
		return &Node{kind: Float, f: v.Value, pos: p}, nil
	case *ast.NanNode:
		return &Node{kind: Float, f: math.NaN(), pos: p}, nil
	case *ast.StringNode:
		return newString(v.Value, p), nil
	case *ast.LiteralNode:
		return newString(v.Value.Value, p), nil
	case *ast.TagNode:
		return c.convertTag(v, depth)
	case *ast.AnchorNode:
		val, err := c.convert(v.Value, depth)
		if err != nil {
			return nil, err
		}
		size, height := measure(val)
		c.anchors[v.Name.GetToken().Value] = anchor{val: val, size: size, height: height}
		return val, nil
	case *ast.AliasNode:
		name := v.Value.GetToken().Value
		a, ok := c.anchors[name]
		if !ok {
			return nil, errorf(p, "alias *%s refers to no anchor defined before it", name)
		}
		// Charge the whole expansion before using it, so that an alias
		// bomb fails at once: consumers (Interface, a caller's own tree)
		// expand shared values, and the limit is what they may build.
		if depth+a.height > c.lim.MaxDepth {
			return nil, c.tooDeep(p)
		}
		if err := c.count(n, a.size-1); err != nil {
			return nil, err
		}
		cp := *a.val // the children stay shared: nodes are read-only
		cp.pos = p
		return &cp, nil
	case *ast.MappingNode:
		return c.convertMap(v.Values, p, depth)
	case *ast.MappingValueNode:
		return c.convertMap([]*ast.MappingValueNode{v}, p, depth)
	case *ast.SequenceNode:
		seq := &Node{kind: Seq, pos: p, items: make([]*Node, 0, len(v.Values))}
		for _, item := range v.Values {
			it, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			it.pos = c.at(item)
			seq.items = append(seq.items, it)
		}
		return seq, nil
	case *ast.MappingKeyNode:
		return c.convert(v.Value, depth)
	}
	return nil, errorf(p, "unsupported YAML construct %s", n.Type())
}

func intNode(v *ast.IntegerNode, p Pos) *Node {
	switch x := v.Value.(type) {
	case int64:
		return &Node{kind: Int, i: x, pos: p}
	case uint64:
		if x <= math.MaxInt64 {
			return &Node{kind: Int, i: int64(x), pos: p}
		}
		return &Node{kind: Float, f: float64(x), pos: p}
	}
	if f, err := strconv.ParseFloat(v.Token.Value, 64); err == nil {
		return &Node{kind: Float, f: f, pos: p}
	}
	return newString(v.Token.Value, p)
}

// convertTag honours the core-schema tags !!str and !!null; others are
// ignored, as Backstage's YAML parser resolves unknown tags to their plain
// value.
func (c *converter) convertTag(v *ast.TagNode, depth int) (*Node, error) {
	p := c.at(v)
	switch token.ReservedTagKeyword(v.Start.Value) {
	case token.StringTag:
		if s, ok := v.Value.(ast.ScalarNode); ok {
			if err := c.count(v, 1); err != nil {
				return nil, err
			}
			switch x := s.(type) {
			case *ast.StringNode:
				return newString(x.Value, p), nil
			case *ast.LiteralNode:
				return newString(x.Value.Value, p), nil
			}
			return newString(s.GetToken().Value, p), nil
		}
	case token.NullTag:
		if err := c.count(v, 1); err != nil {
			return nil, err
		}
		return &Node{kind: Null, pos: p}, nil
	}
	n, err := c.convert(v.Value, depth)
	if err != nil {
		return nil, err
	}
	n.pos = p
	return n, nil
}

// measure returns the number of nodes in n, shared values counted each
// time they appear, and its height.
func measure(n *Node) (size, height int) {
	size = 1
	var children []*Node
	switch n.kind {
	case Map:
		for _, k := range n.keys {
			children = append(children, n.vals[k])
		}
	case Seq:
		children = n.items
	}
	for _, ch := range children {
		s, h := measure(ch)
		size += s
		height = max(height, h+1)
	}
	return size, height
}

// convertMap builds a map node. Explicit keys win over keys brought in by a
// "<<" merge key, wherever the merge key stands, as YAML 1.1 specifies.
func (c *converter) convertMap(entries []*ast.MappingValueNode, p Pos, depth int) (*Node, error) {
	m := newMap(p, len(entries))
	var merged []*Node
	for _, e := range entries {
		if e.Key != nil && e.Key.IsMergeKey() {
			v, err := c.convert(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			switch v.kind {
			case Map:
				merged = append(merged, v)
			case Seq:
				for _, it := range v.items {
					if it.kind != Map {
						return nil, errorf(it.pos, "a merge key (<<) takes a mapping or a list of mappings")
					}
					merged = append(merged, it)
				}
			default:
				return nil, errorf(c.at(e.Key), "a merge key (<<) takes a mapping or a list of mappings")
			}
			continue
		}
		key, err := c.keyText(e.Key, depth)
		if err != nil {
			return nil, err
		}
		kp := c.at(e.Key)
		if first, dup := m.vals[key]; dup {
			return nil, errorf(kp, "duplicate key: mapping key %q already defined at [%d:%d]", key, first.pos.Line, first.pos.Column)
		}
		v, err := c.convert(e.Value, depth+1)
		if err != nil {
			return nil, err
		}
		v.pos = kp
		m.set(key, v)
	}
	for _, src := range merged {
		for _, k := range src.keys {
			if _, ok := m.vals[k]; !ok {
				m.set(k, src.vals[k])
			}
		}
	}
	return m, nil
}

// keyText renders a scalar key as the string JSON data would use.
func (c *converter) keyText(k ast.MapKeyNode, depth int) (string, error) {
	if k == nil {
		return "null", nil
	}
	n, err := c.convert(k, depth+1)
	if err != nil {
		return "", err
	}
	switch n.kind {
	case String:
		return n.s, nil
	case Null:
		return "null", nil
	case Bool:
		return strconv.FormatBool(n.b), nil
	case Int:
		return strconv.FormatInt(n.i, 10), nil
	case Float:
		return FormatFloat(n.f), nil
	}
	return "", errorf(c.at(k), "mapping keys must be plain values, not mappings or lists")
}

// FormatFloat renders f as YAML writes it: .inf, -.inf, .nan, or the
// shortest decimal that reads back as f. Map keys that are floats become
// this text.
func FormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	case math.IsNaN(f):
		return ".nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
