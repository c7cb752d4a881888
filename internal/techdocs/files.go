package techdocs

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File is one file of the docs directory.
type File struct {
	// Src is the path relative to the docs directory, slash-separated.
	Src string
	// Dest is the output path relative to the site directory.
	Dest string
	// URL is the page's URL relative to the site root, percent-encoded as
	// MkDocs writes it ("./" for the home page, "a/b/" or "a/b.html").
	URL string
	// Doc is true for Markdown pages.
	Doc bool
	// abs is the real path on disk.
	abs  string
	size int64
	mod  time.Time
}

// isIndex reports whether the page is its directory's index.
func (f *File) isIndex() bool {
	return f.Doc && (stem(f.Src) == "index" || stem(f.Src) == "README")
}

func stem(src string) string {
	b := path.Base(src)
	return strings.TrimSuffix(b, path.Ext(b))
}

// name is MkDocs' File.name: the stem, "index" for index and README pages.
func (f *File) name() string {
	s := stem(f.Src)
	if s == "README" {
		return "index"
	}
	return s
}

var mdExts = []string{".md", ".markdown", ".mdown", ".mkdn", ".mkd"}

func isMarkdown(p string) bool { return slices.Contains(mdExts, strings.ToLower(path.Ext(p))) }

// fileSet is the docs directory's files in MkDocs' order.
type fileSet struct {
	list  []*File
	bySrc map[string]*File
}

func (s *fileSet) docs() []*File {
	var out []*File
	for _, f := range s.list {
		if f.Doc {
			out = append(out, f)
		}
	}
	return out
}

// walkDocs lists docsDir as MkDocs does: directories and files whose names
// start with '.' are skipped, directories are visited in sorted order after
// their files, index/README first among files, README.md dropped (with a
// warning) beside an index.md. Symlinks are followed only when they stay in
// docsDir.
func walkDocs(docsDir string, directoryURLs bool, lim Limits, warn func(Warning)) (*fileSet, error) {
	realDocs, err := filepath.EvalSymlinks(docsDir)
	if err != nil {
		return nil, fmt.Errorf("techdocs: docs directory: %w", err)
	}
	st, err := os.Stat(realDocs)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("techdocs: docs directory %s is not a directory", docsDir)
	}
	set := &fileSet{bySrc: map[string]*File{}}
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		if depth > 32 {
			warn(Warning{File: rel, Message: "directory nested more than 32 deep is skipped"})
			return nil
		}
		dir := filepath.Join(realDocs, filepath.FromSlash(rel))
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("techdocs: read %s: %w", rel, err)
		}
		var files, dirs []string
		abs := map[string]string{}
		sizes := map[string]int64{}
		mods := map[string]time.Time{}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || rel == "" && name == "templates" && e.IsDir() {
				continue // MkDocs' default exclude: .* and /templates
			}
			p := filepath.Join(dir, name)
			srcRel := path.Join(rel, name)
			info, err := e.Info()
			if err != nil {
				continue
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				real, err := filepath.EvalSymlinks(p)
				if err != nil || !within(realDocs, real) {
					warn(Warning{File: srcRel, Message: "symlink leads outside the docs directory (or nowhere) and is skipped"})
					continue
				}
				if info, err = os.Stat(real); err != nil {
					continue
				}
				p = real
			}
			switch {
			case info.IsDir():
				dirs = append(dirs, name)
				abs[name] = p
			case info.Mode().IsRegular():
				if info.Size() > lim.MaxFileBytes {
					warn(Warning{File: srcRel, Message: fmt.Sprintf("file is %d bytes, larger than the limit of %d, and is skipped", info.Size(), lim.MaxFileBytes)})
					continue
				}
				files = append(files, name)
				abs[name] = p
				sizes[name] = info.Size()
				mods[name] = info.ModTime()
			}
		}
		slices.Sort(dirs)
		hasIndex := false
		for _, n := range files {
			if isMarkdown(n) && stem(n) == "index" {
				hasIndex = true
			}
		}
		slices.SortFunc(files, func(a, b string) int {
			ka, kb := isIndexName(a), isIndexName(b)
			if ka != kb {
				if ka {
					return -1
				}
				return 1
			}
			if ka && kb {
				return 0 // Python's sort is stable and keys are equal
			}
			return strings.Compare(a, b)
		})
		for _, n := range files {
			src := path.Join(rel, n)
			if hasIndex && isMarkdown(n) && stem(n) == "README" {
				warn(Warning{File: src, Message: "both index.md and README.md found; README.md is skipped"})
				continue
			}
			f := &File{Src: src, Doc: isMarkdown(n), abs: abs[n], size: sizes[n], mod: mods[n]}
			f.Dest, f.URL = destAndURL(f, directoryURLs)
			set.list = append(set.list, f)
			set.bySrc[f.Src] = f
			if len(set.list) > lim.MaxFiles {
				return fmt.Errorf("techdocs: more than %d files in the docs directory", lim.MaxFiles)
			}
		}
		for _, d := range dirs {
			if err := walk(path.Join(rel, d), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk("", 0); err != nil {
		return nil, err
	}
	return set, nil
}

func isIndexName(n string) bool {
	s := stem(n)
	return s == "index" || s == "README"
}

// destAndURL computes MkDocs' dest_uri and url for f.
func destAndURL(f *File, directoryURLs bool) (dest, u string) {
	if !f.Doc {
		dest = f.Src
	} else {
		parent := path.Dir(f.Src)
		if parent == "." {
			parent = ""
		}
		if !directoryURLs || f.name() == "index" {
			dest = path.Join(parent, f.name()+".html")
		} else {
			dest = path.Join(parent, f.name(), "index.html")
		}
	}
	u = dest
	dir, file := path.Split(u)
	if directoryURLs && file == "index.html" && f.Doc {
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		u = dir + "/"
	}
	return dest, quotePath(u)
}

// quotePath is Python's urllib.parse.quote with safe="/".
func quotePath(p string) string {
	const safe = "_.-~/"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(safe, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// relativeURL is MkDocs' get_relative_url: url relative to the page at
// other. The last component of other is dropped when it has a dot.
func relativeURL(u, other string) string {
	if i := strings.LastIndexByte(other, '/'); strings.Contains(other[i+1:], ".") {
		if i < 0 {
			other = ""
		} else {
			other = other[:i]
		}
	}
	op, dp := normParts(other), normParts(u)
	common := 0
	for common < len(op) && common < len(dp) && op[common] == dp[common] {
		common++
	}
	var parts []string
	for range len(op) - common {
		parts = append(parts, "..")
	}
	parts = append(parts, dp[common:]...)
	rel := strings.Join(parts, "/")
	if rel == "" {
		rel = "."
	}
	if strings.HasSuffix(u, "/") {
		rel += "/"
	}
	return rel
}

func normParts(p string) []string {
	p = path.Clean("/" + p)[1:]
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// unquote decodes %xx in a link path, keeping it as is when malformed.
func unquote(p string) string {
	if s, err := url.PathUnescape(p); err == nil {
		return s
	}
	return p
}
