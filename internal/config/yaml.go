package config

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

// Limits on what one Load accepts. They are far above any real
// app-config.yaml and keep hostile input (alias bombs, deep nesting) from
// costing more than a fraction of a second or a few hundred megabytes.
const (
	maxFileBytes = 4 << 20   // per file, including $file and $include targets
	maxNodes     = 1_000_000 // values produced by one Load, alias expansions included
	maxDepth     = 64        // nesting of maps and lists
	maxIncludes  = 10        // nesting of $include
	// goccy/go-yaml allocates about 1 KiB per token and its parser is
	// quadratic in the number of keys of one block mapping and in nesting
	// depth, so the text is checked before it reaches the parser.
	maxStructural   = 100_000 // structural characters ([]{},:-?'"&*!|>%@ and newlines) per file
	maxSiblings     = 5_000   // keys of one block mapping
	maxPreScanDepth = 256     // nesting seen by the pre-scan (the exact limit, maxDepth, is applied after parsing)
)

// budget is shared by every file read during one Load.
type budget struct {
	nodes int
}

func (b *budget) take(n int) bool {
	b.nodes += n
	return b.nodes <= maxNodes
}

// convError aborts a conversion: a limit was exceeded or the YAML holds
// something config data cannot (a dangling alias, a mapping as a key).
type convError struct {
	at  pos
	msg string
}

func (e *convError) Error() string { return e.msg }

// parseYAML parses one YAML (or JSON) document into a node tree. It returns
// nil without problems for an empty document. Problems are located in file.
func parseYAML(file string, data []byte, b *budget, ps *problems) (root *node) {
	// goccy/go-yaml is third-party code fed untrusted text: a panic in it
	// becomes a problem with the file instead of crashing start-up.
	defer func() {
		if r := recover(); r != nil {
			ps.add(SeverityError, pos{file: file}, "", fmt.Sprintf("the YAML parser failed on this file: %v", r))
			root = nil
		}
	}()
	if n := countStructural(data); n > maxStructural {
		ps.add(SeverityError, pos{file: file}, "", fmt.Sprintf("file is too complex: %d structural characters, the limit is %d", n, maxStructural))
		return nil
	}
	tokens := lexer.Tokenize(string(data))
	if tk, msg := preScan(tokens); msg != "" {
		ps.add(SeverityError, tokenPos(file, tk), "", msg)
		return nil
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		ps.list = append(ps.list, syntaxProblem(file, err))
		return nil
	}
	var body ast.Node
	for i, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			ps.add(SeverityError, tokenPos(file, startToken(doc.Body)), "", fmt.Sprintf("a config file holds one YAML document; document %d is extra", i+1))
			return nil
		}
		body = doc.Body
	}
	if body == nil {
		return nil
	}
	c := converter{file: file, budget: b, anchors: map[string]anchor{}}
	n, err := c.convert(body, 0)
	if err != nil {
		var lim *convError
		if errors.As(err, &lim) {
			ps.add(SeverityError, lim.at, "", lim.msg)
		} else {
			ps.add(SeverityError, pos{file: file}, "", err.Error())
		}
		return nil
	}
	n.pos = pos{file: file, line: 1, col: 1}
	return n
}

// countStructural counts the bytes that can start or separate YAML tokens;
// the number of tokens goccy produces is at most about twice this.
func countStructural(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case '[', ']', '{', '}', ',', ':', '-', '?', '\'', '"', '&', '*', '!', '|', '>', '%', '@', '\n':
			n++
		}
	}
	return n
}

// preScan rejects token streams that would make goccy's parser slow: too
// deep, or a block mapping with too many keys. Columns of the first token of
// each line (and of each token after a "- " entry) approximate the block
// structure, exactly as the parser compares them.
func preScan(tokens token.Tokens) (*token.Token, string) {
	type level struct{ col, keys int }
	var stack []level
	flow, line, lead, colons := 0, -1, false, 0
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
					if stack[len(stack)-1].keys > maxSiblings {
						return tk, fmt.Sprintf("too many keys in one mapping (the limit is %d)", maxSiblings)
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
		if len(stack)+flow > maxPreScanDepth {
			return tk, fmt.Sprintf("values are nested too deeply (the limit is %d levels)", maxDepth)
		}
	}
	return nil, ""
}

func tokenPos(file string, tk *token.Token) pos {
	p := pos{file: file}
	if tk != nil && tk.Position != nil {
		p.line, p.col = tk.Position.Line, tk.Position.Column
	}
	return p
}

// syntaxProblem turns a goccy parse error into a located Problem.
func syntaxProblem(file string, err error) Problem {
	p := Problem{Severity: SeverityError, File: file, Message: err.Error()}
	var se *yaml.SyntaxError
	if errors.As(err, &se) {
		at := tokenPos(file, se.Token)
		p.Line, p.Column = at.line, at.col
		p.Message = se.Message
		if strings.Contains(se.Message, "already defined at") {
			p.Message = "duplicate key: " + se.Message
		}
	}
	return p
}

// converter turns a goccy AST into nodes, resolving anchors, aliases and
// merge keys, and enforcing the node budget and depth limit.
type converter struct {
	file    string
	budget  *budget
	anchors map[string]anchor
}

// anchor is a converted anchored value with its size and height, so that
// aliases to it can be charged before they are copied.
type anchor struct {
	val          *node
	size, height int
}

// at returns where n starts. goccy locates a mapping at its first ':', so a
// mapping is located at its first key instead.
func (c *converter) at(n ast.Node) pos {
	return tokenPos(c.file, startToken(n))
}

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

func (c *converter) count(n ast.Node, k int) error {
	if !c.budget.take(k) {
		return &convError{at: c.at(n), msg: fmt.Sprintf("too many values (the limit is %d, aliases included)", maxNodes)}
	}
	return nil
}

func (c *converter) convert(n ast.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &convError{at: c.at(n), msg: fmt.Sprintf("values are nested too deeply (the limit is %d levels)", maxDepth)}
	}
	if err := c.count(n, 1); err != nil {
		return nil, err
	}
	p := c.at(n)
	switch v := n.(type) {
	case nil:
		return &node{kind: kindNull, pos: p}, nil
	case *ast.NullNode:
		return &node{kind: kindNull, pos: p}, nil
	case *ast.BoolNode:
		return &node{kind: kindBool, b: v.Value, pos: p}, nil
	case *ast.IntegerNode:
		return intNode(v, p), nil
	case *ast.FloatNode:
		return &node{kind: kindFloat, f: v.Value, pos: p}, nil
	case *ast.InfinityNode:
		return &node{kind: kindFloat, f: v.Value, pos: p}, nil
	case *ast.NanNode:
		return &node{kind: kindFloat, f: math.NaN(), pos: p}, nil
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
			return nil, &convError{at: p, msg: fmt.Sprintf("alias *%s refers to no anchor defined before it", name)}
		}
		// Charge the whole expansion before copying anything, so that an
		// alias bomb fails at once instead of after a million copies.
		if depth+a.height > maxDepth {
			return nil, &convError{at: p, msg: fmt.Sprintf("values are nested too deeply (the limit is %d levels)", maxDepth)}
		}
		if err := c.count(n, a.size-1); err != nil {
			return nil, err
		}
		cp := a.val.clone()
		cp.pos = p
		return cp, nil
	case *ast.MappingNode:
		return c.convertMap(v.Values, p, depth)
	case *ast.MappingValueNode:
		return c.convertMap([]*ast.MappingValueNode{v}, p, depth)
	case *ast.SequenceNode:
		seq := &node{kind: kindSeq, pos: p, items: make([]*node, 0, len(v.Values))}
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
	return nil, &convError{at: p, msg: fmt.Sprintf("unsupported YAML construct %s", n.Type())}
}

func intNode(v *ast.IntegerNode, p pos) *node {
	switch x := v.Value.(type) {
	case int64:
		return &node{kind: kindInt, i: x, pos: p}
	case uint64:
		if x <= math.MaxInt64 {
			return &node{kind: kindInt, i: int64(x), pos: p}
		}
		return &node{kind: kindFloat, f: float64(x), pos: p}
	}
	if f, err := strconv.ParseFloat(v.Token.Value, 64); err == nil {
		return &node{kind: kindFloat, f: f, pos: p}
	}
	return newString(v.Token.Value, p)
}

// convertTag honours the core-schema tags; others are ignored, as
// Backstage's YAML parser resolves unknown tags to their plain value.
func (c *converter) convertTag(v *ast.TagNode, depth int) (*node, error) {
	p := c.at(v)
	if token.ReservedTagKeyword(v.Start.Value) == token.StringTag {
		if s, ok := v.Value.(ast.ScalarNode); ok {
			if str, isStr := s.(*ast.StringNode); isStr {
				return newString(str.Value, p), nil
			}
			if lit, isLit := s.(*ast.LiteralNode); isLit {
				return newString(lit.Value.Value, p), nil
			}
			return newString(s.GetToken().Value, p), nil
		}
	}
	if token.ReservedTagKeyword(v.Start.Value) == token.NullTag {
		return &node{kind: kindNull, pos: p}, nil
	}
	n, err := c.convert(v.Value, depth)
	if err != nil {
		return nil, err
	}
	n.pos = p
	return n, nil
}

// measure returns the number of nodes in n and its height.
func measure(n *node) (size, height int) {
	size = 1
	var children []*node
	switch n.kind {
	case kindMap:
		for _, k := range n.keys {
			children = append(children, n.vals[k])
		}
	case kindSeq:
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
func (c *converter) convertMap(entries []*ast.MappingValueNode, p pos, depth int) (*node, error) {
	m := newMap(p)
	var merged []*node
	for _, e := range entries {
		if e.Key != nil && e.Key.IsMergeKey() {
			v, err := c.convert(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			switch v.kind {
			case kindMap:
				merged = append(merged, v)
			case kindSeq:
				for _, it := range v.items {
					if it.kind != kindMap {
						return nil, &convError{at: it.pos, msg: "a merge key (<<) takes a mapping or a list of mappings"}
					}
					merged = append(merged, it)
				}
			default:
				return nil, &convError{at: c.at(e.Key), msg: "a merge key (<<) takes a mapping or a list of mappings"}
			}
			continue
		}
		key, err := c.keyText(e.Key, depth)
		if err != nil {
			return nil, err
		}
		kp := c.at(e.Key)
		if _, dup := m.vals[key]; dup {
			first := m.vals[key].pos
			return nil, &convError{at: kp, msg: fmt.Sprintf("duplicate key: mapping key %q already defined at [%d:%d]", key, first.line, first.col)}
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

// keyText renders a scalar key as the string Backstage's JSON data would use.
func (c *converter) keyText(k ast.MapKeyNode, depth int) (string, error) {
	if k == nil {
		return "null", nil
	}
	n, err := c.convert(k, depth+1)
	if err != nil {
		return "", err
	}
	switch n.kind {
	case kindString:
		return n.s, nil
	case kindNull:
		return "null", nil
	case kindBool:
		return strconv.FormatBool(n.b), nil
	case kindInt:
		return strconv.FormatInt(n.i, 10), nil
	case kindFloat:
		return formatFloat(n.f), nil
	}
	return "", &convError{at: c.at(k), msg: "mapping keys must be plain values, not mappings or lists"}
}
