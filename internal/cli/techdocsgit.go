package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
	"greenroom/internal/integration/githubprovider"
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
	// auth returns the credentials for a repository of owner on host.
	auth func(ctx context.Context, host, owner string) (gitsource.Auth, error)
	tmp  string
	demo demoDocsFetcher
}

var (
	_ techdocs.Fetcher = gitDocsFetcher{}
	_ techdocs.ETagger = gitDocsFetcher{}
)

// newGitDocsFetcher authenticates with each host's integration: a GitHub
// host with a GitHub App (integrations.github[].apps) uses the token of
// the App's installation on the repository's owner, found and minted with
// the App's JWT and cached until shortly before it expires (the GitHub
// client's app authentication, as discovery uses it); other hosts use
// their token.
func newGitDocsFetcher(cfg *config.Config, cacheDir, tmp string, logger *slog.Logger) (gitDocsFetcher, error) {
	cache, err := gitsource.NewCache(cacheDir, gitsource.Options{})
	if err != nil {
		return gitDocsFetcher{}, err
	}
	tokens := map[string]gitsource.Auth{}
	appHosts := map[string]string{} // lower-case host to the integration's host
	for _, g := range cfg.Integrations.GitHub {
		if len(g.Apps) > 0 {
			appHosts[strings.ToLower(g.Host)] = g.Host
		}
		if g.Token != "" {
			tokens[strings.ToLower(g.Host)] = gitsource.Auth{Username: gitsource.UserGitHub, Token: g.Token}
		}
	}
	for _, g := range cfg.Integrations.GitLab {
		if g.Token != "" {
			tokens[strings.ToLower(g.Host)] = gitsource.Auth{Username: gitsource.UserGitLab, Token: g.Token}
		}
	}
	var apps *githubprovider.Clients
	if len(appHosts) > 0 {
		apps = githubprovider.NewClients(cfg, nil, logger)
	}
	auth := func(ctx context.Context, host, owner string) (gitsource.Auth, error) {
		lower := strings.ToLower(host)
		if h, ok := appHosts[lower]; ok {
			c, err := apps.For(h)
			if err != nil {
				return gitsource.Auth{}, err
			}
			tok, err := c.GitCredentials(ctx, owner)
			if err != nil {
				return gitsource.Auth{}, fmt.Errorf("techdocs: credentials for %s/%s: %w", host, owner, err)
			}
			if tok == "" {
				return gitsource.Auth{}, nil
			}
			return gitsource.Auth{Username: github.GitUser, Token: tok}, nil
		}
		return tokens[lower], nil
	}
	return gitDocsFetcher{cache: cache, tmp: tmp, demo: demoDocsFetcher{tmp: tmp}, auth: auth}, nil
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
	repo, dir, err := f.repo(ctx, rawURL)
	if err != nil {
		return "", err
	}
	commit, _, err := f.cache.Sync(ctx, repo)
	if err != nil {
		return "", err
	}
	return commit + ":" + dir, nil
}

func (f gitDocsFetcher) repo(ctx context.Context, rawURL string) (gitsource.Repo, string, error) {
	repo, dir, err := docsRepo(rawURL)
	if err != nil {
		return repo, "", err
	}
	u, _ := url.Parse(repo.URL)
	owner, _, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if repo.Auth, err = f.auth(ctx, u.Host, owner); err != nil {
		return repo, "", err
	}
	return repo, dir, nil
}

// Fetch implements techdocs.Fetcher: the directory's files at the
// branch's current commit, copied into a temporary directory (regular
// files only, bounded in number and size).
func (f gitDocsFetcher) Fetch(ctx context.Context, rawURL string) (string, string, func(), error) {
	if strings.HasPrefix(rawURL, demoRepoPrefix) {
		return f.demo.Fetch(ctx, rawURL)
	}
	repo, dir, err := f.repo(ctx, rawURL)
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
