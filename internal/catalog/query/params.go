package query

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"greenroom/internal/greenroom"
)

// invalid returns a greenroom.CodeInvalid error; messages mirror the
// InputError texts of Backstage's catalog backend.
func invalid(format string, args ...any) error {
	return greenroom.Errorf(greenroom.CodeInvalid, format, args...)
}

// stringParam returns the single value of name, or ok false when absent.
// Repeating it is an error, as an array is where Backstage wants a string.
func stringParam(v url.Values, name string) (string, bool, error) {
	vals, ok := v[name]
	if !ok || len(vals) == 0 {
		return "", false, nil
	}
	if len(vals) > 1 {
		return "", false, invalid("Invalid %s, not a string", name)
	}
	return vals[0], true, nil
}

// intParam parses the single value of name as Backstage's parseIntegerParam
// does: the canonical decimal form of an integer only ("7", not "07", "+7"
// or "7.0").
func intParam(v url.Values, name string) (int, bool, error) {
	vals, ok := v[name]
	if !ok || len(vals) == 0 {
		return 0, false, nil
	}
	if len(vals) > 1 {
		return 0, false, invalid("Invalid %s, not an integer on string form", name)
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || strconv.Itoa(n) != vals[0] {
		return 0, false, invalid("Invalid %s, not an integer", name)
	}
	return n, true, nil
}

// checkText rejects text that cannot be a stored key or value: invalid
// UTF-8, or a NUL byte, which PostgreSQL text cannot hold.
func checkText(param, s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return invalid("Invalid %s, %q is not valid text", param, s)
	}
	return nil
}
