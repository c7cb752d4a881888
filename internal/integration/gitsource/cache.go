package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/sync/semaphore"

	"greenroom/internal/greenroom"
)

// Defaults of Options.
const (
	DefaultTimeout      = 2 * time.Minute
	DefaultMaxFetch     = 512 << 20 // bytes of pack data one fetch may bring
	DefaultMaxPacks     = 16        // incremental fetches kept before a fresh clone
	DefaultMaxFileBytes = 10 << 20  // bytes of one file read through a Snapshot
)

// lockWeight is the weight a Sync acquires on a repository's semaphore;
// each open Snapshot holds 1, so a Sync waits for readers and vice versa.
const lockWeight = 1 << 30

// Options tune a Cache; zero fields take the defaults above.
type Options struct {
	Logger *slog.Logger
	// Timeout bounds one Sync: waiting for the lock, listing refs and
	// fetching.
	Timeout time.Duration
	// MaxFetchBytes bounds the pack data one fetch writes; a repository
	// whose branch tip needs more is refused (code too_large).
	MaxFetchBytes int64
	// MaxPacks is how many packs (one per fetch) a clone may hold before
	// the next changed Sync starts from a fresh shallow clone, so the disk
	// used stays near the size of one tree.
	MaxPacks int
	// MaxFileBytes bounds one file read through a Snapshot.
	MaxFileBytes int64
}

// Cache keeps one shallow bare clone per repository URL under a directory
// (named by a hash of the URL, credentials removed), fetched with depth 1
// and a single branch per Repo, and updated incrementally. It is safe for
// concurrent use: Syncs of the same URL serialise, different URLs run in
// parallel. The directory belongs to one process.
type Cache struct {
	dir  string
	log  *slog.Logger
	opts Options

	mu    sync.Mutex
	locks map[string]*semaphore.Weighted
}

// NewCache returns a cache in dir, creating it (mode 0700) if needed.
func NewCache(dir string, opts Options) (*Cache, error) {
	if dir == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "gitsource: cache directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gitsource: cache directory: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxFetchBytes <= 0 {
		opts.MaxFetchBytes = DefaultMaxFetch
	}
	if opts.MaxPacks <= 0 {
		opts.MaxPacks = DefaultMaxPacks
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	return &Cache{dir: dir, log: opts.Logger, opts: opts, locks: map[string]*semaphore.Weighted{}}, nil
}

func (c *Cache) lock(key string) *semaphore.Weighted {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.locks[key]
	if !ok {
		l = semaphore.NewWeighted(lockWeight)
		c.locks[key] = l
	}
	return l
}

// Sync brings the clone of repo's branch up to date and returns the
// branch's commit and whether it differs from the commit the cache held
// before (true on the first Sync). The first Sync of a URL is a shallow
// (depth 1) single-branch fetch; later ones ask only for what is new, and
// cost one ref listing when nothing changed.
//
// Errors are *greenroom.Error: invalid (bad settings), unauthorized (401,
// bad token, host key or ssh key refused), forbidden (403), not_found
// (repository, branch, empty repository), too_large (MaxFetchBytes),
// unavailable (unreachable, timeout, server error). Their text never holds
// credentials.
func (c *Cache) Sync(ctx context.Context, repo Repo) (commit string, changed bool, err error) {
	ep, err := repo.endpoint()
	if err != nil {
		return "", false, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	lock := c.lock(ep.key)
	if err := lock.Acquire(ctx, lockWeight); err != nil {
		return "", false, c.failure(ctx, ep, "waiting for another sync or reader of the same repository", err)
	}
	defer lock.Release(lockWeight)

	commit, changed, err = c.sync(ctx, ep)
	if err != nil {
		return "", false, err
	}
	c.log.Debug("git sync", "url", ep.shown, "branch", ep.branch, "commit", commit, "changed", changed,
		"duration", time.Since(start))
	return commit, changed, nil
}

func (c *Cache) sync(ctx context.Context, ep *endpoint) (string, bool, error) {
	dir := filepath.Join(c.dir, ep.key)
	st, fresh, err := openStorage(dir, forWrite)
	if err != nil {
		return "", false, fmt.Errorf("gitsource: %s: open cache: %w", ep.shown, err)
	}
	defer func() { _ = st.Close() }()
	cleanup := func() {
		if fresh {
			_ = st.Close()
			_ = os.RemoveAll(dir)
		}
	}

	remote := git.NewRemote(st, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{ep.url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: ep.auth, PeelingOption: git.IgnorePeeled})
	if err != nil {
		cleanup()
		return "", false, c.failure(ctx, ep, "list refs", err)
	}
	branch, tip, err := pickBranch(refs, ep.branch)
	if err != nil {
		cleanup()
		return "", false, &greenroom.Error{Code: greenroom.CodeNotFound, Message: fmt.Sprintf("gitsource: %s: %v", ep.shown, err)}
	}
	local := plumbing.NewRemoteReferenceName("origin", branch)
	var prev plumbing.Hash
	if ref, err := st.Reference(local); err == nil {
		prev = ref.Hash()
	}
	if prev == tip {
		if _, err := st.EncodedObject(plumbing.CommitObject, tip); err == nil {
			return tip.String(), false, nil
		}
	}

	if !fresh && packCount(dir) >= c.opts.MaxPacks {
		c.log.Info("git cache compacted", "url", ep.shown, "packs", packCount(dir))
		_ = st.Close()
		if err := os.RemoveAll(dir); err != nil {
			return "", false, fmt.Errorf("gitsource: %s: compact cache: %w", ep.shown, err)
		}
		if st, fresh, err = openStorage(dir, forWrite); err != nil {
			return "", false, fmt.Errorf("gitsource: %s: open cache: %w", ep.shown, err)
		}
	}

	if !fresh && !prev.IsZero() {
		// Incremental: no depth, so the server sees our commit as a base and
		// sends only the new objects (go-git cannot take thin packs, and a
		// depth-1 fetch without them resends the whole tree). The budget is
		// what a fresh shallow clone costs; a fetch that needs more (a force
		// push to unrelated history) or leaves the tree incomplete (a server
		// that trusted history we never fetched) is redone as a fresh clone.
		budget := min(max(packBytes(dir), 1<<20), c.opts.MaxFetchBytes)
		err := c.fetch(ctx, st, ep, branch, local, 0, budget)
		if err == nil {
			err = checkComplete(dir, local)
		}
		switch {
		case err == nil:
			ref, err := st.Reference(local)
			if err != nil {
				return "", false, fmt.Errorf("gitsource: %s: fetched %s but the cache has no %s: %w", ep.shown, branch, local, err)
			}
			return ref.Hash().String(), ref.Hash() != prev, nil
		case errors.Is(err, errFetchTooLarge) || errors.Is(err, errIncomplete):
			c.log.Info("git cache recloned", "url", ep.shown, "branch", branch, "reason", err.Error())
			_ = st.Close()
			if err := os.RemoveAll(dir); err != nil {
				return "", false, fmt.Errorf("gitsource: %s: reset cache: %w", ep.shown, err)
			}
			if st, fresh, err = openStorage(dir, forWrite); err != nil {
				return "", false, fmt.Errorf("gitsource: %s: open cache: %w", ep.shown, err)
			}
		default:
			removeTempPacks(dir) // what an interrupted fetch left behind
			return "", false, c.failure(ctx, ep, "fetch "+branch, err)
		}
	}

	// First fetch of this branch: shallow, one commit.
	if err := c.fetch(ctx, st, ep, branch, local, 1, c.opts.MaxFetchBytes); err != nil {
		removeTempPacks(dir)
		cleanup()
		return "", false, c.failure(ctx, ep, "fetch "+branch, err)
	}
	ref, err := st.Reference(local)
	if err != nil {
		cleanup()
		return "", false, fmt.Errorf("gitsource: %s: fetched %s but the cache has no %s: %w", ep.shown, branch, local, err)
	}
	return ref.Hash().String(), ref.Hash() != prev, nil
}

// fetch fetches branch into the ref local with the given depth (0 for
// none), writing at most budget bytes of pack data.
func (c *Cache) fetch(ctx context.Context, st *filesystem.Storage, ep *endpoint, branch string, local plumbing.ReferenceName, depth int, budget int64) error {
	limited := &limitedStorage{Storage: st, max: budget}
	remote := git.NewRemote(limited, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{ep.url}})
	spec := gitconfig.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + local.String())
	err := remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []gitconfig.RefSpec{spec},
		Depth:    depth,
		Auth:     ep.auth,
		Tags:     git.NoTags,
		Force:    true,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// errIncomplete marks a fetch after which the branch's tree lacks objects.
var errIncomplete = errors.New("the fetched tree is incomplete")

// maxTreeEntries bounds the completeness check of one tree.
const maxTreeEntries = 5_000_000

// checkComplete checks that every tree and blob of the commit at ref is
// in the clone in dir; the error wraps errIncomplete when one is missing.
func checkComplete(dir string, ref plumbing.ReferenceName) error {
	st, _, err := openStorage(dir, forRead)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	if err := complete(st, ref); err != nil {
		return fmt.Errorf("%w: %w", errIncomplete, err)
	}
	return nil
}

// complete checks that every tree and blob of the commit at ref is in st.
func complete(st *filesystem.Storage, ref plumbing.ReferenceName) error {
	r, err := st.Reference(ref)
	if err != nil {
		return err
	}
	cm, err := object.GetCommit(st, r.Hash())
	if err != nil {
		return fmt.Errorf("commit %s: %w", r.Hash(), err)
	}
	seen := map[plumbing.Hash]bool{}
	var walk func(h plumbing.Hash) error
	walk = func(h plumbing.Hash) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		t, err := object.GetTree(st, h)
		if err != nil {
			return fmt.Errorf("tree %s: %w", h, err)
		}
		for _, e := range t.Entries {
			if len(seen) > maxTreeEntries {
				return fmt.Errorf("more than %d objects in the tree", maxTreeEntries)
			}
			switch e.Mode {
			case filemode.Dir:
				if err := walk(e.Hash); err != nil {
					return err
				}
			case filemode.Submodule:
			default:
				if !seen[e.Hash] {
					seen[e.Hash] = true
					// Not HasEncodedObject: with ExclusiveAccess it reports
					// packed objects as missing (go-git v5.19).
					if _, err := st.EncodedObjectSize(e.Hash); err != nil {
						return fmt.Errorf("blob %s (%s): %w", e.Hash, e.Name, err)
					}
				}
			}
		}
		return nil
	}
	return walk(cm.TreeHash)
}

// pickBranch finds the branch to read among the remote's refs: the named
// one, or the one the remote's HEAD points at.
func pickBranch(refs []*plumbing.Reference, want string) (string, plumbing.Hash, error) {
	heads := map[string]plumbing.Hash{}
	var head *plumbing.Reference
	for _, r := range refs {
		switch {
		case r.Name() == plumbing.HEAD:
			head = r
		case r.Name().IsBranch() && r.Type() == plumbing.HashReference:
			heads[r.Name().Short()] = r.Hash()
		}
	}
	if want != "" {
		h, ok := heads[want]
		if !ok {
			return "", plumbing.ZeroHash, fmt.Errorf("branch %q not found", want)
		}
		return want, h, nil
	}
	if head == nil {
		return "", plumbing.ZeroHash, errors.New("the remote has no HEAD: set a branch")
	}
	if head.Type() == plumbing.SymbolicReference {
		name := head.Target().Short()
		if h, ok := heads[name]; ok {
			return name, h, nil
		}
		return "", plumbing.ZeroHash, fmt.Errorf("the remote HEAD names branch %q, which does not exist: set a branch", name)
	}
	// An old server that does not advertise symrefs: the branch whose tip
	// is HEAD's, preferring main and master.
	var found []string
	for name, h := range heads {
		if h == head.Hash() {
			found = append(found, name)
		}
	}
	for _, pref := range []string{"main", "master"} {
		for _, name := range found {
			if name == pref {
				return name, head.Hash(), nil
			}
		}
	}
	if len(found) > 0 {
		min := found[0]
		for _, name := range found[1:] {
			if name < min {
				min = name
			}
		}
		return min, head.Hash(), nil
	}
	return "", plumbing.ZeroHash, errors.New("the remote HEAD is not a branch: set a branch")
}

// How openStorage opens a clone.
const (
	// forWrite creates the clone if needed, for a Sync.
	forWrite = iota
	// forRead requires an existing clone that nothing changes while it is
	// open (the per-URL lock guarantees it), so go-git may cache the lists
	// of loose objects and packs instead of probing the disk per object.
	forRead
)

// openStorage opens the bare clone in dir; fresh reports that it was
// created.
func openStorage(dir string, mode int) (*filesystem.Storage, bool, error) {
	_, err := os.Stat(filepath.Join(dir, "config"))
	fresh := errors.Is(err, fs.ErrNotExist)
	switch {
	case err != nil && !fresh:
		return nil, false, err
	case fresh && mode == forRead:
		return nil, false, err
	case fresh:
		// A directory without config is a clone that never completed.
		if err := os.RemoveAll(dir); err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, err
		}
	}
	// A writer must not cache the pack list: the fetch adds a pack and
	// then looks objects up in it.
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(8*cache.MiByte),
		filesystem.Options{KeepDescriptors: true, ExclusiveAccess: mode == forRead})
	if fresh {
		if _, err := git.Init(st, nil); err != nil {
			_ = st.Close()
			return nil, false, err
		}
	}
	return st, fresh, nil
}

// packBytes returns the size of the pack files of the clone in dir.
func packBytes(dir string) int64 {
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "pack"))
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".pack") {
			n += info.Size()
		}
	}
	return n
}

// removeTempPacks deletes the temporary pack files go-git leaves when a
// fetch stops half-way.
func removeTempPacks(dir string) {
	tmp, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "tmp_pack_*"))
	for _, f := range tmp {
		_ = os.Remove(f)
	}
}

// packCount returns the number of pack files in the clone in dir.
func packCount(dir string) int {
	entries, err := os.ReadDir(filepath.Join(dir, "objects", "pack"))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pack") {
			n++
		}
	}
	return n
}
