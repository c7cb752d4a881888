package githubfake

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // git's object ids are SHA-1
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// treeNode is a git tree whose id is computed as git computes it, so blob
// and tree SHAs look and behave like GitHub's (same content, same id).
type treeNode struct {
	sha     string
	entries []treeEntry // sorted as git sorts them
}

type treeEntry struct {
	name string
	mode string // as the REST API shows it: 100644, 040000
	typ  string // blob or tree
	sha  string
	size int
	sub  *treeNode
}

func gitHash(kind string, body []byte) string {
	h := sha1.New() //nolint:gosec
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func blobSHA(content string) string { return gitHash("blob", []byte(content)) }

// buildTree makes the tree of a set of files (path -> content).
func buildTree(files map[string]string) *treeNode {
	type dir struct {
		files map[string]string
		dirs  map[string]*dir
	}
	root := &dir{files: map[string]string{}, dirs: map[string]*dir{}}
	for p, content := range files {
		parts := strings.Split(p, "/")
		d := root
		for _, seg := range parts[:len(parts)-1] {
			next, ok := d.dirs[seg]
			if !ok {
				next = &dir{files: map[string]string{}, dirs: map[string]*dir{}}
				d.dirs[seg] = next
			}
			d = next
		}
		d.files[parts[len(parts)-1]] = content
	}
	var build func(d *dir) *treeNode
	build = func(d *dir) *treeNode {
		t := &treeNode{}
		for name, content := range d.files {
			t.entries = append(t.entries, treeEntry{name: name, mode: "100644", typ: "blob", sha: blobSHA(content), size: len(content)})
		}
		for name, sub := range d.dirs {
			st := build(sub)
			t.entries = append(t.entries, treeEntry{name: name, mode: "040000", typ: "tree", sha: st.sha, sub: st})
		}
		// git orders a tree's entries by name, a subtree's name compared as
		// if it ended in "/".
		key := func(e treeEntry) string {
			if e.typ == "tree" {
				return e.name + "/"
			}
			return e.name
		}
		sort.Slice(t.entries, func(i, j int) bool { return key(t.entries[i]) < key(t.entries[j]) })
		var buf bytes.Buffer
		for _, e := range t.entries {
			mode := strings.TrimPrefix(e.mode, "0")
			raw, _ := hex.DecodeString(e.sha)
			fmt.Fprintf(&buf, "%s %s\x00", mode, e.name)
			buf.Write(raw)
		}
		t.sha = gitHash("tree", buf.Bytes())
		return t
	}
	return build(root)
}

// walk calls fn for each entry, depth first, with its path from the tree.
func (t *treeNode) walk(prefix string, recursive bool, fn func(path string, e treeEntry)) {
	for _, e := range t.entries {
		p := prefix + e.name
		fn(p, e)
		if recursive && e.sub != nil {
			e.sub.walk(p+"/", true, fn)
		}
	}
}

// lookup finds the entry at path ("" is the tree itself, returned as a
// tree entry).
func (t *treeNode) lookup(path string) (treeEntry, bool) {
	path = strings.Trim(path, "/")
	if path == "" {
		return treeEntry{typ: "tree", sha: t.sha, sub: t, mode: "040000"}, true
	}
	cur := t
	parts := strings.Split(path, "/")
	for i, seg := range parts {
		var found *treeEntry
		for j := range cur.entries {
			if cur.entries[j].name == seg {
				found = &cur.entries[j]
				break
			}
		}
		if found == nil {
			return treeEntry{}, false
		}
		if i == len(parts)-1 {
			return *found, true
		}
		if found.sub == nil {
			return treeEntry{}, false
		}
		cur = found.sub
	}
	return treeEntry{}, false
}

// findTree finds a tree by id anywhere under t.
func (t *treeNode) findTree(sha string) *treeNode {
	if t.sha == sha {
		return t
	}
	for _, e := range t.entries {
		if e.sub != nil {
			if f := e.sub.findTree(sha); f != nil {
				return f
			}
		}
	}
	return nil
}
