package yamltree

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
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

// recovered runs parse, turning a panic into an error in file: the YAML
// parser is third-party code fed untrusted text, and a panic in it must
// not crash the caller.
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
	text := prepare(data)
	hooks := &parserHooks{maxDepth: lim.parserDepth(), limit: lim.MaxDepth}
	loader, err := yaml.NewLoader(bytes.NewReader(text), yaml.WithPlugin(hooks))
	if err != nil {
		// Only invalid options fail here, never the input.
		return nil, errorf(Pos{File: file}, "the YAML parser cannot start: %v", err)
	}
	c := &converter{file: file, lim: lim, budget: budget}
	for {
		var doc yaml.Node
		if err := loader.Load(&doc); err == io.EOF {
			return docs, nil
		} else if err != nil {
			return nil, loadError(file, text, hooks, err)
		}
		if len(doc.Content) == 0 || emptyDocument(doc.Content[0]) {
			continue
		}
		clear(c.anchors) // anchors do not cross documents
		n, err := c.convert(doc.Content[0], 0)
		if err != nil {
			return nil, err
		}
		docs = append(docs, n)
	}
}

// emptyDocument reports whether n is the content of a document that has
// none: the parser gives nothing between two separators, or only comments,
// as an empty plain scalar. An explicit null ("--- ~", "--- !!null") is a
// document.
func emptyDocument(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Style == 0 && n.Value == "" && n.Anchor == ""
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

// countStructural counts the bytes that can start or separate YAML tokens.
// The parser makes at most about one token, event and node per structural
// character, so this bounds its time and memory before it starts.
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

// parserHooks is handed to the parser as a plugin. It bounds the nesting
// the parser accepts, and it answers every alias, so that the converter,
// which keeps its own anchors, reports dangling ones in its own words.
type parserHooks struct {
	maxDepth int  // the nesting the parser allows
	limit    int  // MaxDepth, for the message
	tooDeep  bool // the parser stopped at maxDepth
}

var (
	_ yaml.LoaderLimitsPlugin = (*parserHooks)(nil)
	_ yaml.AliasDataPlugin    = (*parserHooks)(nil)
)

// CheckDepth stops the parser when its block or its flow nesting passes
// maxDepth. The parser's composer recurses once a level.
func (h *parserHooks) CheckDepth(depth int, _ *yaml.DepthContext) error {
	if depth > h.maxDepth {
		h.tooDeep = true
		return errors.New("nested too deeply")
	}
	return nil
}

// CheckAlias allows any expansion: nothing is expanded while the parser
// builds its tree, and the converter charges every alias in full.
func (h *parserHooks) CheckAlias(aliasCount, constructCount int) error { return nil }

// NewAliasDataContext implements yaml.AliasDataPlugin.
func (h *parserHooks) NewAliasDataContext(yaml.AliasDataServices) (yaml.AliasDataContext, error) {
	return aliasPlaceholders{node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}}, nil
}

// aliasPlaceholders resolves every alias to one placeholder node, which
// the converter never reads: it looks anchors up by name itself, after
// the anchored value is complete, as a value cannot contain itself.
type aliasPlaceholders struct{ node *yaml.Node }

func (a aliasPlaceholders) BeginDocument() error                  { return nil }
func (a aliasPlaceholders) DefineAnchor(string, *yaml.Node) error { return nil }
func (a aliasPlaceholders) EndDocument() error                    { return nil }
func (a aliasPlaceholders) ResolveAlias(string) (*yaml.Node, bool, error) {
	return a.node, true, nil
}

// loadError turns an error of the parser into a located *Error. Errors of
// its reader (bad UTF-8 or control characters) carry a byte offset
// rather than a line and column.
func loadError(file string, text []byte, hooks *parserHooks, err error) *Error {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &Error{Pos: Pos{File: file}, Message: err.Error()}
	}
	at := Pos{File: file, Line: le.Mark.Line, Column: le.Mark.Column}
	if le.Stage == yaml.ReaderStage {
		at.Line, at.Column = offsetPos(text, le.Mark.Index)
	} else if line, col := offsetPos(text, len(text)); at.Line == line && at.Column == col {
		// Found at the end of the input, where something is missing (a
		// closing bracket, a value): point at the last character written
		// rather than past it.
		at.Line, at.Column = lastContent(text)
	}
	if hooks.tooDeep {
		return errorf(at, "values are nested too deeply (the limit is %d levels)", hooks.limit)
	}
	msg := le.Message
	if ctx := le.ContextMark; le.ContextMsg != "" {
		if ctx.Line > 0 && (ctx.Line != le.Mark.Line || ctx.Column != le.Mark.Column) {
			msg = fmt.Sprintf("%s (%s at line %d, column %d)", msg, le.ContextMsg, ctx.Line, ctx.Column)
		} else {
			msg = fmt.Sprintf("%s (%s)", msg, le.ContextMsg)
		}
	}
	return &Error{Pos: at, Message: msg}
}

// offsetPos returns the 1-based line and column (in characters, as the
// parser counts them) of byte offset off of text.
func offsetPos(text []byte, off int) (line, col int) {
	off = min(max(off, 0), len(text))
	start := bytes.LastIndexByte(text[:off], '\n') + 1
	return bytes.Count(text[:start], []byte{'\n'}) + 1, utf8.RuneCount(text[start:off]) + 1
}

// prepare returns data as the parser should read it, copying it only
// when it changes:
//
//   - Bytes that are not UTF-8 become U+FFFD, each, as yamltree has always
//     read them; the parser refuses them. Columns stay, as the parser
//     counts characters.
//   - The parser accepts only "%YAML 1.1" directives, while YAML 1.2 files
//     say "%YAML 1.2": the minor version of each %YAML directive becomes
//     1 (same length, so positions stay), which changes nothing else, as
//     yamltree resolves scalars itself. A line is a directive only in a
//     document's prelude: at the start of the stream or after a "..."
//     line, before any content.
func prepare(data []byte) []byte {
	if !utf8.Valid(data) {
		data = validUTF8(data)
	}
	if !bytes.Contains(data, []byte("%YAML")) {
		return data
	}
	out, prelude := data, true
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		line := data[off:end]
		switch {
		case documentEnd(line):
			prelude = true
		case !prelude:
		case len(line) >= 9 && string(line[:8]) == "%YAML 1." && '0' <= line[8] && line[8] <= '9' && line[8] != '1' &&
			(len(line) == 9 || isBlank(line[9])):
			if &out[0] == &data[0] {
				out = bytes.Clone(data)
			}
			out[off+8] = '1'
		default:
			if rest := bytes.TrimLeft(line, " \t\r"); len(rest) > 0 && rest[0] != '#' && rest[0] != '%' {
				prelude = false
			}
		}
		off = end + 1
	}
	return out
}

// lastContent returns the position of the last character of text that is
// neither blank nor on a line holding only a comment, or of its end when
// there is none.
func lastContent(text []byte) (line, col int) {
	end := len(text)
	for end > 0 {
		start := bytes.LastIndexByte(text[:end], '\n') + 1
		lineText := bytes.TrimRight(text[start:end], " \t\r")
		if trimmed := bytes.TrimLeft(lineText, " \t"); len(trimmed) > 0 && trimmed[0] != '#' {
			_, last := utf8.DecodeLastRune(lineText)
			return offsetPos(text, start+len(lineText)-last)
		}
		end = max(start-1, 0)
	}
	return offsetPos(text, len(text))
}

// validUTF8 returns data with each byte that does not belong to a UTF-8
// sequence replaced by U+FFFD.
func validUTF8(data []byte) []byte {
	out := make([]byte, 0, len(data)+16)
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, data[:size]...)
		}
		data = data[size:]
	}
	return out
}

// documentEnd reports whether line is a document end marker, "...".
func documentEnd(line []byte) bool {
	return len(line) >= 3 && string(line[:3]) == "..." && (len(line) == 3 || isBlank(line[3]))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }
