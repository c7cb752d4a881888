package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitsource"
	"greenroom/internal/techdocs"
)

// Bounds of one fetched docs source.
const (
	maxDocsSourceFiles = 20_000
	maxDocsSourceBytes = 512 << 20
)

// gitDocsFetcher fetches url: docs sources (a directory of a git
// repository, as GitHub and GitLab tree URLs name it) through a shallow
// clone cache, with the token of the host's integration; the demo's
// repositories come from the binary.
type gitDocsFetcher struct {
	cache *gitsource.Cache
	auth  func(host string) gitsource.Auth
	tmp   string
	demo  demoDocsFetcher
}

var (
	_ techdocs.Fetcher = gitDocsFetcher{}
	_ techdocs.ETagger = gitDocsFetcher{}
)

func newGitDocsFetcher(cfg *config.Config, cacheDir, tmp string) (gitDocsFetcher, error) {
	cache, err := gitsource.NewCache(cacheDir, gitsource.Options{})
	if err != nil {
		return gitDocsFetcher{}, err
	}
	tokens := map[string]gitsource.Auth{}
	for _, g := range cfg.Integrations.GitHub {
		if g.Token != "" {
			tokens[strings.ToLower(g.Host)] = gitsource.Auth{Username: gitsource.UserGitHub, Token: g.Token}
		}
	}
	for _, g := range cfg.Integrations.GitLab {
		if g.Token != "" {
			tokens[strings.ToLower(g.Host)] = gitsource.Auth{Username: gitsource.UserGitLab, Token: g.Token}
		}
	}
	return gitDocsFetcher{cache: cache, tmp: tmp, demo: demoDocsFetcher{tmp: tmp},
		auth: func(host string) gitsource.Auth { return tokens[strings.ToLower(host)] }}, nil
}

// docsRepo splits a docs URL into the repository, branch and directory:
// https://host/o/r/tree/BRANCH/dir (GitHub), https://host/g/r/-/tree/BRANCH/dir
// (GitLab), or a repository URL (the default branch's root).
func docsRepo(raw string) (repo gitsource.Repo, dir string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return gitsource.Repo{}, "", greenroom.Errorf(greenroom.CodeInvalid, "docs source %q: not an http(s) URL", raw)
	}
	p := strings.Trim(u.Path, "/")
	var branch string
	switch {
	case strings.Contains(p, "/-/tree/") || strings.Contains(p, "/-/blob/"):
		i := strings.Index(p, "/-/")
		rest := strings.SplitN(p[i+3:], "/", 3)
		p, branch = p[:i], rest[1]
		if len(rest) == 3 {
			dir = rest[2]
		}
	default:
		segs := strings.SplitN(p, "/", 5)
		if len(segs) >= 4 && (segs[2] == "tree" || segs[2] == "blob") {
			p, branch = segs[0]+"/"+segs[1], segs[3]
			if len(segs) == 5 {
				dir = segs[4]
			}
		}
	}
	if branch != "" && strings.Contains(path.Base(dir), ".") && strings.Contains(raw, "/blob/") {
		dir = path.Dir(dir) // a blob URL names a file: its directory holds the project
	}
	dir = path.Clean("/" + dir)[1:]
	return gitsource.Repo{URL: u.Scheme + "://" + u.Host + "/" + p, Branch: branch}, dir, nil
}

func (f gitDocsFetcher) ETag(ctx context.Context, rawURL string) (string, error) {
	if strings.HasPrefix(rawURL, demoRepoPrefix) {
		return f.demo.ETag(ctx, rawURL)
	}
	repo, dir, err := f.repo(rawURL)
	if err != nil {
		return "", err
	}
	commit, _, err := f.cache.Sync(ctx, repo)
	if err != nil {
		return "", err
	}
	return commit + ":" + dir, nil
}

func (f gitDocsFetcher) repo(rawURL string) (gitsource.Repo, string, error) {
	repo, dir, err := docsRepo(rawURL)
	if err != nil {
		return repo, "", err
	}
	u, _ := url.Parse(repo.URL)
	repo.Auth = f.auth(u.Host)
	return repo, dir, nil
}

// Fetch implements techdocs.Fetcher: the directory's files at the
// branch's current commit, copied into a temporary directory (regular
// files only, bounded in number and size).
func (f gitDocsFetcher) Fetch(ctx context.Context, rawURL string) (string, string, func(), error) {
	if strings.HasPrefix(rawURL, demoRepoPrefix) {
		return f.demo.Fetch(ctx, rawURL)
	}
	repo, dir, err := f.repo(rawURL)
	if err != nil {
		return "", "", nil, err
	}
	commit, _, err := f.cache.Sync(ctx, repo)
	if err != nil {
		return "", "", nil, err
	}
	snap, err := f.cache.Snapshot(ctx, repo, commit)
	if err != nil {
		return "", "", nil, err
	}
	defer snap.Close()
	var src fs.FS = snap
	if dir != "" {
		if src, err = fs.Sub(snap, dir); err != nil {
			return "", "", nil, err
		}
	}
	out, err := os.MkdirTemp(f.tmp, "docs-src-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup := func() { os.RemoveAll(out) }
	if err := copySource(src, out); err != nil {
		cleanup()
		return "", "", nil, fmt.Errorf("techdocs: fetch %s: %w", rawURL, err)
	}
	return out, commit + ":" + dir, cleanup, nil
}

func copySource(src fs.FS, dst string) error {
	files, total := 0, int64(0)
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil // symlinks and submodules are not followed
		}
		if files++; files > maxDocsSourceFiles {
			return greenroom.Errorf(greenroom.CodeTooLarge, "more than %d files", maxDocsSourceFiles)
		}
		in, err := src.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		n, err := io.Copy(out, io.LimitReader(in, maxDocsSourceBytes-total+1))
		total += n
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil && total > maxDocsSourceBytes {
			err = greenroom.Errorf(greenroom.CodeTooLarge, "more than %d bytes", maxDocsSourceBytes)
		}
		return err
	})
}
