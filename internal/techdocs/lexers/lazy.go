package lexers

import (
	"sync"
	"sync/atomic"

	"github.com/alecthomas/chroma/v2"
)

// lazy is a lexer built on first use; until then its Config is the one
// index.go records for its XML definition.
type lazy struct {
	cfg   *chroma.Config
	build func() chroma.Lexer

	once     sync.Once
	inner    atomic.Pointer[chroma.Lexer]
	mu       sync.Mutex
	registry *chroma.LexerRegistry
	analyser func(string) float32
}

var _ chroma.Lexer = (*lazy)(nil)

// xmlLexer is the lexer of an embedded XML definition, read on first use.
func xmlLexer(file string) chroma.Lexer {
	return lazyLexer(file, func() chroma.Lexer { return chroma.MustNewXMLLexer(embedded, file) })
}

// lazyLexer is a lexer that build makes on first use; file names the XML
// definition whose configuration it has.
func lazyLexer(file string, build func() chroma.Lexer) chroma.Lexer {
	e, ok := xmlByFile[file]
	if !ok {
		// Not indexed (index.go is stale: TestIndexUpToDate fails): read
		// the definition now.
		return build()
	}
	return &lazy{cfg: e.config(), build: build}
}

func (l *lazy) load() chroma.Lexer {
	if in := l.inner.Load(); in != nil {
		return *in
	}
	l.once.Do(func() {
		in := l.build()
		l.mu.Lock()
		if l.registry != nil {
			in = in.SetRegistry(l.registry)
		}
		if l.analyser != nil {
			in = in.SetAnalyser(l.analyser)
		}
		l.inner.Store(&in)
		l.mu.Unlock()
	})
	return *l.inner.Load()
}

func (l *lazy) Config() *chroma.Config {
	if in := l.inner.Load(); in != nil {
		return (*in).Config()
	}
	return l.cfg
}

func (l *lazy) Tokenise(options *chroma.TokeniseOptions, text string) (chroma.Iterator, error) {
	return l.load().Tokenise(options, text)
}

func (l *lazy) SetRegistry(r *chroma.LexerRegistry) chroma.Lexer {
	l.mu.Lock()
	l.registry = r
	in := l.inner.Load()
	l.mu.Unlock()
	if in != nil {
		(*in).SetRegistry(r)
	}
	return l
}

func (l *lazy) SetAnalyser(f func(string) float32) chroma.Lexer {
	l.mu.Lock()
	l.analyser = f
	in := l.inner.Load()
	l.mu.Unlock()
	if in != nil {
		(*in).SetAnalyser(f)
	}
	return l
}

func (l *lazy) AnalyseText(text string) float32 { return l.load().AnalyseText(text) }

// xmlEntry is what index.go records of one XML definition.
type xmlEntry struct {
	file                                          string
	name                                          string
	aliases, filenames, aliasFilenames, mimeTypes []string
	priority                                      float32
}

func (e *xmlEntry) config() *chroma.Config {
	return &chroma.Config{Name: e.name, Aliases: e.aliases, Filenames: e.filenames, AliasFilenames: e.aliasFilenames,
		MimeTypes: e.mimeTypes, Priority: e.priority}
}

var xmlByFile = func() map[string]*xmlEntry {
	m := make(map[string]*xmlEntry, len(xmlIndex))
	for i := range xmlIndex {
		m[xmlIndex[i].file] = &xmlIndex[i]
	}
	return m
}()
