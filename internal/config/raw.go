package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Raw returns a copy of the merged configuration tree, after substitution,
// includes and APP_CONFIG_ overrides, as plain values: map[string]any,
// []any, string, bool, int64, float64 and nil. Defaults are not in it (Dump
// shows them). It is empty for configs built in code.
func (c *Config) Raw() map[string]any {
	if c.raw == nil || c.raw.kind != kindMap {
		return map[string]any{}
	}
	return c.raw.toAny().(map[string]any)
}

// Has reports whether path (dotted, with [i] for list items, e.g.
// "integrations.github[0].host") holds a value in the merged tree.
func (c *Config) Has(path string) bool {
	steps, err := parsePath(path)
	if err != nil {
		return false
	}
	n, _ := lookup(c.raw, steps)
	return n != nil
}

// Decode decodes the value at path into into, as encoding/json would decode
// its JSON form, so feature packages can read their own sections with json
// struct tags (use Secret for secrets and Duration for durations). When path
// is not set, into is left untouched and Decode returns nil; use Has to
// tell. Errors name the file and line of the offending value.
func (c *Config) Decode(path string, into any) error {
	steps, err := parsePath(path)
	if err != nil {
		return err
	}
	n, _ := lookup(c.raw, steps)
	if n == nil {
		return nil
	}
	data, err := json.Marshal(n.toAny())
	if err != nil {
		return fmt.Errorf("config: decode %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(into); err != nil {
		at := n.pos
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			if fs, perr := parsePath(strings.TrimPrefix(te.Field, ".")); perr == nil {
				at = lookupField(n, fs).pos
			}
		}
		return fmt.Errorf("config: %s: decode %s: %w", Problem{File: at.file, Line: at.line, Column: at.col}.location(), path, err)
	}
	return nil
}

// Origin returns the file and line where the value at path was declared (a
// config file, an included file, or the name of an APP_CONFIG_ variable with
// line 0). For a path that is not set it returns the origin of the nearest
// enclosing value that is, so messages about missing keys still point
// somewhere useful; ("", 0) when there is none.
func (c *Config) Origin(path string) (file string, line int) {
	at := c.origin(path)
	return at.file, at.line
}

func (c *Config) origin(path string) pos {
	if c.raw == nil {
		return pos{}
	}
	steps, err := parsePath(path)
	if err != nil {
		return c.raw.pos
	}
	_, deepest := lookup(c.raw, steps)
	if deepest == nil {
		return pos{}
	}
	return deepest.pos
}

// location renders "file:line:col" (as much as is known).
func (p Problem) location() string {
	q := p
	q.Path, q.Message = "", ""
	s := q.String()
	if len(s) >= 2 && s[len(s)-2:] == ": " {
		s = s[:len(s)-2]
	}
	return s
}

// lookupField follows a json.UnmarshalTypeError field path, which names
// struct fields but not list indexes: a key step on a list goes into the
// first item that has the key. It returns the deepest node reached.
func lookupField(n *node, steps []pathStep) *node {
	cur := n
	for _, s := range steps {
		next := cur.get(s.key)
		if cur.kind == kindSeq {
			for _, it := range cur.items {
				if v := it.get(s.key); v != nil {
					next = v
					break
				}
			}
		}
		if next == nil {
			return cur
		}
		cur = next
	}
	return cur
}
