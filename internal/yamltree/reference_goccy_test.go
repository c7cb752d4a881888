package yamltree

// This file keeps the goccy/go-yaml based implementation that yamltree had
// before it moved to go.yaml.in/yaml/v4, as a reference for the
// differential test (differential_test.go) and the benchmarks: the same
// pre-scan, document splitting and conversion, with its identifiers
// prefixed by goccy. It shares Node, Error, Limits and Budget with the
// package.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// goccyParse is the former ParseDocuments.
func goccyParse(file string, data []byte, lim Limits, budget *Budget) ([]*Node, error) {
	return recovered(file, func() ([]*Node, error) { return goccyParseDocuments(file, data, lim.withDefaults(), budget) })
}

func goccyParseDocuments(file string, data []byte, lim Limits, budget *Budget) (docs []*Node, err error) {
	if len(data) > lim.MaxBytes {
		return nil, errorf(Pos{File: file}, "file is larger than the limit of %d bytes", lim.MaxBytes)
	}
	if n := countStructural(data); n > lim.MaxStructural {
		return nil, errorf(Pos{File: file}, "file is too complex: %d structural characters, the limit is %d", n, lim.MaxStructural)
	}
	tokens := lexer.Tokenize(string(data))
	if tk, msg := goccyPreScan(tokens, lim); msg != "" {
		return nil, &Error{Pos: goccyTokenPos(file, tk), Message: msg}
	}
	c := &goccyConverter{file: file, lim: lim, budget: budget}
	for _, seg := range goccySplitDocuments(tokens) {
		f, err := parser.Parse(seg, 0)
		if err != nil {
			return nil, goccySyntaxError(file, err)
		}
		for _, doc := range f.Docs {
			if doc == nil || doc.Body == nil {
				continue
			}
			switch doc.Body.(type) {
			case *ast.CommentGroupNode, *ast.DirectiveNode:
				// goccy makes a document of the comments of an empty
				// one, and of the directives (%YAML, %TAG) before "---".
				continue
			}
			c.anchors = map[string]goccyAnchor{} // anchors do not cross documents
			n, err := c.convert(doc.Body, 0)
			if err != nil {
				return nil, err
			}
			docs = append(docs, n)
		}
	}
	return docs, nil
}

// goccySplitDocuments cuts the token stream before each "---" that follows
// content and after each "...", so that goccy's parser sees one document
// at a time: given "---" directly followed by "---" it drops every
// document after them (createDocumentTokens in goccy/go-yaml v1.19). The
// directives before a "---" stay with the document they introduce.
func goccySplitDocuments(tokens token.Tokens) []token.Tokens {
	var segs []token.Tokens
	start, prelude := 0, -1 // prelude: first directive token after the last content, or -1
	content := false        // the segment holds a "---" or a value
	directiveLine := -1
	for i, tk := range tokens {
		line := 0
		if tk.Position != nil {
			line = tk.Position.Line
		}
		switch {
		case tk.Type == token.CommentType:
		case tk.Type == token.DirectiveType:
			directiveLine = line
			if prelude < 0 {
				prelude = i
			}
		case line == directiveLine && tk.Type != token.DocumentHeaderType && tk.Type != token.DocumentEndType:
			// The name and parameters of a directive.
		case tk.Type == token.DocumentHeaderType:
			if content {
				cut := i
				if prelude >= 0 {
					cut = prelude
				}
				segs = append(segs, tokens[start:cut])
				start = cut
			}
			content, prelude = true, -1
		case tk.Type == token.DocumentEndType:
			segs = append(segs, tokens[start:i+1])
			start, content, prelude = i+1, false, -1
		default:
			content, prelude = true, -1
		}
	}
	if start < len(tokens) {
		segs = append(segs, tokens[start:])
	}
	return segs
}

// goccySyntaxError turns a goccy parse error into a located *Error.
func goccySyntaxError(file string, err error) *Error {
	var se *yaml.SyntaxError
	if !errors.As(err, &se) {
		return &Error{Pos: Pos{File: file}, Message: err.Error()}
	}
	e := &Error{Pos: goccyTokenPos(file, se.Token), Message: se.Message}
	if strings.Contains(se.Message, "already defined at") {
		e.Message = "duplicate key: " + se.Message
	}
	return e
}

func goccyTokenPos(file string, tk *token.Token) Pos {
	p := Pos{File: file}
	if tk != nil && tk.Position != nil {
		p.Line, p.Column = tk.Position.Line, tk.Position.Column
	}
	return p
}

// goccyConverter turns a goccy AST into nodes, resolving anchors, aliases and
// merge keys, and enforcing the node limits and the depth limit.
type goccyConverter struct {
	file    string
	lim     Limits
	budget  *Budget // shared with other parses; may be nil
	used    int     // nodes charged by this parse
	anchors map[string]goccyAnchor
}

// goccyAnchor is a converted anchored value with its size and height, so that
// aliases to it can be charged before they are used.
type goccyAnchor struct {
	val          *Node
	size, height int
}

// at returns where n starts.
func (c *goccyConverter) at(n ast.Node) Pos {
	return goccyTokenPos(c.file, goccyStartToken(n))
}

// goccyStartToken returns the first token of n. goccy locates a block mapping
// at its first ':', so a mapping is located at its first key instead.
func goccyStartToken(n ast.Node) *token.Token {
	switch v := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		if len(v.Values) > 0 && v.Values[0].Key != nil && !v.IsFlowStyle {
			return goccyStartToken(v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return goccyStartToken(v.Key)
		}
	}
	return n.GetToken()
}

// count charges k nodes to this parse and to the shared budget.
func (c *goccyConverter) count(n ast.Node, k int) error {
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

func (c *goccyConverter) tooDeep(at Pos) error {
	return errorf(at, "values are nested too deeply (the limit is %d levels)", c.lim.MaxDepth)
}

// convert returns a node that the caller may reposition: it is never one
// already in the tree (an alias yields a shallow copy of its anchor's node).
func (c *goccyConverter) convert(n ast.Node, depth int) (*Node, error) {
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
		return goccyIntNode(v, p), nil
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
		size, height := goccyMeasure(val)
		c.anchors[v.Name.GetToken().Value] = goccyAnchor{val: val, size: size, height: height}
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

func goccyIntNode(v *ast.IntegerNode, p Pos) *Node {
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
func (c *goccyConverter) convertTag(v *ast.TagNode, depth int) (*Node, error) {
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

// goccyMeasure returns the number of nodes in n, shared values counted each
// time they appear, and its height.
func goccyMeasure(n *Node) (size, height int) {
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
		s, h := goccyMeasure(ch)
		size += s
		height = max(height, h+1)
	}
	return size, height
}

// convertMap builds a map node. Explicit keys win over keys brought in by a
// "<<" merge key, wherever the merge key stands, as YAML 1.1 specifies.
func (c *goccyConverter) convertMap(entries []*ast.MappingValueNode, p Pos, depth int) (*Node, error) {
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
func (c *goccyConverter) keyText(k ast.MapKeyNode, depth int) (string, error) {
	if k == nil {
		return "null", nil
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

// goccyPreScan rejects token streams that would make goccy's parser slow: too
// deep, or block mappings with too many keys. Columns of the first token of
// each line (and of each token after a "- " entry) approximate the block
// structure, exactly as the parser compares them.
//
// goccy's parser allocates about 5 bytes times the square of the number of
// keys of a block mapping, so besides MaxSiblings per mapping the squares
// are bounded over the whole input: each key adds the number of keys
// before it in its mapping to work (k²/2 for k keys), which may reach
// MaxSiblings², two mappings at the limit: about 250 MB of garbage for
// the default of 5,000.
func goccyPreScan(tokens token.Tokens, lim Limits) (*token.Token, string) {
	type level struct{ col, keys int }
	var stack []level
	flow, line, lead, colons := 0, -1, false, 0
	work, maxWork := 0, lim.MaxSiblings*lim.MaxSiblings
	for _, tk := range tokens {
		if tk.Type == token.CommentType || tk.Position == nil {
			continue
		}
		if tk.Position.Line != line {
			line, lead, colons = tk.Position.Line, true, 0
		}
		// Block mappings cannot nest on one line ("a: b: c"); goccy takes
		// seconds to say so when a line holds thousands of them.
		if tk.Type == token.MappingValueType && flow == 0 {
			if colons++; colons > 1 {
				return tk, "mapping value is not allowed in this context"
			}
		}
		switch tk.Type {
		case token.DocumentHeaderType, token.DocumentEndType:
			stack, flow = stack[:0], 0
			continue
		}
		if lead && flow == 0 {
			c := tk.Position.Column
			for len(stack) > 0 && stack[len(stack)-1].col > c {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && stack[len(stack)-1].col == c {
				if tk.Type != token.SequenceEntryType {
					stack[len(stack)-1].keys++
					if stack[len(stack)-1].keys > lim.MaxSiblings {
						return tk, fmt.Sprintf("too many keys in one mapping (the limit is %d)", lim.MaxSiblings)
					}
					if work += stack[len(stack)-1].keys - 1; work > maxWork {
						return tk, fmt.Sprintf("too many keys in large mappings (the limit is about two mappings of %d keys)", lim.MaxSiblings)
					}
				}
			} else {
				stack = append(stack, level{col: c, keys: 1})
			}
		}
		lead = tk.Type == token.SequenceEntryType && flow == 0
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			if flow > 0 {
				flow--
			}
		}
		if len(stack)+flow > 4*lim.MaxDepth {
			return tk, fmt.Sprintf("values are nested too deeply (the limit is %d levels)", lim.MaxDepth)
		}
	}
	return nil, ""
}
