package entity

import (
	"encoding/json"
	"strconv"
	"strings"
)

// rootPath is the path of a problem with the entity as a whole, as
// Backstage's schema errors name it.
const rootPath = "<root>"

// keyPath appends an object key to a problem path: .key for keys that are
// identifiers, ["key"] (JSON-quoted) for the others.
func keyPath(base, key string) string {
	if isIdentifier(key) {
		if base == "" {
			return key
		}
		return base + "." + key
	}
	b, _ := json.Marshal(key)
	return base + "[" + string(b) + "]"
}

func isIdentifier(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '$' {
			return false
		}
	}
	return true
}

// tokensPath renders a JSON pointer's tokens, as a schema validator reports
// an instance location, in this package's path syntax. It walks root to tell
// array indexes ([2]) from object keys that look like numbers.
func tokensPath(root any, tokens []string) string {
	path, cur := "", root
	for _, t := range tokens {
		if arr, ok := cur.([]any); ok {
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(arr) {
				path += "[" + t + "]"
				cur = arr[i]
				continue
			}
		}
		if m, ok := cur.(map[string]any); ok {
			cur = m[t]
		} else {
			cur = nil
		}
		path = keyPath(path, t)
	}
	if path == "" {
		return rootPath
	}
	return path
}

// comparePaths orders paths naturally: runs of digits compare as numbers, so
// tags[2] comes before tags[10]. Paths that are naturally equal but differ
// ("0" and "00") fall back to byte order, so that the order is total.
func comparePaths(a, b string) int {
	if c := compareNatural(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func compareNatural(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}
