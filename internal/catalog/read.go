package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"greenroom/internal/greenroom"
	"greenroom/internal/yamltree"
)

// Limits bound what one location may make the reader do.
const (
	maxFileBytes     = 10 << 20
	maxLocationDepth = 16
	maxDocuments     = 10000
)

// yamlLimits bound the parse of each file, placeholder targets included.
// MaxStructural is ten times yamltree's default so that files of several
// megabytes of ordinary entities (about 50 structural characters each)
// parse; a hostile file at that limit costs goccy/go-yaml about 1.4 GB of
// allocations, 1 GB at peak, and 3 s. Keys per mapping keep the default.
var yamlLimits = yamltree.Limits{
	MaxBytes:      maxFileBytes,
	MaxNodes:      1_000_000,
	MaxDepth:      64,
	MaxStructural: 1_000_000,
}

// LocationError is a problem with one file of a location, located as
// precisely as the parser allows. It never stops the other files.
type LocationError struct {
	File string
	// Line and Column are 1-based; 0 when unknown or when the problem is
	// about a whole document.
	Line, Column int
	Message      string
}

func (e *LocationError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

// reader walks a location in a file system: each file's documents, and the
// targets of Location entities relative to the file that names them.
type reader struct {
	fsys     fs.FS
	seen     map[string]bool
	entities []rawEntity
	errs     []error
}

// rawEntity is one document as read, with where it was found.
type rawEntity struct {
	File string // path within the source's file system
	Line int    // line of the document's first value
	Data map[string]any
}

// readTree reads root and every file its Location entities reach.
func readTree(fsys fs.FS, root string) ([]rawEntity, []error) {
	r := &reader{fsys: fsys, seen: map[string]bool{}}
	r.readFile(path.Clean(root), 0)
	return r.entities, r.errs
}

func (r *reader) fail(file string, line int, format string, args ...any) {
	r.errs = append(r.errs, &LocationError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (r *reader) readFile(name string, depth int) {
	if r.seen[name] {
		return // a Location cycle or a file named twice: read once
	}
	r.seen[name] = true
	if depth > maxLocationDepth {
		r.fail(name, 0, "locations nested deeper than %d", maxLocationDepth)
		return
	}
	data, err := readBounded(r.fsys, name)
	if err != nil {
		r.fail(name, 0, "%v", err)
		return
	}
	docs, lines, err := decodeDocuments(name, data)
	if err != nil {
		r.errs = append(r.errs, locate(name, err))
		return
	}
	for i, doc := range docs {
		if doc == nil {
			continue // "--- null" or "--- ~", ignored as Backstage does
		}
		ent, ok := doc.(map[string]any)
		if !ok {
			r.fail(name, lines[i], "document %d is not an object", i+1)
			continue
		}
		if err := r.resolvePlaceholders(name, ent, 0); err != nil {
			r.fail(name, lines[i], "document %d: %v", i+1, err)
			continue
		}
		// Appended before its targets are read, so that entities come in
		// file order: a Location before what it points at.
		r.entities = append(r.entities, rawEntity{File: name, Line: lines[i], Data: ent})
		if kind, _ := ent["kind"].(string); strings.EqualFold(kind, "Location") {
			for _, t := range locationTargets(ent) {
				if strings.Contains(t, "://") {
					r.fail(name, 0, "location target %q: only relative file targets are read here", t)
					continue
				}
				r.readFile(path.Join(path.Dir(name), t), depth+1)
			}
		}
	}
}

func readBounded(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileBytes)
	}
	return data, nil
}

// decodeDocuments parses every document of a YAML stream into plain
// values; empty documents are left out, explicit nulls are nil.
func decodeDocuments(name string, data []byte) (docs []any, lines []int, err error) {
	nodes, err := yamltree.ParseDocuments(name, data, yamlLimits, nil)
	if err != nil {
		return nil, nil, err
	}
	if len(nodes) > maxDocuments {
		return nil, nil, fmt.Errorf("more than %d documents", maxDocuments)
	}
	docs = make([]any, len(nodes))
	lines = make([]int, len(nodes))
	for i, n := range nodes {
		docs[i] = n.Interface()
		lines[i] = n.Pos().Line
	}
	return docs, lines, nil
}

// locate turns a parse error into a LocationError with its line and
// column.
func locate(file string, err error) error {
	var ye *yamltree.Error
	if errors.As(err, &ye) {
		return &LocationError{File: file, Line: ye.Line, Column: ye.Column, Message: ye.Message}
	}
	return &LocationError{File: file, Message: err.Error()}
}

func locationTargets(ent map[string]any) []string {
	spec, _ := ent["spec"].(map[string]any)
	var out []string
	if t, ok := spec["target"].(string); ok && t != "" {
		out = append(out, t)
	}
	if ts, ok := spec["targets"].([]any); ok {
		for _, t := range ts {
			if s, ok := t.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// resolvePlaceholders replaces Backstage's $text, $json and $yaml
// placeholders with the content of the file they name, relative to base.
func (r *reader) resolvePlaceholders(base string, v any, depth int) error {
	if depth > 64 {
		return errors.New("document nested deeper than 64 levels")
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if m, ok := child.(map[string]any); ok && len(m) == 1 {
				if resolved, ok, err := r.placeholder(base, m); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				} else if ok {
					t[k] = resolved
					continue
				}
			}
			if err := r.resolvePlaceholders(base, child, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range t {
			if err := r.resolvePlaceholders(base, child, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *reader) placeholder(base string, m map[string]any) (any, bool, error) {
	for key, target := range m {
		if key != "$text" && key != "$json" && key != "$yaml" {
			return nil, false, nil
		}
		s, ok := target.(string)
		if !ok || s == "" || strings.Contains(s, "://") {
			return nil, false, greenroom.Errorf(greenroom.CodeInvalid, "%s needs a relative file path", key)
		}
		name := path.Join(path.Dir(base), s)
		data, err := readBounded(r.fsys, name)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %w", key, s, err)
		}
		switch key {
		case "$text":
			return string(data), true, nil
		case "$json":
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, false, fmt.Errorf("$json %s: %w", s, err)
			}
			return v, true, nil
		default:
			n, err := yamltree.Parse(name, data, yamlLimits, nil)
			if err != nil {
				return nil, false, fmt.Errorf("$yaml: %w", err)
			}
			return n.Interface(), true, nil
		}
	}
	return nil, false, nil
}
