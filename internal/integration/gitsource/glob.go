package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"greenroom/internal/greenroom"
)

// Limits of a catalogPath pattern and of one Glob over a tree.
const (
	maxPatternLen      = 1024
	maxBraceExpansions = 64
	// DefaultMaxMatches is how many files one Glob may return.
	DefaultMaxMatches = 10_000
	// DefaultMaxEntries is how many files and directories one Glob may
	// visit before it gives up on the tree.
	DefaultMaxEntries = 1_000_000
)

// Pattern is a parsed catalogPath glob with the semantics Backstage gets
// from minimatch's defaults (its URL readers strip the leading slashes and
// match every path of the repository against new Minimatch(pattern)):
//
//   - the pattern is matched against the whole path from the repository
//     root, so "/catalog-info.yaml" and "catalog-info.yaml" both name only
//     the root file;
//   - "*" matches any run of characters within one path segment, "?" one
//     character, "[a-z]" / "[!a-z]" / "[^a-z]" a character class, and "\"
//     escapes the next character;
//   - a segment that is exactly "**" matches zero or more directories;
//   - "{a,b}" and "{1..3}" expand into alternatives before matching;
//   - wildcards and "**" never match a name starting with "." (minimatch's
//     dot: false), so "**/catalog-info.yaml" does not look inside .github;
//     a segment written with a leading "." (".github/*.yaml") does.
//
// Minimatch syntax Greenroom does not implement — negation ("!pattern"),
// comments ("#…"), extended globs ("+(a|b)", "@(…)", "!(…)", "?(…)",
// "*(…)") and POSIX classes ("[[:alpha:]]") — is rejected by ParsePattern
// with an error rather than matched differently.
type Pattern struct {
	src  string
	alts [][]segment // one segment list per brace alternative
}

type segment struct {
	globstar bool
	pat      string // path.Match pattern, "[!" already turned into "[^"
	literal  bool   // pat has no wildcard: compare with unescaped text
	text     string // unescaped literal text
	dotOK    bool   // the pattern itself starts with ".", so dot names may match
}

// ParsePattern parses a catalogPath glob. Errors have code invalid and name
// the pattern.
func ParsePattern(pattern string) (*Pattern, error) {
	bad := func(format string, args ...any) error {
		return greenroom.Errorf(greenroom.CodeInvalid, "catalogPath %q: %s", pattern, fmt.Sprintf(format, args...))
	}
	if len(pattern) > maxPatternLen {
		return nil, bad("longer than %d characters", maxPatternLen)
	}
	p := strings.TrimLeft(pattern, "/")
	switch {
	case strings.TrimSpace(p) == "":
		return nil, bad("empty pattern")
	case strings.HasPrefix(p, "!"):
		return nil, bad("negated patterns are not supported")
	case strings.HasPrefix(p, "#"):
		return nil, bad("a pattern starting with # is a comment in minimatch and matches nothing")
	case strings.HasSuffix(p, "/"):
		return nil, bad("must name files, not end with /")
	case strings.Contains(p, "[:"):
		return nil, bad("POSIX character classes ([:alpha:]) are not supported")
	}
	if i := extglobAt(p); i >= 0 {
		return nil, bad("extended glob %q at offset %d is not supported", p[i:i+2], i)
	}
	expanded, err := expandBraces(p, maxBraceExpansions)
	if err != nil {
		return nil, bad("%v", err)
	}
	out := &Pattern{src: pattern}
	for _, alt := range expanded {
		var segs []segment
		for _, s := range strings.Split(alt, "/") {
			switch s {
			case "":
				return nil, bad("empty path segment (//)")
			case ".", "..":
				return nil, bad("%q segments are not allowed", s)
			}
			seg, err := parseSegment(s)
			if err != nil {
				return nil, bad("segment %q: %v", s, err)
			}
			segs = append(segs, seg)
		}
		out.alts = append(out.alts, segs)
	}
	return out, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

func parseSegment(s string) (segment, error) {
	if s == "**" {
		return segment{globstar: true}, nil
	}
	var b strings.Builder
	literal := true
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return segment{}, errors.New("trailing backslash")
			}
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			literal = false
			inClass = true
			b.WriteByte(c)
			if i+1 < len(s) && s[i+1] == '!' {
				b.WriteByte('^')
				i++
			}
			continue
		case c == '*' || c == '?':
			literal = false
		}
		b.WriteByte(c)
	}
	if inClass {
		return segment{}, errors.New("unclosed [")
	}
	seg := segment{pat: b.String(), literal: literal, dotOK: strings.HasPrefix(s, ".")}
	if _, err := path.Match(seg.pat, ""); err != nil {
		return segment{}, fmt.Errorf("malformed: %w", err)
	}
	if literal {
		seg.text = unescape(seg.pat)
	}
	return seg, nil
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// extglobAt returns the offset of the first unescaped extended glob
// opener ("+(", "@(", "!(", "?(", "*("), or -1.
func extglobAt(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if strings.IndexByte("+@!?*", s[i]) >= 0 && s[i+1] == '(' {
			return i
		}
	}
	return -1
}

// match reports whether one name matches a non-globstar segment.
func (s segment) match(name string) bool {
	if s.literal {
		return name == s.text
	}
	if strings.HasPrefix(name, ".") && !s.dotOK {
		return false
	}
	ok, _ := path.Match(s.pat, name) // validated by parseSegment
	return ok
}

// states returns, for one alternative, the set of pattern positions
// reachable after consuming names (epsilon-closed over globstars). nil
// means no position is reachable.
func states(pat []segment, names []string) []bool {
	cur := make([]bool, len(pat)+1)
	cur[0] = true
	closeOver(pat, cur)
	for _, name := range names {
		next := make([]bool, len(pat)+1)
		alive := false
		for pos, on := range cur {
			if !on || pos == len(pat) {
				continue
			}
			seg := pat[pos]
			if seg.globstar {
				if !strings.HasPrefix(name, ".") {
					next[pos] = true // ** consumes this name and may go on
					if pos == len(pat)-1 {
						next[pos+1] = true // a trailing ** matches one or more names
					}
					alive = true
				}
				continue
			}
			if seg.match(name) {
				next[pos+1] = true
				alive = true
			}
		}
		if !alive {
			return nil
		}
		closeOver(pat, next)
		cur = next
	}
	return cur
}

// closeOver adds the positions reachable by letting a "**" match nothing;
// a trailing "**" must match something (minimatch: "a/**" does not match
// "a").
func closeOver(pat []segment, set []bool) {
	for pos := 0; pos < len(pat)-1; pos++ {
		if set[pos] && pat[pos].globstar {
			set[pos+1] = true
		}
	}
}

// Match reports whether the slash-separated path name (relative to the
// repository root; a leading slash is ignored) matches the pattern.
func (p *Pattern) Match(name string) bool {
	names := strings.Split(strings.TrimLeft(name, "/"), "/")
	for _, alt := range p.alts {
		if st := states(alt, names); st != nil && st[len(alt)] {
			return true
		}
	}
	return false
}

// mayContain reports whether some path below directory dir ("." for the
// root) could match, so a walk can skip the rest.
func (p *Pattern) mayContain(dir string) bool {
	var names []string
	if dir != "." && dir != "" {
		names = strings.Split(dir, "/")
	}
	for _, alt := range p.alts {
		st := states(alt, names)
		for pos := 0; pos < len(alt) && st != nil; pos++ {
			if st[pos] {
				return true
			}
		}
	}
	return false
}

// GlobOptions bound a Glob; zero fields take the defaults.
type GlobOptions struct {
	MaxMatches int // files returned, default DefaultMaxMatches
	MaxEntries int // files and directories visited, default DefaultMaxEntries
	MaxDepth   int // directory levels below the root, 0 for no limit
	// SkipDir names directories never entered, at any depth (DirSource
	// passes .git and node_modules).
	SkipDir []string
}

// Glob returns the regular files of fsys matching pattern, in lexical
// order, as slash-separated paths without a leading slash. Directories that
// cannot contain a match are not read, so a literal pattern costs one
// lookup per segment.
func Glob(fsys fs.FS, pattern string) ([]string, error) {
	p, err := ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	return p.Glob(context.Background(), fsys, GlobOptions{})
}

// Glob is the package Glob for a parsed pattern. Exceeding a limit is an
// error with code too_large; a cancelled ctx stops the walk.
func (p *Pattern) Glob(ctx context.Context, fsys fs.FS, opts GlobOptions) ([]string, error) {
	if opts.MaxMatches <= 0 {
		opts.MaxMatches = DefaultMaxMatches
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	var out []string
	visited := 0
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		visited++
		if visited > opts.MaxEntries {
			return greenroom.Errorf(greenroom.CodeTooLarge, "catalogPath %q: more than %d files and directories to look at", p.src, opts.MaxEntries)
		}
		if visited%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if d.IsDir() {
			if name == "." {
				return nil
			}
			for _, skip := range opts.SkipDir {
				if d.Name() == skip {
					return fs.SkipDir
				}
			}
			if !p.mayContain(name) {
				return fs.SkipDir
			}
			if opts.MaxDepth > 0 && strings.Count(name, "/")+1 > opts.MaxDepth {
				return greenroom.Errorf(greenroom.CodeTooLarge, "catalogPath %q: %s is more than %d directories deep", p.src, name, opts.MaxDepth)
			}
			return nil
		}
		if !d.Type().IsRegular() || !p.Match(name) {
			return nil
		}
		if len(out) == opts.MaxMatches {
			return greenroom.Errorf(greenroom.CodeTooLarge, "catalogPath %q: more than %d matching files", p.src, opts.MaxMatches)
		}
		out = append(out, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// expandBraces expands "{a,b}" alternatives and "{1..3}" integer ranges,
// nested or in sequence, like the brace-expansion minimatch uses. Braces
// without a top-level comma or range ("{a}") stay literal. At most max
// results.
func expandBraces(s string, max int) ([]string, error) {
	open, close, parts, ok := firstBrace(s)
	if !ok {
		return []string{s}, nil
	}
	prefix, suffix := s[:open], s[close+1:]
	rest, err := expandBraces(suffix, max)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, part := range parts {
		inner, err := expandBraces(part, max)
		if err != nil {
			return nil, err
		}
		for _, in := range inner {
			for _, r := range rest {
				if len(out) == max {
					return nil, fmt.Errorf("braces expand to more than %d patterns", max)
				}
				out = append(out, prefix+in+r)
			}
		}
	}
	return out, nil
}

// firstBrace finds the first unescaped brace group that expands, returning
// its offsets and alternatives.
func firstBrace(s string) (open, close int, parts []string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth, start := 0, i+1
			var commas []int
			for j := i; j < len(s); j++ {
				switch s[j] {
				case '\\':
					j++
				case '{':
					depth++
				case '}':
					depth--
					if depth == 0 {
						body := s[start:j]
						if len(commas) > 0 {
							prev := start
							for _, c := range commas {
								parts = append(parts, s[prev:c])
								prev = c + 1
							}
							parts = append(parts, s[prev:j])
							return i, j, parts, true
						}
						if r, ok := intRange(body); ok {
							return i, j, r, true
						}
						j = len(s) // literal group: look for a later one
					}
				case ',':
					if depth == 1 {
						commas = append(commas, j)
					}
				}
			}
		}
	}
	return 0, 0, nil, false
}

// intRange expands "1..3" (or "3..1") into its numbers, at most 64 of them.
func intRange(body string) ([]string, bool) {
	lo, hi, found := strings.Cut(body, "..")
	if !found {
		return nil, false
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	step := 1
	if b < a {
		step = -1
	}
	if (b-a)*step >= maxBraceExpansions {
		return nil, false
	}
	var out []string
	for n := a; ; n += step {
		out = append(out, strconv.Itoa(n))
		if n == b {
			break
		}
	}
	return out, true
}
