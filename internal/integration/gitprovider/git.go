package gitprovider

import (
	"context"
	"fmt"
	"net/url"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/integration/gitsource"
)

// gitScan is the scan of one git provider.
type gitScan struct {
	name    string
	cache   *gitsource.Cache
	repo    gitsource.Repo
	pattern *gitsource.Pattern
	cat     Catalog
	// applied is the commit last applied in this process ("" before the
	// first apply); guarded by Provider.run.
	applied string
}

func (ps *Providers) newGit(g config.GitProvider, cache *gitsource.Cache) (*Provider, error) {
	path := "catalog.providers.git." + g.ID
	repo := gitsource.Repo{URL: g.URL, Branch: g.Branch, Auth: gitsource.Auth{
		Username:         g.Auth.Username,
		Token:            g.Auth.Token,
		SSHKey:           g.Auth.SSHKey,
		SSHKeyPassphrase: g.Auth.Passphrase,
		KnownHosts:       g.Auth.KnownHosts,
	}}
	if err := repo.Validate(); err != nil {
		return nil, located(g.File, g.Line, path, "%v", err)
	}
	catalogPath := g.CatalogPath
	if catalogPath == "" {
		catalogPath = config.DefaultCatalogPath
	}
	pattern, err := gitsource.ParsePattern(catalogPath)
	if err != nil {
		return nil, located(g.File, g.Line, path+".catalogPath", "%v", err)
	}
	sched := g.Schedule
	if sched.Frequency == 0 {
		sched.Frequency = config.DefaultGitProviderFrequency
	}
	p := ps.newProvider("git-"+g.ID, sched)
	s := &gitScan{name: p.name, cache: cache, repo: repo, pattern: pattern, cat: ps.opts.Catalog}
	p.scan = s.scan
	p.state.s = State{Name: p.name, Kind: KindGit, Target: shownURL(g.URL)}
	return p, nil
}

// scan syncs the branch and, when its commit is not the one last applied
// (or force is set), applies the commit's catalog files. The snapshot is
// open only while the catalog reads it, since it blocks syncs of the URL.
func (s *gitScan) scan(ctx context.Context, force bool) (outcome, error) {
	commit, _, err := s.cache.Sync(ctx, s.repo)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	if commit == s.applied && !force {
		return outcome{skipped: true, commit: commit}, nil
	}
	snap, err := s.cache.Snapshot(ctx, s.repo, commit)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: %w", s.name, err)
	}
	defer snap.Close()
	files, err := s.pattern.Glob(ctx, snap, gitsource.GlobOptions{})
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: commit %s: %w", s.name, commit, err)
	}
	sources := make([]catalog.Source, len(files))
	for i, f := range files {
		// Root is the file inside the commit's tree, so Location targets
		// relative to it resolve inside the repository.
		sources[i] = catalog.Source{Name: catalog.ProviderSourceName(s.name, f), FS: snap, Root: f}
	}
	res, err := s.cat.ApplyProvider(ctx, s.name, sources)
	if err != nil {
		return outcome{}, fmt.Errorf("gitprovider: %s: commit %s: %w", s.name, commit, err)
	}
	s.applied = commit
	return outcome{commit: commit, files: len(files), res: res}, nil
}

// shownURL returns a URL without its user info's password, for State.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok || u.Scheme != "ssh" {
		u.User = nil
	}
	return u.String()
}
