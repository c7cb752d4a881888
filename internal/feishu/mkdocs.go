package feishu

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// NavPage is one migrated page for mkdocs.yml: Sections are the titles of
// the nested nav sections it goes in, below the migration's section.
type NavPage struct {
	Title    string   `json:"title"`
	Sections []string `json:"sections,omitempty"`
	// Path is relative to docs_dir, with forward slashes.
	Path string `json:"path"`
}

// NavEdit is what a migration did to mkdocs.yml, enough to undo it.
type NavEdit struct {
	// Created says the migration wrote mkdocs.yml itself.
	Created bool `json:"created,omitempty"`
	// Block is the exact text inserted into the nav list ("" for none).
	Block string `json:"block,omitempty"`
	// Note says why no entries were added, when none were.
	Note string `json:"note,omitempty"`
}

// mkdocsInfo is what the migration reads of an existing mkdocs.yml.
type mkdocsInfo struct {
	DocsDir string `yaml:"docs_dir"`
}

// maxMkdocsBytes bounds the mkdocs.yml read.
const maxMkdocsBytes = 1 << 20

// docsDirOf returns docs_dir of an mkdocs.yml ("docs" by default); a file
// that is not YAML is an error with its line.
func docsDirOf(src []byte) (string, error) {
	if len(src) > maxMkdocsBytes {
		return "", fmt.Errorf("mkdocs.yml is larger than %d bytes", maxMkdocsBytes)
	}
	var info mkdocsInfo
	if len(strings.TrimSpace(string(src))) > 0 {
		// MkDocs files use !!python tags and !ENV; decode into a generic
		// tree that tolerates unknown tags rather than failing.
		if err := yaml.UnmarshalWithOptions(src, &info, yaml.AllowDuplicateMapKey()); err != nil {
			return "", fmt.Errorf("mkdocs.yml: %s", yaml.FormatError(err, false, true))
		}
	}
	dir := path.Clean(strings.TrimSpace(info.DocsDir))
	if info.DocsDir == "" {
		dir = "docs"
	}
	if path.IsAbs(dir) || dir == ".." || strings.HasPrefix(dir, "../") {
		return "", fmt.Errorf("mkdocs.yml: docs_dir %q leaves the repository", info.DocsDir)
	}
	return dir, nil
}

// navBlock renders pages as a nav section, each line prefixed by indent
// (the indentation of the existing nav items).
func navBlock(section string, pages []NavPage, indent string) string {
	var b strings.Builder
	step := "  "
	b.WriteString(indent + "- " + yamlString(section) + ":\n")
	// Group pages by directory, directories as nested sections in order.
	sorted := append([]NavPage(nil), pages...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return slices.Compare(sorted[i].Sections, sorted[j].Sections) < 0
	})
	open := []string{}
	for _, p := range sorted {
		parts := p.Sections
		common := 0
		for common < len(open) && common < len(parts) && open[common] == parts[common] {
			common++
		}
		open = open[:common]
		for _, d := range parts[common:] {
			b.WriteString(indent + strings.Repeat(step, len(open)+1) + "- " + yamlString(d) + ":\n")
			open = append(open, d)
		}
		b.WriteString(indent + strings.Repeat(step, len(open)+1) + "- " + yamlString(p.Title) + ": " + yamlString(p.Path) + "\n")
	}
	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar (JSON strings are).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// addNav returns src with the section appended to its top-level nav list,
// and the edit made. Nothing else in the file changes, byte for byte.
// Without a nav key MkDocs derives the nav from the files, so none is
// added; a nav that is not a block list is left alone with a note.
func addNav(src []byte, siteName, section string, pages []NavPage) ([]byte, NavEdit, error) {
	if len(pages) == 0 {
		return src, NavEdit{Note: "no pages migrated"}, nil
	}
	if src == nil {
		out := "site_name: " + yamlString(siteName) + "\nnav:\n"
		block := navBlock(section, pages, "  ")
		return []byte(out + block), NavEdit{Created: true, Block: block}, nil
	}
	text := string(src)
	lines := strings.SplitAfter(text, "\n")
	navAt := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "nav:") {
			navAt = i
			break
		}
	}
	if navAt < 0 {
		return src, NavEdit{Note: "mkdocs.yml has no nav; MkDocs lists the new pages from the docs directory"}, nil
	}
	if rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(lines[navAt], "\n"), "nav:")); rest != "" && !strings.HasPrefix(rest, "#") {
		return src, NavEdit{Note: "mkdocs.yml's nav is not a block list; add the pages by hand"}, nil
	}
	// The nav block runs to the next line that starts at column 0 (a key
	// or a document marker); blank and comment lines inside belong to it.
	end := navAt + 1
	indent := ""
	lastItem := navAt
	for end < len(lines) {
		l := lines[end]
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") && l[0] != ' ' && l[0] != '\t' && l[0] != '-' {
			break
		}
		if t != "" && !strings.HasPrefix(t, "#") {
			lastItem = end
			if indent == "" && strings.HasPrefix(t, "-") {
				indent = l[:len(l)-len(strings.TrimLeft(l, " "))]
			}
		}
		end++
	}
	if lastItem == navAt && indent == "" {
		indent = "  "
	}
	block := navBlock(section, pages, indent)
	insertAt := lastItem + 1
	var b strings.Builder
	for i := 0; i < insertAt; i++ {
		b.WriteString(lines[i])
	}
	if !strings.HasSuffix(b.String(), "\n") {
		block = "\n" + block // recorded, so rollback restores the missing newline
	}
	b.WriteString(block)
	for i := insertAt; i < len(lines); i++ {
		b.WriteString(lines[i])
	}
	out := b.String()
	if _, err := docsDirOf([]byte(out)); err != nil {
		return src, NavEdit{}, fmt.Errorf("adding nav entries would break mkdocs.yml: %w", err)
	}
	return []byte(out), NavEdit{Block: block}, nil
}

// removeNav undoes addNav: it removes exactly the block inserted. It
// reports false when the block is no longer in the file as inserted.
func removeNav(src []byte, edit NavEdit) ([]byte, bool) {
	if edit.Block == "" {
		return src, true
	}
	text := string(src)
	block := edit.Block
	i := strings.LastIndex(text, block)
	if i < 0 {
		return src, false
	}
	return []byte(text[:i] + text[i+len(block):]), true
}
