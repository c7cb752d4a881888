package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/goccy/go-yaml"

	"greenroom/internal/greenroom"
)

// Limits bound what one location may make the reader do.
const (
	maxFileBytes     = 10 << 20
	maxLocationDepth = 16
	maxDocuments     = 10000
)

// LocationError is a problem with one file of a location, located as
// precisely as the parser allows. It never stops the other files.
type LocationError struct {
	File    string
	Line    int
	Message string
}

func (e *LocationError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

// reader walks a location in a file system: each file's documents, and the
// targets of Location entities relative to the file that names them.
type reader struct {
	fsys     fs.FS
	seen     map[string]bool
	entities []map[string]any
	errs     []error
}

// readTree reads root and every file its Location entities reach.
func readTree(fsys fs.FS, root string) ([]map[string]any, []error) {
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
	docs, err := decodeDocuments(data)
	if err != nil {
		r.errs = append(r.errs, locate(name, err))
		return
	}
	for i, doc := range docs {
		ent, ok := doc.(map[string]any)
		if !ok {
			r.fail(name, 0, "document %d is not an object", i+1)
			continue
		}
		if err := r.resolvePlaceholders(name, ent, 0); err != nil {
			r.fail(name, 0, "document %d: %v", i+1, err)
			continue
		}
		if kind, _ := ent["kind"].(string); strings.EqualFold(kind, "Location") {
			for _, t := range locationTargets(ent) {
				if strings.Contains(t, "://") {
					r.fail(name, 0, "location target %q: only relative file targets are read here", t)
					continue
				}
				r.readFile(path.Join(path.Dir(name), t), depth+1)
			}
		}
		r.entities = append(r.entities, ent)
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

func decodeDocuments(data []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.UseJSONUnmarshaler())
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue // an empty document between separators
		}
		if len(docs) == maxDocuments {
			return nil, fmt.Errorf("more than %d documents", maxDocuments)
		}
		docs = append(docs, v)
	}
}

// locate turns a YAML error into a LocationError with its line.
func locate(file string, err error) error {
	var se *yaml.SyntaxError
	if errors.As(err, &se) && se.Token != nil && se.Token.Position != nil {
		return &LocationError{File: file, Line: se.Token.Position.Line, Message: se.Message}
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
		data, err := readBounded(r.fsys, path.Join(path.Dir(base), s))
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
			var v any
			if err := yaml.Unmarshal(data, &v); err != nil {
				return nil, false, fmt.Errorf("$yaml %s: %w", s, err)
			}
			return v, true, nil
		}
	}
	return nil, false, nil
}
