package githubprovider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
)

// maxFallbackReads bounds the files one source fetches on demand (its
// Location targets), besides the catalog file itself.
const maxFallbackReads = 50

// repoFS is the file tree of one repository at one ref as a catalog source
// sees it: the files already fetched, and any other path read on demand
// through the contents API, so that a catalog file's relative Location
// targets resolve as in the repository. Paths in the tree start with
// "owner/repo/", so that every problem the catalog reports names the
// repository it is about. fs.FS has no context, so the one
// of the scan or webhook that built it is kept; it is used only while the
// catalog applies the source.
type repoFS struct {
	ctx         context.Context
	client      *github.Client
	host        string
	owner, repo string
	ref         string // commit or branch the files were read at; "" for the default branch
	branch      string // for the HTML URLs

	mu      sync.Mutex
	files   map[string][]byte
	fetched int
}

var _ fs.FS = (*repoFS)(nil)

func newRepoFS(ctx context.Context, c *github.Client, fullName, ref, branch string, files map[string][]byte) *repoFS {
	owner, repo, _ := strings.Cut(fullName, "/")
	return &repoFS{ctx: ctx, client: c, host: c.Host(), owner: owner, repo: repo, ref: ref, branch: branch, files: files}
}

// Open returns a file already fetched or reads it from GitHub.
func (f *repoFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	prefix := f.owner + "/" + f.repo + "/"
	if !strings.HasPrefix(name, prefix) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f.mu.Lock()
	data, ok := f.files[name]
	if !ok && f.fetched >= maxFallbackReads {
		f.mu.Unlock()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("more than %d files read from %s/%s", maxFallbackReads, f.owner, f.repo)}
	}
	if !ok {
		f.fetched++
	}
	f.mu.Unlock()
	if !ok {
		var err error
		data, err = f.client.File(f.ctx, f.owner, f.repo, strings.TrimPrefix(name, prefix), f.ref)
		if greenroom.IsNotFound(err) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		f.mu.Lock()
		f.files[name] = data
		f.mu.Unlock()
	}
	return &memFile{name: path.Base(name), r: bytes.NewReader(data), size: int64(len(data))}, nil
}

// FileURL is the HTML URL of a file of the tree, for the entities'
// backstage.io/managed-by-location annotations (url:<it>), as Backstage's
// GitHub provider's Location targets are.
func (f *repoFS) FileURL(name string) string {
	branch := f.branch
	if branch == "" {
		branch = "HEAD"
	}
	name = strings.TrimPrefix(name, f.owner+"/"+f.repo+"/")
	u := url.URL{Scheme: "https", Host: f.host, Path: "/" + f.owner + "/" + f.repo + "/blob/" + branch + "/" + name}
	return u.String()
}

type memFile struct {
	name string
	r    *bytes.Reader
	size int64
}

func (m *memFile) Stat() (fs.FileInfo, error) { return memInfo{name: m.name, size: m.size}, nil }
func (m *memFile) Read(b []byte) (int, error) { return m.r.Read(b) }
func (m *memFile) Close() error               { return nil }

var _ io.Reader = (*memFile)(nil)

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// found is one catalog file a scan or webhook read.
type found struct {
	path string
	data []byte
}

// repoSources builds the sources of one repository's catalog files, all
// sharing one tree.
func (p *Provider) repoSources(ctx context.Context, fullName, ref, branch string, files []found) []catalog.Source {
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		m[fullName+"/"+f.path] = f.data
	}
	fsys := newRepoFS(ctx, p.client, fullName, ref, branch, m)
	out := make([]catalog.Source, 0, len(files))
	for _, f := range files {
		out = append(out, catalog.Source{Name: p.sourceName(fullName, f.path), FS: fsys, Root: fullName + "/" + f.path})
	}
	return out
}
