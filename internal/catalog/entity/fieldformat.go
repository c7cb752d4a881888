package entity

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The format rules of Backstage's FieldFormatEntityPolicy, with the
// validators of makeValidator (KubernetesValidatorFunctions and
// CommonValidatorFunctions). Each is written as a scan rather than a
// regular expression for speed; the regular expression it implements is
// in its comment, and the tests compare the two.

// The expectations Backstage's policy names in its messages.
const (
	expectObjectName = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
	expectDNSLabel   = "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
	expectTag        = "a string that is sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total"
	expectKind       = "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
	expectAPIVersion = "a valid prefix and/or suffix: an optional DNS subdomain (at most 253 characters) and \"/\", then a version of [a-zA-Z0-9], at most 63 characters, e.g. \"backstage.io/v1alpha1\""
	expectKey        = "a valid prefix and/or suffix: an optional DNS subdomain (at most 253 characters) and \"/\", then sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters"
	expectURL        = "a string that is a valid url"
	expectString     = "a non empty string"
)

// rootFields are the only fields an entity may have at its root
// (NoForeignRootFieldsEntityPolicy, with the relations and status that the
// catalog itself attaches).
var rootFields = []string{"apiVersion", "kind", "metadata", "spec", "relations", "status"}

// checkFields applies NoForeignRootFieldsEntityPolicy and
// FieldFormatEntityPolicy. Values of the wrong JSON type, and missing
// required ones, are left to the envelope schema, which reports them.
func checkFields(raw map[string]any, add func(path, msg string)) {
	for k := range raw {
		if !slices.Contains(rootFields, k) {
			add(keyPath("", k), "unknown root field; an entity may only have apiVersion, kind, metadata, spec, relations and status at its root")
		}
	}
	invalid := func(path, expect, found string) {
		add(path, "is not valid; expected "+expect+" but found "+quote(found))
	}
	if s, ok := raw["apiVersion"].(string); ok && !isValidAPIVersion(s) {
		invalid("apiVersion", expectAPIVersion, s)
	}
	if s, ok := raw["kind"].(string); ok && !isValidKind(s) {
		invalid("kind", expectKind, s)
	}
	meta, _ := raw["metadata"].(map[string]any)
	if s, ok := meta["name"].(string); ok && !isValidObjectName(s) {
		invalid("metadata.name", expectObjectName, s)
	}
	if s, ok := meta["namespace"].(string); ok && !isValidDNSLabel(s) {
		invalid("metadata.namespace", expectDNSLabel, s)
	}
	for _, field := range [...]string{"labels", "annotations"} {
		m, _ := meta[field].(map[string]any)
		for k, v := range m {
			if !isValidKey(k) {
				add(keyPath("metadata."+field, k), "key is not valid; expected "+expectKey+" but found "+quote(k))
			}
			if s, ok := v.(string); ok && field == "labels" && s != "" && !isValidObjectName(s) {
				add(keyPath("metadata."+field, k), "value is not valid; expected "+expectObjectName+", or empty, but found "+quote(s))
			}
		}
	}
	tags, _ := meta["tags"].([]any)
	for i, t := range tags {
		if s, ok := t.(string); ok && !isValidTag(s) {
			invalid("metadata.tags["+itoa(i)+"]", expectTag, s)
		}
	}
	links, _ := meta["links"].([]any)
	for i, l := range links {
		lm, _ := l.(map[string]any)
		base := "metadata.links[" + itoa(i) + "]"
		if s, ok := lm["url"].(string); ok && !isValidURL(s) {
			invalid(base+".url", expectURL, s)
		}
		if s, ok := lm["title"].(string); ok && !isValidString(s) {
			invalid(base+".title", expectString, s)
		}
		if s, ok := lm["icon"].(string); ok && !isValidObjectName(s) {
			invalid(base+".icon", expectObjectName, s)
		}
	}
}

func isAlnum(c byte) bool { return isLowerDigit(c) || 'A' <= c && c <= 'Z' }

func isLowerDigit(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// isValidObjectName: 1–63 characters, ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$.
func isValidObjectName(s string) bool {
	if len(s) < 1 || len(s) > 63 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isValidKind: 1–63 characters, ^[a-zA-Z][a-z0-9A-Z]*$.
func isValidKind(s string) bool {
	if len(s) < 1 || len(s) > 63 || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// isValidDNSLabel: 1–63 characters, ^[a-z0-9]+(\-[a-z0-9]+)*$.
func isValidDNSLabel(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && isDashSeparated(s, isLowerDigit)
}

// isValidTag: 1–63 characters, ^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$.
func isValidTag(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && isDashSeparated(s, func(c byte) bool {
		return isLowerDigit(c) || c == ':' || c == '+' || c == '#'
	})
}

// isDashSeparated reports whether s is non-empty runs of class separated by
// single dashes.
func isDashSeparated(s string, class func(byte) bool) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '-' {
			if s[i-1] == '-' {
				return false
			}
		} else if !class(c) {
			return false
		}
	}
	return true
}

// isValidDNSSubdomain: 1–253 characters of dot-separated DNS labels.
func isValidDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isValidDNSLabel(label) {
			return false
		}
	}
	return true
}

// isValidPrefixAndOrSuffix: "<suffix>" or "<prefix>/<suffix>", each part
// valid; a second separator makes it invalid.
func isValidPrefixAndOrSuffix(s string, prefix, suffix func(string) bool) bool {
	p, rest, found := strings.Cut(s, "/")
	if !found {
		return suffix(s)
	}
	return !strings.Contains(rest, "/") && prefix(p) && suffix(rest)
}

func isValidAPIVersion(s string) bool {
	return isValidPrefixAndOrSuffix(s, isValidDNSSubdomain, func(v string) bool {
		if len(v) < 1 || len(v) > 63 {
			return false
		}
		for i := 0; i < len(v); i++ {
			if !isAlnum(v[i]) {
				return false
			}
		}
		return true
	})
}

// isValidKey checks a label or annotation key.
func isValidKey(s string) bool {
	return isValidPrefixAndOrSuffix(s, isValidDNSSubdomain, isValidObjectName)
}

// isValidString: a string with something other than white space.
func isValidString(s string) bool {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }) != ""
}

// specialSchemes are the WHATWG URL schemes whose URLs need a host.
var specialSchemes = []string{"http", "https", "ws", "wss", "ftp"}

// isValidURL approximates Backstage's check, which is whether the WHATWG
// URL parser (new URL(value)) accepts the string: it must be absolute, with
// a scheme; http(s), ws(s) and ftp URLs need a host, which WHATWG finds
// after any number of slashes ("https:/x" is https://x/), and a port must be
// at most 65535. Like WHATWG, leading and trailing control characters and
// spaces and inner tabs and newlines are ignored.
func isValidURL(s string) bool {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	if slices.Contains(specialSchemes, strings.ToLower(u.Scheme)) && u.Host == "" {
		rest := u.Opaque
		if rest == "" {
			rest = u.Path
		}
		host, _, _ := strings.Cut(strings.TrimLeft(rest, "/\\"), "/")
		if host == "" {
			return false
		}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n > 65535 {
			return false
		}
	}
	return true
}

func itoa(i int) string { return strconv.Itoa(i) }
