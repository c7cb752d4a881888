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
// are built lazily as well, and the init functions of dns.go, mysql.go
// and zed.go, which run when the registry is built (see Registry).
package lexers

import (
	"embed"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/alecthomas/chroma/v2"
)

//go:embed embedded
var embedded embed.FS

// The registry is built on first use as well: the lexers registered while
// the package initialises (Register in a variable's initialiser) wait in
// pending, and the init functions that look lexers up wait in afterInit,
// until the first lookup replays both in the order chroma runs them. That
// keeps registering ~280 lexers (a map update and a scan of the list each)
// out of every process start.
var (
	regMu     sync.Mutex // guards pending, afterInit and the building of built
	pending   []chroma.Lexer
	afterInit []func(*chroma.LexerRegistry)
	built     atomic.Pointer[chroma.LexerRegistry]
)

// Registry is the registry of every lexer (chroma's
// lexers.GlobalLexerRegistry), built on first use.
func Registry() *chroma.LexerRegistry {
	if r := built.Load(); r != nil {
		return r
	}
	regMu.Lock()
	defer regMu.Unlock()
	if r := built.Load(); r != nil {
		return r
	}
	r := chroma.NewLexerRegistry()
	// In chroma's order: the definitions' sorted paths. Listing the
	// embedded directory reads no file.
	paths, err := fs.Glob(embedded, "embedded/*.xml")
	if err != nil {
		panic(err)
	}
	for _, p := range paths {
		r.Register(xmlLexer(p))
	}
	for _, l := range pending {
		r.Register(l)
	}
	for _, f := range afterInit {
		f(r)
	}
	pending, afterInit = nil, nil
	built.Store(r)
	return r
}

// onInit runs f, an init function of chroma's that looks lexers up in r,
// when the registry is built.
func onInit(f func(r *chroma.LexerRegistry)) {
	regMu.Lock()
	defer regMu.Unlock()
	if r := built.Load(); r != nil {
		f(r)
		return
	}
	afterInit = append(afterInit, f)
}

// Get a Lexer by name, alias or file extension (chroma's lexers.Get).
func Get(name string) chroma.Lexer {
	return Registry().Get(name)
}

// Match returns the first lexer matching filename.
func Match(filename string) chroma.Lexer {
	return Registry().Match(filename)
}

// MatchMimeType attempts to find a lexer for the given MIME type.
func MatchMimeType(mimeType string) chroma.Lexer {
	return Registry().MatchMimeType(mimeType)
}

// Register a Lexer with the global registry.
func Register(lexer chroma.Lexer) chroma.Lexer {
	regMu.Lock()
	defer regMu.Unlock()
	if r := built.Load(); r != nil {
		return r.Register(lexer)
	}
	pending = append(pending, lexer)
	return lexer
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
