package gitsource

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"greenroom/internal/greenroom"
)

// Defaults of DirSource.
const (
	DefaultDirMaxDepth = 32
	DefaultDirMaxFiles = 10_000
)

// dirSkip are the directories a DirSource never enters.
var dirSkip = []string{".git", "node_modules"}

// DirSource lists the catalog files of a local directory tree (a monorepo
// checkout, a development tree) with the same catalogPath globs as the git
// source. It never enters .git or node_modules, does not follow symbolic
// links, reads only inside root (os.Root), and bounds the depth, the
// number of matches and the size of each file read.
type DirSource struct {
	root    string
	pattern *Pattern
	// MaxDepth, MaxFiles, MaxEntries and MaxFileBytes bound a listing and
	// a read; NewDirSource sets the defaults.
	MaxDepth     int
	MaxFiles     int
	MaxEntries   int
	MaxFileBytes int64
}

// NewDirSource returns a source for the files under root matching
// pattern. root must be an existing directory; errors have code invalid.
func NewDirSource(root, pattern string) (*DirSource, error) {
	p, err := ParsePattern(pattern)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, &greenroom.Error{Code: greenroom.CodeInvalid, Message: fmt.Sprintf("gitsource: directory %s: cannot be read", root), Err: err}
	}
	if !info.IsDir() {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "gitsource: %s is not a directory", root)
	}
	return &DirSource{
		root:         root,
		pattern:      p,
		MaxDepth:     DefaultDirMaxDepth,
		MaxFiles:     DefaultDirMaxFiles,
		MaxEntries:   DefaultMaxEntries,
		MaxFileBytes: DefaultMaxFileBytes,
	}, nil
}

// Root returns the directory the source reads.
func (d *DirSource) Root() string { return d.root }

// Files returns the matching regular files as slash-separated paths
// relative to the root, in lexical order.
func (d *DirSource) Files(ctx context.Context) ([]string, error) {
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("gitsource: directory %s: %w", d.root, err)
	}
	defer r.Close()
	files, err := d.pattern.Glob(ctx, r.FS(), GlobOptions{
		MaxMatches: d.MaxFiles,
		MaxEntries: d.MaxEntries,
		MaxDepth:   d.MaxDepth,
		SkipDir:    dirSkip,
	})
	if err != nil {
		return nil, fmt.Errorf("gitsource: directory %s: %w", d.root, err)
	}
	return files, nil
}

// ReadFile reads one file (a path Files returned) from inside the root.
// Symbolic links and files over MaxFileBytes are refused; the latter with
// code too_large.
func (d *DirSource) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("gitsource: directory %s: %w", d.root, err)
	}
	defer r.Close()
	info, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: not a regular file", fs.ErrInvalid)}
	}
	if info.Size() > d.MaxFileBytes {
		return nil, greenroom.Errorf(greenroom.CodeTooLarge, "gitsource: %s: %d bytes, over the limit of %d bytes", name, info.Size(), d.MaxFileBytes)
	}
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, d.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gitsource: read %s: %w", name, err)
	}
	if int64(len(data)) > d.MaxFileBytes {
		return nil, greenroom.Errorf(greenroom.CodeTooLarge, "gitsource: %s: over the limit of %d bytes", name, d.MaxFileBytes)
	}
	return data, nil
}
