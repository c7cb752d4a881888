package yamltree

import (
	"math"
	"strconv"
	"strings"
)

// plain resolves a plain (unquoted, untagged) scalar by YAML 1.2's core
// schema, with the number forms yamltree has always accepted besides it
// (YAML 1.1's underscores and octals written with a leading 0): null,
// booleans, .inf and .nan, integers and floats; anything else is a
// string. YAML 1.1's yes, no, on and off are strings, as in Backstage.
//
// The parser resolves scalars too, but by other rules (1e3 is a float
// there, 012 is 12, timestamps are their own type), so its tags are not
// used.
func plain(s string) Node {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return Node{kind: Null}
	case "true", "True", "TRUE":
		return Node{kind: Bool, b: true}
	case "false", "False", "FALSE":
		return Node{kind: Bool}
	case ".inf", ".Inf", ".INF":
		return Node{kind: Float, f: math.Inf(1)}
	case "-.inf", "-.Inf", "-.INF":
		return Node{kind: Float, f: math.Inf(-1)}
	case ".nan", ".NaN", ".NAN":
		return Node{kind: Float, f: math.NaN()}
	}
	if c := s[0]; '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' {
		if n, ok := number(s); ok {
			return n
		}
	}
	return Node{kind: String, s: s}
}

// number parses s as an integer or a float: an optional sign, then
// digits in base 10, or after 0x, 0o or 0b in base 16, 8 or 2, or after a
// leading 0 in base 8; or a float with exactly one '.' (1.5, .5, 1.,
// 1.5e3). Underscores are ignored. Integers beyond the int64 range but
// within the uint64 one are floats, as JSON numbers; beyond that, strings.
func number(s string) (Node, bool) {
	dots := strings.Count(s, ".")
	if dots > 1 {
		return Node{}, false
	}
	neg := s[0] == '-'
	body := s
	if s[0] == '-' || s[0] == '+' {
		body = s[1:]
	}
	if strings.IndexByte(body, '_') >= 0 {
		body = strings.ReplaceAll(body, "_", "")
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return Node{}, false
	}
	base := 10
	switch {
	case strings.HasPrefix(body, "0x"):
		base, body = 16, body[2:]
	case strings.HasPrefix(body, "0o"):
		base, body = 8, body[2:]
	case strings.HasPrefix(body, "0b"):
		base, body = 2, body[2:]
	case body[0] == '0' && len(body) > 1 && dots == 0:
		base = 8
	case dots == 1:
		f, err := strconv.ParseFloat(body, 64)
		if err != nil {
			return Node{}, false
		}
		if neg {
			f = -f
		}
		return Node{kind: Float, f: f}, true
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return Node{}, false
	}
	if neg {
		i, err := strconv.ParseInt("-"+body, base, 64)
		if err != nil {
			return Node{}, false
		}
		return Node{kind: Int, i: i}, true
	}
	u, err := strconv.ParseUint(body, base, 64)
	if err != nil {
		return Node{}, false
	}
	if u > math.MaxInt64 {
		return Node{kind: Float, f: float64(u)}, true
	}
	return Node{kind: Int, i: int64(u)}, true
}
