package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The keys that turn a one-key mapping into a value read from elsewhere,
// as in Backstage's include transform.
const (
	keyEnv     = "$env"
	keyFile    = "$file"
	keyInclude = "$include"
)

// transform applies Backstage's config transforms to n, a value declared at
// path in a file whose directory is dir: ${VAR} substitution in strings and
// the $env, $file and $include forms. It returns nil when the value is
// undefined, which removes the key (or list item) holding it, as Backstage
// does. stack holds the absolute paths of the files being included, for
// cycle detection.
func (l *loader) transform(n *node, path, dir string, stack []string) *node {
	switch n.kind {
	case kindString:
		s, missing := substitute(n.s, l.lookupEnv)
		if len(missing) > 0 {
			l.ps.add(SeverityInfo, n.pos, path, fmt.Sprintf("environment variable %s is not set, so the value is left out", strings.Join(missing, ", ")))
			return nil
		}
		return newString(s, n.pos)
	case kindSeq:
		out := &node{kind: kindSeq, pos: n.pos, items: make([]*node, 0, len(n.items))}
		for i, it := range n.items {
			if v := l.transform(it, indexPath(path, i), dir, stack); v != nil {
				out.items = append(out.items, v)
			}
		}
		return out
	case kindMap:
		if directive := includeKey(n); directive != "" {
			return l.include(n, directive, path, dir, stack)
		}
		out := newMap(n.pos)
		for _, k := range n.keys {
			if v := l.transform(n.vals[k], joinPath(path, k), dir, stack); v != nil {
				out.set(k, v)
			}
		}
		return out
	}
	return n
}

// includeKey returns the include directive of a mapping, or "".
func includeKey(n *node) string {
	for _, k := range []string{keyFile, keyEnv, keyInclude} {
		if _, ok := n.vals[k]; ok {
			return k
		}
	}
	return ""
}

// include resolves {$env: NAME}, {$file: path} or {$include: path#frag}.
func (l *loader) include(n *node, directive, path, dir string, stack []string) *node {
	if len(n.keys) != 1 {
		l.ps.add(SeverityError, n.pos, path, fmt.Sprintf("include key %s should not have adjacent keys", directive))
		return nil
	}
	arg := n.vals[directive]
	if arg.kind != kindString {
		l.ps.expected(arg.pos, path, fmt.Sprintf("a string after %s", directive), arg)
		return nil
	}
	value, missing := substitute(arg.s, l.lookupEnv)
	if len(missing) > 0 {
		l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("%s: environment variable %s is not set", directive, strings.Join(missing, ", ")))
		return nil
	}
	switch directive {
	case keyEnv:
		v, ok := l.lookupEnv(value)
		if !ok {
			l.ps.add(SeverityInfo, n.pos, path, fmt.Sprintf("environment variable %s is not set, so the value is left out", value))
			return nil
		}
		return newString(strings.TrimSpace(v), n.pos)
	case keyFile:
		name := resolve(dir, value)
		data, err := l.readFile(name)
		if err != nil {
			l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("$file: %v", err))
			return nil
		}
		return newString(strings.TrimRight(string(data), " \t\r\n\v\f"), n.pos)
	}
	return l.includeFile(n, value, path, dir, stack)
}

// includeFile parses a YAML or JSON file and returns the value at its
// fragment (a dotted path after '#'), transformed relative to that file.
func (l *loader) includeFile(n *node, value, path, dir string, stack []string) *node {
	arg := n.vals[keyInclude]
	rel, frag, _ := strings.Cut(value, "#")
	switch strings.ToLower(filepath.Ext(rel)) {
	case ".yaml", ".yml", ".json":
	default:
		l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("$include: no configuration parser for %q; use a .yaml, .yml or .json file", rel))
		return nil
	}
	name := resolve(dir, rel)
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	for i, s := range stack {
		if s == abs {
			var chain []string
			for _, f := range append(append([]string(nil), stack[i:]...), abs) {
				chain = append(chain, displayPath(f))
			}
			l.ps.add(SeverityError, arg.pos, path, "$include: include cycle: "+strings.Join(chain, " -> "))
			return nil
		}
	}
	if len(stack) > maxIncludes {
		l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("$include: includes are nested more than %d deep", maxIncludes))
		return nil
	}
	data, err := l.readFile(name)
	if err != nil {
		l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("$include: %v", err))
		return nil
	}
	before := len(l.ps.list)
	root := parseYAML(name, data, l.budget, l.ps)
	if root == nil {
		if hasError(l.ps.list[before:]) {
			return nil
		}
		root = &node{kind: kindNull, pos: pos{file: name, line: 1, col: 1}}
	}
	cur := root
	if frag != "" {
		parts := strings.Split(frag, ".")
		for i, part := range parts {
			if cur.kind != kindMap {
				l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("$include: value at '%s' in included file %s is not an object", strings.Join(parts[:i], "."), rel))
				return nil
			}
			cur = cur.get(part)
			if cur == nil {
				if i == len(parts)-1 {
					l.ps.add(SeverityInfo, arg.pos, path, fmt.Sprintf("$include: %s has no value at '%s', so the value is left out", rel, frag))
					return nil
				}
				l.ps.add(SeverityError, arg.pos, path, fmt.Sprintf("$include: value at '%s' in included file %s is not an object", strings.Join(parts[:i+1], "."), rel))
				return nil
			}
		}
	}
	return l.transform(cur, path, filepath.Dir(name), append(stack, abs))
}

// displayPath shows an absolute path relative to the working directory
// when it is below it.
func displayPath(abs string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return abs
}

// resolve joins a relative path to dir, as Node's path.resolve(dir, p) does.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func hasError(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// substitute replaces ${NAME} with the trimmed value of the environment
// variable NAME and $${...} with a literal ${...}, exactly where Backstage's
// pattern /\$?\$\{[^{}]*\}/ matches. It returns the names that are not set;
// Backstage then treats the whole value as undefined.
func substitute(s string, lookup func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	done, search := 0, 0
	for {
		j := strings.Index(s[search:], "${")
		if j < 0 {
			break
		}
		j += search
		k := j + 2
		for k < len(s) && s[k] != '{' && s[k] != '}' {
			k++
		}
		if k >= len(s) || s[k] != '}' {
			search = j + 1
			continue
		}
		escaped := j > done && s[j-1] == '$'
		start := j
		if escaped {
			start = j - 1
		}
		b.WriteString(s[done:start])
		if escaped {
			b.WriteString(s[j : k+1])
		} else {
			name := strings.TrimSpace(s[j+2 : k])
			if v, ok := lookup(name); ok {
				b.WriteString(strings.TrimSpace(v))
			} else {
				missing = append(missing, name)
			}
		}
		done, search = k+1, k+1
	}
	b.WriteString(s[done:])
	return b.String(), missing
}
