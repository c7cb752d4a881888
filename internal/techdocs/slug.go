package techdocs

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// slugify is Python-Markdown's toc slugify: with ascii, the text is NFKD
// normalized and non-ASCII dropped (MkDocs' default); otherwise Unicode
// letters are kept (toc.slugify_unicode). Characters that are not word
// characters, spaces or '-' are dropped, the result trimmed and
// lowercased, and runs of spaces and separators become one separator.
func slugify(value string, sep string, ascii bool) string {
	if ascii {
		value = norm.NFKD.String(value)
		var b strings.Builder
		for _, r := range value {
			if r < 0x80 {
				b.WriteRune(r)
			}
		}
		value = b.String()
	}
	var b strings.Builder
	for _, r := range value {
		if isWord(r) || isPySpace(r) || r == '-' {
			b.WriteRune(r)
		}
	}
	value = strings.ToLower(strings.TrimFunc(b.String(), isPySpace))
	b.Reset()
	inRun := false
	for _, r := range value {
		if isPySpace(r) || strings.ContainsRune(sep, r) {
			if !inRun {
				b.WriteString(sep)
			}
			inRun = true
			continue
		}
		inRun = false
		b.WriteRune(r)
	}
	return b.String()
}

// isWord is Python's \w on str: letters, numbers and '_'.
func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// isPySpace is Python's \s on str.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

var idCountRE = regexp.MustCompile(`^(.*)_([0-9]+)$`)

// unique is Python-Markdown's toc unique: id, or id with _1, _2… appended
// (or incremented) until it is unused; an empty id becomes "_1".
func unique(id string, used map[string]bool) string {
	for used[id] || id == "" {
		if m := idCountRE.FindStringSubmatch(id); m != nil {
			n, _ := strconv.Atoi(m[2])
			id = m[1] + "_" + strconv.Itoa(n+1)
		} else {
			id += "_1"
		}
	}
	used[id] = true
	return id
}
