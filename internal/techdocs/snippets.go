package techdocs

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"greenroom/internal/yamltree"
)

// pymdownx.snippets: a line `--8<-- "file"` (alone on its line, indented
// or not) is replaced by the file's lines, each indented as the marker
// was; between two `--8<--` lines, each line names a file (an empty line
// inserts a blank line, a line starting with "; " is a comment). Included
// files are expanded in turn; a file already being included is skipped
// (no cycles). Files are found under base_path (default: the project
// directory, MkDocs' working directory): a base that is a directory holds
// the files, a base that is a file is included when its name is asked
// for. Unlike pymdownx, a snippet is never read from outside its base
// path (no "..", no symlink out) nor from outside the project, never
// downloaded (url_download is refused), and the expansion is bounded in
// depth and size. A missing snippet is a warning at the marker's line
// (pymdownx drops it silently), and fails the build with check_paths.

var (
	snippetInlineRE = regexp.MustCompile(`^([ \t]*)-{2,}8<-{2,}[ \t]+("(?:\\"|[^"\r\n])+?"|'(?:\\'|[^'\r\n])+?')$`)
	snippetBlockRE  = regexp.MustCompile(`^[ \t]*-{2,}8<-{2,}$`)
)

// maxSnippetDepth bounds nested inclusion.
const maxSnippetDepth = 16

// snippetBase is one base_path entry: a directory, or a single file.
type snippetBase struct {
	path string // real path
	dir  bool
}

type snippetConfig struct {
	bases      []snippetBase
	autoAppend []string
	checkPaths bool

	mu   sync.Mutex
	used map[string]stamp // every snippet file read, for Site.Rebuild
}

// usedFiles returns the snippet files read so far with what they were.
func (c *snippetConfig) usedFiles() map[string]stamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.used)
}

// snippetsOf reads pymdownx.snippets' options. Bases are relative to the
// project directory and must lie inside it; others are dropped with a
// warning.
func snippetsOf(e Extension, projectDir string, warn func(Warning)) *snippetConfig {
	c := &snippetConfig{}
	o := e.Options
	at := func(n *yamltree.Node, msg string) {
		p := e.Pos
		if n != nil {
			p = n.Pos()
		}
		warn(Warning{File: p.File, Line: p.Line, Message: "pymdownx.snippets: " + msg})
	}
	var bases []*yamltree.Node
	switch b := o.Get("base_path"); b.Kind() {
	case yamltree.Null:
	case yamltree.String:
		bases = append(bases, b)
	case yamltree.Seq:
		for _, n := range b.Items() {
			bases = append(bases, n)
		}
	default:
		at(b, "base_path must be a path or a list of paths")
	}
	names := []string{}
	for _, n := range bases {
		if n.Kind() != yamltree.String {
			at(n, "base_path entries must be paths")
			continue
		}
		names = append(names, n.Str())
	}
	if len(bases) == 0 {
		names = []string{"."}
	}
	for i, name := range names {
		var node *yamltree.Node
		if i < len(bases) {
			node = bases[i]
		}
		rel := filepath.ToSlash(filepath.Clean(name))
		if filepath.IsAbs(name) || rel == ".." || strings.HasPrefix(rel, "../") {
			at(node, fmt.Sprintf("base_path %q is outside the project; it is ignored", name))
			continue
		}
		real, err := resolveInside(projectDir, rel)
		if err != nil {
			if !os.IsNotExist(err) {
				at(node, fmt.Sprintf("base_path %q: %v; it is ignored", name, err))
			}
			continue // pymdownx skips bases that do not exist
		}
		st, err := os.Stat(real)
		if err != nil {
			continue
		}
		c.bases = append(c.bases, snippetBase{path: real, dir: st.IsDir()})
	}
	if a := o.Get("auto_append"); a.Kind() == yamltree.Seq {
		for _, n := range a.Items() {
			if n.Kind() == yamltree.String {
				c.autoAppend = append(c.autoAppend, n.Str())
			}
		}
	}
	c.checkPaths = o.Get("check_paths").Bool()
	if u := o.Get("url_download"); u.Bool() {
		at(u, "url_download is not supported (a build reads only the project); URL snippets are skipped")
	}
	return c
}

// snippetExpander expands one page.
type snippetExpander struct {
	cfg     *snippetConfig
	limit   int64 // bytes of output at most
	size    int64
	seen    map[string]bool
	warn    func(Warning)
	missing []string // with check_paths
	line    int      // the page line of the outermost marker being expanded
}

// expandSnippets returns src with its snippet markers replaced. It
// returns src itself when the page has no marker.
func (c *snippetConfig) expand(src []byte, limit int64, warn func(Warning)) ([]byte, []string) {
	if !bytes.Contains(src, []byte("8<-")) && len(c.autoAppend) == 0 {
		return src, nil
	}
	x := &snippetExpander{cfg: c, limit: limit, seen: map[string]bool{}, warn: warn}
	text := string(src)
	trailing := strings.HasSuffix(text, "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(c.autoAppend) > 0 {
		lines = append(lines, strings.Split("\n\n--8<--\n"+strings.Join(c.autoAppend, "\n\n")+"\n--8<--\n", "\n")...)
	}
	out := x.lines(lines, 0, true)
	res := strings.Join(out, "\n")
	if trailing {
		res += "\n"
	}
	return []byte(res), x.missing
}

func (x *snippetExpander) lines(lines []string, depth int, top bool) []string {
	out := make([]string, 0, len(lines))
	block := false
	for i, line := range lines {
		if top {
			x.line = i + 1
		}
		var space, name string
		if m := snippetInlineRE.FindStringSubmatch(line); m != nil {
			if block {
				continue // an inline marker directly inside a block is ignored
			}
			space, name = m[1], strings.TrimSpace(m[2][1:len(m[2])-1])
		} else if snippetBlockRE.MatchString(line) {
			block = !block
			continue
		} else if !block {
			out = append(out, line)
			continue
		} else {
			trimmed := strings.TrimLeft(line, " \t")
			space, name = line[:len(line)-len(trimmed)], strings.TrimSpace(trimmed)
			if name == "" {
				out = append(out, "")
				continue
			}
		}
		if strings.HasPrefix(name, "; ") {
			continue
		}
		space = expandTabs(space)
		included, ok := x.include(name, depth)
		if !ok {
			continue
		}
		for _, l := range included {
			out = append(out, space+l)
		}
	}
	return out
}

func (x *snippetExpander) include(name string, depth int) ([]string, bool) {
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		x.warn(Warning{Line: x.line, Message: fmt.Sprintf("snippet %q: URL snippets are not downloaded", name)})
		return nil, false
	}
	p, err := x.find(name)
	if err != nil {
		x.warn(Warning{Line: x.line, Message: fmt.Sprintf("snippet %q: %v", name, err)})
		if x.cfg.checkPaths {
			x.missing = append(x.missing, name)
		}
		return nil, false
	}
	if x.seen[p] {
		return nil, false // already being included: a cycle
	}
	if depth >= maxSnippetDepth {
		x.warn(Warning{Line: x.line, Message: fmt.Sprintf("snippet %q: snippets nest deeper than %d; not included", name, maxSnippetDepth)})
		return nil, false
	}
	if st, err := os.Stat(p); err == nil {
		x.cfg.mu.Lock()
		if x.cfg.used == nil {
			x.cfg.used = map[string]stamp{}
		}
		x.cfg.used[p] = stamp{st.Size(), st.ModTime()}
		x.cfg.mu.Unlock()
	}
	data, err := os.ReadFile(p)
	if err != nil {
		x.warn(Warning{Line: x.line, Message: fmt.Sprintf("snippet %q: %v", name, err)})
		return nil, false
	}
	if x.size += int64(len(data)); x.size > x.limit {
		x.warn(Warning{Line: x.line, Message: fmt.Sprintf("snippet %q: the page with its snippets is larger than %d bytes; not included", name, x.limit)})
		return nil, false
	}
	if bytes.IndexByte(data, 0) >= 0 {
		x.warn(Warning{Line: x.line, Message: fmt.Sprintf("snippet %q is binary; not included", name)})
		return nil, false
	}
	text := strings.ReplaceAll(string(bytes.ToValidUTF8(data, []byte("\uFFFD"))), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" && len(data) == 0 {
		return nil, true
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	x.seen[p] = true
	defer delete(x.seen, p)
	return x.lines(lines, depth+1, false), true
}

// find resolves name under the first base that has it, never leaving
// that base.
func (x *snippetExpander) find(name string) (string, error) {
	rel := filepath.ToSlash(filepath.Clean(name))
	if filepath.IsAbs(name) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("is outside base_path; not included")
	}
	for _, b := range x.cfg.bases {
		if !b.dir {
			if strings.EqualFold(filepath.Base(b.path), name) {
				return b.path, nil
			}
			continue
		}
		p, err := resolveInside(b.path, rel)
		switch {
		case err == nil:
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			return p, nil
		case os.IsNotExist(err):
			continue
		default:
			return "", fmt.Errorf("%v; not included", err)
		}
	}
	return "", fmt.Errorf("not found in base_path; not included")
}

// expandTabs expands the tabs of a line's indentation to 4 columns, as
// Python-Markdown does (tab_length).
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}
