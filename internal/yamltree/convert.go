package yamltree

import (
	"math"
	"strconv"

	"go.yaml.in/yaml/v4"
)

// converter turns the parser's node tree into nodes, resolving scalars,
// anchors, aliases and merge keys, and enforcing the node limits, the
// depth limit and the keys per mapping.
type converter struct {
	file    string
	lim     Limits
	budget  *Budget // shared with other parses; may be nil
	used    int     // nodes charged by this parse
	anchors map[string]anchor
	block   []Node // where new nodes are taken from
}

// nodeBlock is the number of nodes allocated at once: a few large
// allocations cost the collector less than many small ones, and the nodes
// of a tree live and die together. 240 nodes of 136 bytes fill the
// largest size class of small objects, 32 KiB, almost exactly.
const nodeBlock = 240

// node returns a new zero node.
func (c *converter) node() *Node {
	if len(c.block) == 0 {
		c.block = make([]Node, nodeBlock)
	}
	n := &c.block[0]
	c.block = c.block[1:]
	return n
}

// anchor is a converted anchored value with its size and height, so that
// aliases to it can be charged before they are used.
type anchor struct {
	val          *Node
	size, height int
}

// at returns where n starts: its first character, or the first of its
// anchor or tag when it has one. A block mapping starts at its first key.
func (c *converter) at(n *yaml.Node) Pos {
	return Pos{File: c.file, Line: n.Line, Column: n.Column}
}

// count charges k nodes to this parse and to the shared budget.
func (c *converter) count(n *yaml.Node, k int) error {
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
func (c *converter) convert(n *yaml.Node, depth int) (*Node, error) {
	p := c.at(n)
	if depth > c.lim.MaxDepth {
		return nil, c.tooDeep(p)
	}
	if n.Kind == yaml.AliasNode {
		return c.alias(n, p, depth)
	}
	if err := c.count(n, 1); err != nil {
		return nil, err
	}
	var v *Node
	switch n.Kind {
	case yaml.ScalarNode:
		v = c.node()
		*v = scalar(n)
		v.pos = p
	case yaml.SequenceNode:
		seq, err := c.convertSeq(n, p, depth)
		if err != nil {
			return nil, err
		}
		v = seq
	case yaml.MappingNode:
		m, err := c.convertMap(n, p, depth)
		if err != nil {
			return nil, err
		}
		v = m
	default:
		return nil, errorf(p, "unsupported YAML construct (node kind %d)", n.Kind)
	}
	if n.Anchor != "" {
		if c.anchors == nil {
			c.anchors = map[string]anchor{}
		}
		size, height := measure(v)
		c.anchors[n.Anchor] = anchor{val: v, size: size, height: height}
	}
	return v, nil
}

// alias returns a copy of the value of the anchor that n names, charging
// the whole expansion before using it, so that an alias bomb fails at
// once: consumers (Interface, a caller's own tree) expand shared values,
// and the limit is what they may build.
func (c *converter) alias(n *yaml.Node, p Pos, depth int) (*Node, error) {
	a, ok := c.anchors[n.Value]
	if !ok {
		// The parser defines an anchor where its value starts, so an
		// alias inside that value finds it; here it is only defined once
		// the value is complete.
		return nil, errorf(p, "alias *%s refers to no anchor defined before it", n.Value)
	}
	if depth+a.height > c.lim.MaxDepth {
		return nil, c.tooDeep(p)
	}
	if err := c.count(n, a.size); err != nil {
		return nil, err
	}
	cp := c.node()
	*cp = *a.val // the children stay shared: nodes are read-only
	cp.pos = p
	return cp, nil
}

func (c *converter) convertSeq(n *yaml.Node, p Pos, depth int) (*Node, error) {
	seq := c.node()
	*seq = Node{kind: Seq, pos: p, items: make([]*Node, 0, len(n.Content))}
	for _, item := range n.Content {
		it, err := c.convert(item, depth+1)
		if err != nil {
			return nil, err
		}
		seq.items = append(seq.items, it)
	}
	return seq, nil
}

// scalar resolves a scalar. Quoted and block scalars are strings; of the
// tags, the core schema's !!str and !!null are honoured and others are
// ignored (on mappings and lists too), as Backstage's YAML parser
// resolves unknown tags to their plain value.
func scalar(n *yaml.Node) Node {
	if n.Style&yaml.TaggedStyle != 0 {
		switch n.Tag {
		case "!!str":
			return Node{kind: String, s: n.Value}
		case "!!null":
			return Node{kind: Null}
		}
	}
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return Node{kind: String, s: n.Value}
	}
	return plain(n.Value)
}

// measure returns the number of nodes in n, shared values counted each
// time they appear, and its height.
func measure(n *Node) (size, height int) {
	size = 1
	visit := func(ch *Node) {
		s, h := measure(ch)
		size += s
		height = max(height, h+1)
	}
	switch n.kind {
	case Map:
		for _, k := range n.keys {
			visit(n.vals[k])
		}
	case Seq:
		for _, it := range n.items {
			visit(it)
		}
	}
	return size, height
}

// isMergeKey reports whether k is the merge key: "<<" as a plain scalar.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Style == 0 && k.Value == "<<"
}

// convertMap builds a map node. Explicit keys win over keys brought in by a
// "<<" merge key, wherever the merge key stands, as YAML 1.1 specifies.
// A block mapping may have at most MaxSiblings keys.
func (c *converter) convertMap(n *yaml.Node, p Pos, depth int) (*Node, error) {
	entries := len(n.Content) / 2
	if entries > c.lim.MaxSiblings && n.Style&yaml.FlowStyle == 0 {
		return nil, errorf(c.at(n.Content[2*c.lim.MaxSiblings]), "too many keys in one mapping (the limit is %d)", c.lim.MaxSiblings)
	}
	m := c.node()
	*m = Node{kind: Map, pos: p, vals: make(map[string]*Node, entries)}
	var merged []*Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			v, err := c.convert(val, depth+1)
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
				return nil, errorf(c.at(k), "a merge key (<<) takes a mapping or a list of mappings")
			}
			continue
		}
		key, err := c.keyText(k, depth)
		if err != nil {
			return nil, err
		}
		kp := c.at(k)
		if first, dup := m.vals[key]; dup {
			return nil, errorf(kp, "duplicate key: mapping key %q already defined at [%d:%d]", key, first.pos.Line, first.pos.Column)
		}
		v, err := c.convert(val, depth+1)
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
func (c *converter) keyText(k *yaml.Node, depth int) (string, error) {
	if k.Kind == yaml.MappingNode || k.Kind == yaml.SequenceNode {
		return "", errorf(c.at(k), "mapping keys must be plain values, not mappings or lists")
	}
	n, err := c.convert(k, depth+1)
	if err != nil {
		return "", err
	}
	if s, ok := n.keyString(); ok {
		return s, nil
	}
	return "", errorf(c.at(k), "mapping keys must be plain values, not mappings or lists")
}

// keyString renders a scalar as the map key JSON data would use; false
// for a mapping or a list.
func (n *Node) keyString() (string, bool) {
	switch n.kind {
	case String:
		return n.s, true
	case Null:
		return "null", true
	case Bool:
		return strconv.FormatBool(n.b), true
	case Int:
		return strconv.FormatInt(n.i, 10), true
	case Float:
		return FormatFloat(n.f), true
	}
	return "", false
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
