package yamltree

import (
	"fmt"

	"github.com/goccy/go-yaml/token"
)

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
func preScan(tokens token.Tokens, lim Limits) (*token.Token, string) {
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
		if len(stack)+flow > lim.preScanDepth() {
			return tk, fmt.Sprintf("values are nested too deeply (the limit is %d levels)", lim.MaxDepth)
		}
	}
	return nil, ""
}
