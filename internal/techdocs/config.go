package techdocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"greenroom/internal/yamltree"
)

// Config is the part of mkdocs.yml the builder uses.
type Config struct {
	// File is the path of mkdocs.yml relative to the project directory.
	File             string
	SiteName         string
	SiteDescription  string
	SiteURL          string
	RepoURL          string
	EditURI          string
	DocsDir          string // relative to the project directory, default "docs"
	UseDirectoryURLs bool
	Theme            string
	// Nav is the configured navigation; nil when mkdocs.yml has no nav.
	Nav []NavEntry
	// Extensions are the markdown_extensions with their options, in order.
	Extensions []Extension
	// Plugins are the plugins with their options, in order; "search" when
	// the file names none, as in MkDocs.
	Plugins []Extension
	// Warnings found while reading the file.
	Warnings []Warning
}

// Extension is one entry of markdown_extensions or plugins.
type Extension struct {
	Name    string
	Options *yamltree.Node
	Pos     yamltree.Pos
}

// NavEntry is one item of the configured nav: a page or link (Path set)
// or a section (Children set, possibly empty).
type NavEntry struct {
	Title    string // empty when the entry gave none
	Path     string
	Section  bool
	Children []NavEntry
	Pos      yamltree.Pos
}

// maxInherit bounds INHERIT chains; a cycle is reported before this.
const maxInherit = 8

// LoadConfig reads configFile (mkdocs.yml or mkdocs.yaml when empty) in
// projectDir. INHERIT is followed within projectDir only.
//
// MkDocs' !ENV tag (!ENV NAME, or !ENV [NAME, OTHER, default]) is resolved
// with env; a nil env resolves every !ENV to its default (or null), which
// is what the server does so that a docs project cannot read the server's
// environment.
func LoadConfig(projectDir, configFile string, env func(string) (string, bool)) (*Config, error) {
	if configFile == "" {
		configFile = "mkdocs.yml"
		if _, err := os.Stat(filepath.Join(projectDir, configFile)); errors.Is(err, os.ErrNotExist) {
			if _, err2 := os.Stat(filepath.Join(projectDir, "mkdocs.yaml")); err2 == nil {
				configFile = "mkdocs.yaml"
			}
		}
	}
	root, err := loadTree(projectDir, configFile, nil, env)
	if err != nil {
		return nil, err
	}
	return decodeConfig(configFile, root)
}

// tree is a merged mkdocs.yml: key → value with the position of the file
// that set it.
type tree struct {
	keys []string
	vals map[string]*yamltree.Node
}

func loadTree(projectDir, name string, seen []string, env func(string) (string, bool)) (*tree, error) {
	clean := filepath.ToSlash(filepath.Clean(name))
	if filepath.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("techdocs: %s: INHERIT leaves the project directory", name)
	}
	if slices.Contains(seen, clean) {
		return nil, fmt.Errorf("techdocs: %s: recursive INHERIT (%s)", clean, strings.Join(append(seen, clean), " → "))
	}
	if len(seen) >= maxInherit {
		return nil, fmt.Errorf("techdocs: %s: INHERIT nested more than %d deep", clean, maxInherit)
	}
	data, err := readInside(projectDir, clean, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("techdocs: read %s: %w", clean, err)
	}
	data = resolveEnvTags(data, env)
	n, err := yamltree.Parse(clean, data, yamltree.Limits{MaxBytes: 1 << 20, MaxNodes: 100_000, MaxDepth: 32}, nil)
	if err != nil {
		return nil, fmt.Errorf("techdocs: %w", err)
	}
	if n.Kind() == yamltree.Null {
		return &tree{vals: map[string]*yamltree.Node{}}, nil
	}
	if n.Kind() != yamltree.Map {
		return nil, fmt.Errorf("techdocs: %s: the configuration must be a mapping, not %v", n.Pos(), n.Kind())
	}
	t := &tree{vals: map[string]*yamltree.Node{}}
	if inh := n.Get("INHERIT"); inh != nil {
		if inh.Kind() != yamltree.String {
			return nil, fmt.Errorf("techdocs: %s: INHERIT must be a file name", inh.Pos())
		}
		parent := filepath.ToSlash(filepath.Join(filepath.Dir(clean), inh.Str()))
		t, err = loadTree(projectDir, parent, append(seen, clean), env)
		if err != nil {
			return nil, err
		}
	}
	for k, v := range n.Entries() {
		if k == "INHERIT" {
			continue
		}
		if _, ok := t.vals[k]; !ok {
			t.keys = append(t.keys, k)
		}
		// MkDocs merges mappings deeply; lists and scalars replace.
		t.vals[k] = v
	}
	return t, nil
}

// readInside reads rel under dir, refusing paths (and symlinks) that leave
// dir and files larger than limit.
func readInside(dir, rel string, limit int64) ([]byte, error) {
	p, err := resolveInside(dir, rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", rel)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, the limit is %d", rel, st.Size(), limit)
	}
	buf := make([]byte, st.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	return buf, nil
}

// resolveInside returns the real path of rel under dir, or an error when it
// (after following symlinks) is outside dir.
func resolveInside(dir, rel string) (string, error) {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	p, err := filepath.EvalSymlinks(filepath.Join(realDir, filepath.FromSlash(rel)))
	if err != nil {
		return "", err
	}
	if !within(realDir, p) {
		return "", fmt.Errorf("%s leaves %s (symlink)", rel, dir)
	}
	return p, nil
}

func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

func decodeConfig(file string, t *tree) (*Config, error) {
	c := &Config{File: file, DocsDir: "docs", UseDirectoryURLs: true, Theme: "mkdocs"}
	var problems []error
	str := func(key string, dst *string) {
		v := t.vals[key]
		switch v.Kind() {
		case yamltree.Null:
		case yamltree.String, yamltree.Int, yamltree.Float, yamltree.Bool:
			*dst = scalar(v)
		default:
			problems = append(problems, fmt.Errorf("%s: %s must be a string, not %v", v.Pos(), key, v.Kind()))
		}
	}
	str("site_name", &c.SiteName)
	str("site_description", &c.SiteDescription)
	str("site_url", &c.SiteURL)
	str("repo_url", &c.RepoURL)
	str("edit_uri", &c.EditURI)
	str("docs_dir", &c.DocsDir)
	if c.SiteName == "" {
		problems = append(problems, fmt.Errorf("%s: site_name is required", file))
	}
	if v := t.vals["use_directory_urls"]; v != nil {
		if v.Kind() != yamltree.Bool {
			problems = append(problems, fmt.Errorf("%s: use_directory_urls must be true or false", v.Pos()))
		} else {
			c.UseDirectoryURLs = v.Bool()
		}
	}
	if v := t.vals["theme"]; v != nil {
		switch v.Kind() {
		case yamltree.String:
			c.Theme = v.Str()
		case yamltree.Map:
			if n := v.Get("name"); n.Kind() == yamltree.String {
				c.Theme = n.Str()
			}
		}
	}
	if c.EditURI == "" && strings.Contains(c.RepoURL, "github.com") {
		c.EditURI = "edit/master/docs/"
	} else if c.EditURI == "" && strings.Contains(c.RepoURL, "gitlab.com") {
		c.EditURI = "edit/master/docs/"
	}
	var err error
	if c.Extensions, err = extensions(t.vals["markdown_extensions"], "markdown_extensions"); err != nil {
		problems = append(problems, err)
	}
	if v := t.vals["plugins"]; v != nil {
		if c.Plugins, err = extensions(v, "plugins"); err != nil {
			problems = append(problems, err)
		}
	} else {
		c.Plugins = []Extension{{Name: "search"}}
	}
	for _, p := range c.Plugins {
		if !slices.Contains(knownPlugins, p.Name) {
			c.Warnings = append(c.Warnings, Warning{File: p.Pos.File, Line: p.Pos.Line,
				Message: fmt.Sprintf("plugin %q is not supported by the Greenroom builder and is ignored", p.Name)})
		}
	}
	if v := t.vals["nav"]; v != nil {
		if v.Kind() != yamltree.Seq {
			problems = append(problems, fmt.Errorf("%s: nav must be a list", v.Pos()))
		} else if c.Nav, err = navEntries(v, 0); err != nil {
			problems = append(problems, err)
		} else if c.Nav == nil {
			c.Nav = []NavEntry{}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("techdocs: invalid %s: %w", file, errors.Join(problems...))
	}
	return c, nil
}

// knownPlugins are the plugins whose effect the builder provides (search,
// techdocs-core's Markdown extensions) or that change nothing in the built
// pages' content.
var knownPlugins = []string{"search", "techdocs-core", "mkdocs-techdocs-core"}

func scalar(v *yamltree.Node) string {
	switch v.Kind() {
	case yamltree.String:
		return v.Str()
	case yamltree.Bool:
		if v.Bool() {
			return "true"
		}
		return "false"
	case yamltree.Int:
		return fmt.Sprint(v.Int())
	case yamltree.Float:
		return fmt.Sprint(v.Float())
	}
	return ""
}

// extensions decodes MkDocs' list-or-mapping form of markdown_extensions
// and plugins: "- name", "- name: {options}" or "name: {options}".
func extensions(v *yamltree.Node, key string) ([]Extension, error) {
	var out []Extension
	switch v.Kind() {
	case yamltree.Null:
		return nil, nil
	case yamltree.Seq:
		for _, it := range v.Items() {
			switch it.Kind() {
			case yamltree.String:
				out = append(out, Extension{Name: it.Str(), Pos: it.Pos()})
			case yamltree.Map:
				if it.Len() != 1 {
					return nil, fmt.Errorf("%s: each %s item must have one name", it.Pos(), key)
				}
				for k, o := range it.Entries() {
					out = append(out, Extension{Name: k, Options: o, Pos: it.Pos()})
				}
			default:
				return nil, fmt.Errorf("%s: %s items must be names or name: options", it.Pos(), key)
			}
		}
	case yamltree.Map:
		for k, o := range v.Entries() {
			out = append(out, Extension{Name: k, Options: o, Pos: o.Pos()})
		}
	default:
		return nil, fmt.Errorf("%s: %s must be a list", v.Pos(), key)
	}
	return out, nil
}

const maxNavDepth = 16

func navEntries(v *yamltree.Node, depth int) ([]NavEntry, error) {
	if depth > maxNavDepth {
		return nil, fmt.Errorf("%s: nav nested more than %d deep", v.Pos(), maxNavDepth)
	}
	var out []NavEntry
	for _, it := range v.Items() {
		switch it.Kind() {
		case yamltree.String:
			out = append(out, NavEntry{Path: it.Str(), Pos: it.Pos()})
		case yamltree.Map:
			if it.Len() != 1 {
				return nil, fmt.Errorf("%s: a nav item must have one title", it.Pos())
			}
			for title, val := range it.Entries() {
				switch val.Kind() {
				case yamltree.Seq:
					ch, err := navEntries(val, depth+1)
					if err != nil {
						return nil, err
					}
					if ch == nil {
						ch = []NavEntry{}
					}
					out = append(out, NavEntry{Title: title, Section: true, Children: ch, Pos: it.Pos()})
				case yamltree.Null:
					out = append(out, NavEntry{Title: title, Section: true, Children: []NavEntry{}, Pos: it.Pos()})
				case yamltree.String:
					out = append(out, NavEntry{Title: title, Path: val.Str(), Pos: it.Pos()})
				default:
					return nil, fmt.Errorf("%s: nav item %q must be a path, a URL or a list", val.Pos(), title)
				}
			}
		default:
			return nil, fmt.Errorf("%s: a nav item must be a path or title: path", it.Pos())
		}
	}
	return out, nil
}

// ext returns the options of the named markdown extension and whether it
// is enabled.
func (c *Config) ext(names ...string) (*yamltree.Node, bool) {
	for _, e := range c.Extensions {
		if slices.Contains(names, e.Name) {
			return e.Options, true
		}
	}
	return nil, false
}

func (c *Config) plugin(name string) bool {
	return slices.ContainsFunc(c.Plugins, func(e Extension) bool { return e.Name == name })
}

var (
	envScalarRE = regexp.MustCompile(`!ENV[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*(#.*)?$`)
	envListRE   = regexp.MustCompile(`!ENV[ \t]+\[([^\]\n]*)\][ \t]*(#.*)?$`)
)

// resolveEnvTags replaces each !ENV value with its resolved value as a
// quoted YAML string (null when unresolved), line by line so that
// positions in errors stay those of the file.
func resolveEnvTags(data []byte, env func(string) (string, bool)) []byte {
	if !bytes.Contains(data, []byte("!ENV")) {
		return data
	}
	lookup := func(name string) (string, bool) {
		if env == nil {
			return "", false
		}
		return env(name)
	}
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if m := envScalarRE.FindStringSubmatchIndex(l); m != nil {
			v, ok := lookup(l[m[2]:m[3]])
			r := "null"
			if ok {
				r = quote(v)
			}
			lines[i] = l[:m[0]] + r
			continue
		}
		if m := envListRE.FindStringSubmatchIndex(l); m != nil {
			items := strings.Split(l[m[2]:m[3]], ",")
			r := "null"
			for j, it := range items {
				it = strings.TrimSpace(it)
				if j == len(items)-1 && len(items) > 1 {
					// The last item is the default: a literal.
					r = quote(strings.Trim(it, `'"`))
					break
				}
				if v, ok := lookup(it); ok {
					r = quote(v)
					break
				}
			}
			lines[i] = l[:m[0]] + r
		}
	}
	return []byte(strings.Join(lines, "\n"))
}
