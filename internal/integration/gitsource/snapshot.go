package gitsource

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"greenroom/internal/greenroom"
)

// Snapshot is the tree of one commit in the cache, read from git objects
// without a checkout, as an io/fs file system: fs.WalkDir, fs.ReadFile and
// Glob work on it. Regular and executable files are files, trees are
// directories, symbolic links are listed with fs.ModeSymlink and followed
// by Open and Stat when they stay inside the tree (Glob does not return
// them), and submodules are left out. Opening a
// file reads it whole, so each file is bounded by Options.MaxFileBytes.
//
// A Snapshot holds a read lock on its repository's clone: Close it when
// done, or Syncs of that repository wait (until their timeout). It is safe
// for concurrent use.
type Snapshot struct {
	commit  plumbing.Hash
	modTime time.Time
	maxFile int64

	mu    sync.Mutex // guards st and dirs: go-git's objects are not safe for concurrent use
	st    *filesystem.Storage
	dirs  map[string]*object.Tree
	close func()
	once  sync.Once
}

var (
	_ fs.ReadDirFS  = (*Snapshot)(nil)
	_ fs.ReadFileFS = (*Snapshot)(nil)
	_ fs.StatFS     = (*Snapshot)(nil)
	_ fs.ReadLinkFS = (*Snapshot)(nil)
)

// Snapshot opens the tree of commit (a full hash returned by Sync) of
// repo. A commit the cache does not hold is an error with code not_found.
func (c *Cache) Snapshot(ctx context.Context, repo Repo, commit string) (*Snapshot, error) {
	ep, err := repo.location()
	if err != nil {
		return nil, err
	}
	if b, err := hex.DecodeString(commit); err != nil || len(b) != 20 {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "gitsource: %q is not a full commit hash", commit)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	lock := c.lock(ep.key)
	if err := lock.Acquire(ctx, 1); err != nil {
		return nil, c.failure(ctx, ep, "waiting for a sync of the same repository", err)
	}
	st, _, err := openStorage(filepath.Join(c.dir, ep.key), forRead)
	if err != nil {
		lock.Release(1)
		return nil, &greenroom.Error{Code: greenroom.CodeNotFound, Message: fmt.Sprintf("gitsource: %s is not in the cache: Sync it first", ep.shown), Err: err}
	}
	release := func() { _ = st.Close(); lock.Release(1) }
	cm, err := object.GetCommit(st, plumbing.NewHash(commit))
	if err != nil {
		release()
		return nil, &greenroom.Error{Code: greenroom.CodeNotFound, Message: fmt.Sprintf("gitsource: %s: commit %s is not in the cache", ep.shown, commit), Err: err}
	}
	root, err := cm.Tree()
	if err != nil {
		release()
		return nil, fmt.Errorf("gitsource: %s: tree of %s: %w", ep.shown, commit, err)
	}
	return &Snapshot{
		commit:  cm.Hash,
		modTime: cm.Committer.When,
		maxFile: c.opts.MaxFileBytes,
		st:      st,
		dirs:    map[string]*object.Tree{".": root},
		close:   release,
	}, nil
}

// Commit returns the commit hash the snapshot shows.
func (s *Snapshot) Commit() string { return s.commit.String() }

// Close releases the snapshot's files and lock. It is idempotent.
func (s *Snapshot) Close() error {
	s.once.Do(s.close)
	return nil
}

// Open implements fs.FS.
func (s *Snapshot) Open(name string) (fs.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, real, err := s.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		entries, err := s.readDir(real)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: info, entries: entries}, nil
	}
	data, err := s.read(name, info)
	if err != nil {
		return nil, err
	}
	return &blobFile{info: info, r: bytes.NewReader(data)}, nil
}

// ReadFile implements fs.ReadFileFS.
func (s *Snapshot) ReadFile(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, _, err := s.lookup("read", name, true)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return s.read(name, info)
}

// ReadDir implements fs.ReadDirFS.
func (s *Snapshot) ReadDir(name string) ([]fs.DirEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, real, err := s.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return s.readDir(real)
}

// Stat implements fs.StatFS; it follows symbolic links.
func (s *Snapshot) Stat(name string) (fs.FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, _, err := s.lookup("stat", name, true)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// Lstat implements fs.ReadLinkFS: Stat without following a final link.
func (s *Snapshot) Lstat(name string) (fs.FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, _, err := s.lookup("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// ReadLink implements fs.ReadLinkFS.
func (s *Snapshot) ReadLink(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, _, err := s.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if info.Mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := s.linkTarget(info.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

// Limits of symbolic links inside a snapshot.
const (
	maxLinkHops  = 16
	maxLinkBytes = 4096
)

// lookup finds name, following symbolic links in its directories, and in
// its last element too when follow is true. Links may point anywhere
// inside the tree, never outside it. It returns the entry (named as the
// last element of name) and its link-free path.
func (s *Snapshot) lookup(op, name string, follow bool) (*entryInfo, string, error) {
	fail := func(err error) (*entryInfo, string, error) {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: err}
	}
	if !fs.ValidPath(name) {
		return fail(fs.ErrInvalid)
	}
	root := func() (*entryInfo, string, error) {
		return &entryInfo{name: path.Base(name), mode: fs.ModeDir | 0o755, modTime: s.modTime}, ".", nil
	}
	if name == "." {
		return root()
	}
	parts := strings.Split(name, "/")
	dir, hops := ".", 0
	for i := 0; i < len(parts); i++ {
		t, err := s.tree(dir)
		if err != nil {
			return fail(err)
		}
		e, ok := findEntry(t, parts[i])
		if !ok {
			return fail(fs.ErrNotExist)
		}
		info, ok := s.info(e)
		if !ok {
			return fail(fs.ErrNotExist)
		}
		last := i == len(parts)-1
		if info.mode&fs.ModeSymlink != 0 && (follow || !last) {
			if hops++; hops > maxLinkHops {
				return fail(errors.New("too many levels of symbolic links"))
			}
			target, err := s.linkTarget(e.Hash)
			if err != nil {
				return fail(err)
			}
			joined := path.Clean(path.Join(append([]string{dir, target}, parts[i+1:]...)...))
			if path.IsAbs(target) || joined == ".." || strings.HasPrefix(joined, "../") {
				return fail(fmt.Errorf("%w: symbolic link %s points outside the repository", fs.ErrNotExist, path.Join(dir, parts[i])))
			}
			if joined == "." {
				return root()
			}
			parts, dir, i = strings.Split(joined, "/"), ".", -1
			continue
		}
		real := path.Join(dir, parts[i])
		if last {
			info.name = path.Base(name)
			return info, real, nil
		}
		if !info.IsDir() {
			return fail(fs.ErrNotExist) // a file used as a directory
		}
		dir = real
	}
	return fail(fs.ErrNotExist) // not reached: the loop returns at the last element
}

func findEntry(t *object.Tree, name string) (object.TreeEntry, bool) {
	for _, e := range t.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return object.TreeEntry{}, false
}

// linkTarget reads a symbolic link's target.
func (s *Snapshot) linkTarget(h plumbing.Hash) (string, error) {
	size, err := s.st.EncodedObjectSize(h)
	if err != nil {
		return "", fmt.Errorf("gitsource: link %s: %w", h, err)
	}
	if size > maxLinkBytes {
		return "", fmt.Errorf("gitsource: symbolic link target longer than %d bytes", maxLinkBytes)
	}
	blob, err := object.GetBlob(s.st, h)
	if err != nil {
		return "", fmt.Errorf("gitsource: link %s: %w", h, err)
	}
	r, err := blob.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxLinkBytes))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// tree returns the tree at the link-free path dir ("." for the root),
// caching it.
func (s *Snapshot) tree(dir string) (*object.Tree, error) {
	if t, ok := s.dirs[dir]; ok {
		return t, nil
	}
	parent, base := path.Split(dir)
	parent = strings.TrimSuffix(parent, "/")
	if parent == "" {
		parent = "."
	}
	pt, err := s.tree(parent)
	if err != nil {
		return nil, err
	}
	e, ok := findEntry(pt, base)
	if !ok || e.Mode != filemode.Dir {
		return nil, fs.ErrNotExist
	}
	t, err := object.GetTree(s.st, e.Hash)
	if err != nil {
		return nil, fmt.Errorf("gitsource: tree %s: %w", dir, err)
	}
	s.dirs[dir] = t
	return t, nil
}

// readDir lists the directory at the link-free path dir.
func (s *Snapshot) readDir(dir string) ([]fs.DirEntry, error) {
	t, err := s.tree(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(t.Entries))
	for _, e := range t.Entries {
		if info, ok := s.info(e); ok {
			out = append(out, fs.FileInfoToDirEntry(info))
		}
	}
	// Git orders a directory "a" as "a/", io/fs wants plain name order.
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// info describes a tree entry; ok is false for submodules and unknown
// modes. Sizes are read lazily: listing a directory costs no blob reads.
func (s *Snapshot) info(e object.TreeEntry) (*entryInfo, bool) {
	info := &entryInfo{name: e.Name, modTime: s.modTime, hash: e.Hash, snap: s}
	switch e.Mode {
	case filemode.Dir:
		info.mode = fs.ModeDir | 0o755
	case filemode.Regular, filemode.Deprecated:
		info.mode = 0o644
	case filemode.Executable:
		info.mode = 0o755
	case filemode.Symlink:
		info.mode = fs.ModeSymlink | 0o777
	default:
		return nil, false
	}
	return info, true
}

// read returns a regular file's content, refusing files over the limit.
func (s *Snapshot) read(name string, info *entryInfo) ([]byte, error) {
	size, err := s.st.EncodedObjectSize(info.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("gitsource: blob %s: %w", info.hash, err)}
	}
	if size > s.maxFile {
		return nil, &greenroom.Error{
			Code:    greenroom.CodeTooLarge,
			Message: fmt.Sprintf("gitsource: %s at %.12s: %d bytes, over the limit of %d bytes", name, s.commit, size, s.maxFile),
		}
	}
	blob, err := object.GetBlob(s.st, info.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("gitsource: blob %s: %w", info.hash, err)}
	}
	r, err := blob.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, s.maxFile+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if int64(len(data)) > s.maxFile {
		return nil, &greenroom.Error{Code: greenroom.CodeTooLarge, Message: fmt.Sprintf("gitsource: %s: over the limit of %d bytes", name, s.maxFile)}
	}
	return data, nil
}

// entryInfo implements fs.FileInfo for a tree entry.
type entryInfo struct {
	name    string
	mode    fs.FileMode
	modTime time.Time
	hash    plumbing.Hash
	snap    *Snapshot // for the lazy size; nil for the root

	sizeOnce sync.Once
	size     int64
}

func (i *entryInfo) Name() string       { return i.name }
func (i *entryInfo) Mode() fs.FileMode  { return i.mode }
func (i *entryInfo) ModTime() time.Time { return i.modTime }
func (i *entryInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *entryInfo) Sys() any           { return nil }

// Size returns the blob size, or 0 for directories and when the object
// cannot be read (fs.FileInfo has no error to report it with).
func (i *entryInfo) Size() int64 {
	if i.IsDir() || i.snap == nil {
		return 0
	}
	i.sizeOnce.Do(func() {
		// Never called under the lock: the snapshot's own code reads sizes
		// from the storage directly.
		i.snap.mu.Lock()
		defer i.snap.mu.Unlock()
		i.size, _ = i.snap.st.EncodedObjectSize(i.hash)
	})
	return i.size
}

// blobFile is an open regular file, its content already read.
type blobFile struct {
	info *entryInfo
	r    *bytes.Reader
}

func (f *blobFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *blobFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *blobFile) Close() error               { return nil }

// dirFile is an open directory.
type dirFile struct {
	info    *entryInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
