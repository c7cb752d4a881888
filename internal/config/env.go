package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const envPrefix = "APP_CONFIG_"

// envOverrides builds the config layer of APP_CONFIG_ variables, as
// Backstage's EnvConfigSource does: the rest of the name split at '_' gives
// the key path (case-sensitive), the value is parsed as JSON when it is
// valid JSON and taken as a string otherwise, and empty values are skipped.
// Each value is located by the variable's name.
func (l *loader) envOverrides(environ []string) *node {
	var root *node
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || value == "" {
			continue
		}
		at := pos{file: name}
		key := strings.TrimPrefix(name, envPrefix)
		parts := strings.Split(key, "_")
		if !validKeyParts(parts) {
			l.ps.add(SeverityError, at, "", fmt.Sprintf("invalid env config key '%s': each part must start with a letter and hold only letters, digits and '-'", key))
			continue
		}
		v, err := parseEnvValue(value, at)
		if err != nil {
			l.ps.add(SeverityError, at, strings.Join(parts, "."), fmt.Sprintf("failed to parse JSON-serialized config value for key '%s': %v", key, err))
			continue
		}
		if root == nil {
			root = newMap(at)
		}
		obj := root
		for i, part := range parts[:len(parts)-1] {
			next := obj.get(part)
			if next == nil {
				next = newMap(at)
				obj.set(part, next)
			} else if next.kind != kindMap {
				l.ps.add(SeverityError, at, strings.Join(parts, "."), fmt.Sprintf("could not nest config for key '%s' under existing value '%s'", key, strings.Join(parts[:i+1], "_")))
				obj = nil
				break
			}
			obj = next
		}
		if obj == nil {
			continue
		}
		last := parts[len(parts)-1]
		if obj.get(last) != nil {
			l.ps.add(SeverityError, at, strings.Join(parts, "."), fmt.Sprintf("refusing to override existing config at key '%s'", key))
			continue
		}
		obj.set(last, v)
	}
	return root
}

// validKeyParts applies Backstage's CONFIG_KEY_PART_PATTERN to the parts of
// a name already split at '_'.
func validKeyParts(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, seg := range strings.Split(p, "-") {
			if seg == "" || !isLetter(seg[0]) {
				return false
			}
			for i := 1; i < len(seg); i++ {
				if !isLetter(seg[i]) && (seg[i] < '0' || seg[i] > '9') {
					return false
				}
			}
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseEnvValue parses value as JSON when it is valid JSON, else returns it
// as a string. A JSON null is refused, as in Backstage.
func parseEnvValue(value string, at pos) (*node, error) {
	if !json.Valid([]byte(value)) {
		return newString(value, at), nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(value)))
	dec.UseNumber()
	n, err := jsonNode(dec, at, 0)
	if err != nil {
		return nil, err
	}
	if n.kind == kindNull {
		return nil, errors.New("value may not be null")
	}
	return n, nil
}

// jsonNode reads one JSON value from dec, keeping the order of object keys.
func jsonNode(dec *json.Decoder, at pos, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values are nested too deeply (the limit is %d levels)", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("unexpected end of JSON")
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull, pos: at}, nil
	case bool:
		return &node{kind: kindBool, b: t, pos: at}, nil
	case string:
		return newString(t, at), nil
	case json.Number:
		if i, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			return &node{kind: kindInt, i: i, pos: at}, nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindFloat, f: f, pos: at}, nil
	case json.Delim:
		switch t {
		case '{':
			m := newMap(at)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := jsonNode(dec, at, depth+1)
				if err != nil {
					return nil, err
				}
				m.set(key, v)
			}
			_, err := dec.Token()
			return m, err
		case '[':
			s := &node{kind: kindSeq, pos: at}
			for dec.More() {
				v, err := jsonNode(dec, at, depth+1)
				if err != nil {
					return nil, err
				}
				s.items = append(s.items, v)
			}
			_, err := dec.Token()
			return s, err
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
