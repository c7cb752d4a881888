// Package lexers is chroma's lexer set (github.com/alecthomas/chroma/v2
// lexers, v2.27.0, MIT licence: COPYING) with its registry made lazy.
// chroma registers its ~280 XML lexers at package initialisation by
// parsing each definition, 7–9 ms of every process start of a binary that
// links it, and 2 MB of heap kept. Here each XML lexer is registered with
// the configuration recorded in index.go (name, aliases, file names, MIME
// types, priority: all the registry looks at) and its definition is
// parsed, and its rules compiled, on first use. Lookups (Get, Match,
// MatchMimeType, Using in other lexers) behave exactly as chroma's;
// TestSameAsChroma checks it against chroma's own registry.
//
// The Go files other than lexers.go, lazy.go and index.go are chroma's,
// unchanged but for the Common Lisp, Emacs Lisp and HTML lexers, which
// are built lazily as well.
package lexers

import (
	"embed"
	"io/fs"

	"github.com/alecthomas/chroma/v2"
)

//go:embed embedded
var embedded embed.FS

// GlobalLexerRegistry is the registry of every lexer.
var GlobalLexerRegistry = func() *chroma.LexerRegistry {
	reg := chroma.NewLexerRegistry()
	// In chroma's order: the definitions' sorted paths. Listing the
	// embedded directory reads no file.
	paths, err := fs.Glob(embedded, "embedded/*.xml")
	if err != nil {
		panic(err)
	}
	for _, p := range paths {
		reg.Register(xmlLexer(p))
	}
	return reg
}()

// Get a Lexer by name, alias or file extension (chroma's lexers.Get).
func Get(name string) chroma.Lexer {
	return GlobalLexerRegistry.Get(name)
}

// Match returns the first lexer matching filename.
func Match(filename string) chroma.Lexer {
	return GlobalLexerRegistry.Match(filename)
}

// MatchMimeType attempts to find a lexer for the given MIME type.
func MatchMimeType(mimeType string) chroma.Lexer {
	return GlobalLexerRegistry.MatchMimeType(mimeType)
}

// Register a Lexer with the global registry.
func Register(lexer chroma.Lexer) chroma.Lexer {
	return GlobalLexerRegistry.Register(lexer)
}

// PlaintextRules is used for the fallback lexer as well as the explicit
// plaintext lexer.
func PlaintextRules() chroma.Rules {
	return chroma.Rules{
		"root": []chroma.Rule{
			{Pattern: `.+`, Type: chroma.Text, Mutator: nil},
			{Pattern: `\n`, Type: chroma.Text, Mutator: nil},
		},
	}
}

// Fallback lexer if no other is found.
var Fallback chroma.Lexer = chroma.MustNewLexer(&chroma.Config{
	Name:      "fallback",
	Filenames: []string{"*"},
	Priority:  -1,
}, PlaintextRules)
