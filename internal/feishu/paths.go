package feishu

import (
	"errors"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSlugRunes bounds a generated file or folder name.
const maxSlugRunes = 60

// Slug turns a title into a file name: letters and digits of any script
// kept (lower-cased), every other run of characters one '-'. An empty
// result is "".
func Slug(title string) string {
	var b strings.Builder
	dash := false
	n := 0
	for _, r := range strings.ToLower(title) {
		if n >= maxSlugRunes {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			dash = false
			n++
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
			n++
		}
	}
	return strings.Trim(b.String(), "-")
}

// cleanRel cleans a slash path that must stay inside its base: no
// absolute paths, no "..", no backslashes or NULs.
func cleanRel(p string) (string, error) {
	if strings.ContainsAny(p, "\\\x00") || !utf8.ValidString(p) {
		return "", errors.New("bad characters in path")
	}
	c := path.Clean("/" + p)[1:]
	if path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "..") {
		return "", errors.New("path leaves its folder")
	}
	return c, nil
}

// relPath returns the slash path from the folder fromDir to target.
func relPath(fromDir, target string) string {
	from := []string{}
	if fromDir != "" && fromDir != "." {
		from = strings.Split(fromDir, "/")
	}
	to := strings.Split(target, "/")
	i := 0
	for i < len(from) && i < len(to)-1 && from[i] == to[i] {
		i++
	}
	parts := make([]string, 0, len(from)-i+len(to)-i)
	for range from[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, to[i:]...)
	return strings.Join(parts, "/")
}

// feishuDocLink matches a Markdown link to a Feishu document URL and
// captures its token.
var feishuDocLink = regexp.MustCompile(`\]\((https?://[^()\s]*?/(?:docx|docs|wiki)/([A-Za-z0-9]+)[^()\s]*)\)`)

// rewriteLinks points links to documents of this migration at their new
// pages, relative to the page at pagePath (paths relative to docs_dir).
func rewriteLinks(md, pagePath string, pages map[string]string) string {
	if len(pages) == 0 {
		return md
	}
	dir := path.Dir(pagePath)
	return feishuDocLink.ReplaceAllStringFunc(md, func(m string) string {
		sub := feishuDocLink.FindStringSubmatch(m)
		target, ok := pages[sub[2]]
		if !ok {
			return m
		}
		return "](" + escapeURL(relPath(dir, target)) + ")"
	})
}
