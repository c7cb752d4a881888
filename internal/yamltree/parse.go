package yamltree

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Error is a problem with the input, located as precisely as the parser
// allows: a syntax error, a duplicate key, a limit exceeded, or a
// construct that JSON-like data cannot hold (a dangling alias, a mapping
// as a key). Message does not repeat the position.
type Error struct {
	Pos
	Message string
}

// Error renders "file:line:col: message", leaving out what is unknown.
func (e *Error) Error() string {
	if at := e.Pos.String(); at != "" {
		return at + ": " + e.Message
	}
	return e.Message
}

func errorf(at Pos, format string, args ...any) *Error {
	return &Error{Pos: at, Message: fmt.Sprintf(format, args...)}
}

// ParseDocuments parses every document of a YAML (or JSON) stream and
// returns their roots in order. Empty documents (nothing, or only comments,
// between separators) are left out without ending the stream; an explicit
// null document is a Null node. Nodes are charged against lim.MaxNodes and,
// when budget is not nil, against budget too, so one budget can bound
// several files. file names the input in positions.
//
// The error, if any, is an *Error; no documents are returned with it.
func ParseDocuments(file string, data []byte, lim Limits, budget *Budget) ([]*Node, error) {
	return recovered(file, func() ([]*Node, error) { return parseDocuments(file, data, lim.withDefaults(), budget) })
}

// recovered runs parse, turning a panic into an error in file: goccy/go-yaml
// is third-party code fed untrusted text, and a panic in it must not crash
// the caller.
func recovered(file string, parse func() ([]*Node, error)) (docs []*Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, errorf(Pos{File: file}, "the YAML parser failed on this file: %v", r)
		}
	}()
	return parse()
}

func parseDocuments(file string, data []byte, lim Limits, budget *Budget) (docs []*Node, err error) {
	if len(data) > lim.MaxBytes {
		return nil, errorf(Pos{File: file}, "file is larger than the limit of %d bytes", lim.MaxBytes)
	}
	if n := countStructural(data); n > lim.MaxStructural {
		return nil, errorf(Pos{File: file}, "file is too complex: %d structural characters, the limit is %d", n, lim.MaxStructural)
	}
	tokens := lexer.Tokenize(string(data))
	if tk, msg := preScan(tokens, lim); msg != "" {
		return nil, &Error{Pos: tokenPos(file, tk), Message: msg}
	}
	c := &converter{file: file, lim: lim, budget: budget}
	for _, seg := range splitDocuments(tokens) {
		f, err := parser.Parse(seg, 0)
		if err != nil {
			return nil, syntaxError(file, err)
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
			c.anchors = map[string]anchor{} // anchors do not cross documents
			n, err := c.convert(doc.Body, 0)
			if err != nil {
				return nil, err
			}
			docs = append(docs, n)
		}
	}
	return docs, nil
}

// Parse parses a stream that holds at most one document, as a YAML or
// JSON file of one value does. It returns nil without error when there is
// no document, and an *Error locating the second document when there are
// more. The limits and the budget are those of ParseDocuments.
func Parse(file string, data []byte, lim Limits, budget *Budget) (*Node, error) {
	docs, err := ParseDocuments(file, data, lim, budget)
	switch {
	case err != nil:
		return nil, err
	case len(docs) == 0:
		return nil, nil
	case len(docs) > 1:
		return nil, &Error{Pos: docs[1].pos, Message: "expected one YAML document; document 2 is extra"}
	}
	return docs[0], nil
}

// splitDocuments cuts the token stream before each "---" that follows
// content and after each "...", so that goccy's parser sees one document
// at a time: given "---" directly followed by "---" it drops every
// document after them (createDocumentTokens in goccy/go-yaml v1.19). The
// directives before a "---" stay with the document they introduce.
func splitDocuments(tokens token.Tokens) []token.Tokens {
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

// syntaxError turns a goccy parse error into a located *Error.
func syntaxError(file string, err error) *Error {
	var se *yaml.SyntaxError
	if !errors.As(err, &se) {
		return &Error{Pos: Pos{File: file}, Message: err.Error()}
	}
	e := &Error{Pos: tokenPos(file, se.Token), Message: se.Message}
	if strings.Contains(se.Message, "already defined at") {
		e.Message = "duplicate key: " + se.Message
	}
	return e
}

func tokenPos(file string, tk *token.Token) Pos {
	p := Pos{File: file}
	if tk != nil && tk.Position != nil {
		p.Line, p.Column = tk.Position.Line, tk.Position.Column
	}
	return p
}
