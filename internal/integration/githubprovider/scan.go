package githubprovider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
)

// repoInfo is what the filters look at, from a listing or a webhook.
type repoInfo struct {
	Name, FullName string
	Archived, Fork bool
	Visibility     string
	Topics         []string
	DefaultBranch  string
}

// keep reports whether the provider's filters keep a repository, as
// Backstage's GitHub provider applies them: archived repositories never, a
// fork only with allowForks, the name against the anchored regex, the
// visibility among those listed, and topics: none of exclude, and one of
// include when include is given.
func (p *Provider) keep(r repoInfo) bool {
	f := p.cfg.Filters
	if r.Archived || r.DefaultBranch == "" {
		return false
	}
	if r.Fork && !f.AllowForks {
		return false
	}
	if f.RepositoryRE != nil && !f.RepositoryRE.MatchString(r.Name) {
		return false
	}
	if len(f.Visibility) > 0 && !slices.Contains(f.Visibility, strings.ToLower(r.Visibility)) {
		return false
	}
	for _, t := range f.TopicExclude {
		if slices.Contains(r.Topics, t) {
			return false
		}
	}
	if len(f.TopicInclude) > 0 {
		for _, t := range f.TopicInclude {
			if slices.Contains(r.Topics, t) {
				return true
			}
		}
		return false
	}
	return true
}

// scanResult is what one full scan found.
type scanResult struct {
	sources     []catalog.Source
	repos       int
	matched     int
	files       int
	nextCache   map[string]repoCache
	cachedBytes int
}

// Scan runs one full scan now and applies it to the catalog. When any
// part of the listing fails the catalog is left as it was and the error
// returned (and recorded in the state).
func (d *Discovery) Scan(ctx context.Context, p *Provider) error {
	p.scanMu.Lock()
	defer p.scanMu.Unlock()
	start := d.deps.Now()
	p.update(func(s *Status) { s.Running, s.LastRun = true, start })
	before := p.client.Stats()
	res, err := p.scan(ctx)
	var applied catalog.ProviderResult
	if err == nil {
		applied, err = d.apply(ctx, p, res.sources)
	}
	used := p.client.Stats().Sub(before).Requests
	end := d.deps.Now()
	if err != nil {
		p.update(func(s *Status) {
			s.Running, s.LastErrorAt, s.LastError = false, end, err.Error()
		})
		p.logger.Warn("github scan failed; the catalog keeps what it had", "err", err, "requests", used)
		return err
	}
	p.cache = res.nextCache
	p.update(func(s *Status) {
		s.Running, s.LastSuccess, s.LastError = false, end, ""
		s.ReposSeen, s.ReposMatched, s.FilesFound, s.Problems = res.repos, res.matched, res.files, len(applied.Problems)
		s.ProblemList = nil
		for _, pr := range applied.Problems[:min(len(applied.Problems), maxStatusProblems)] {
			s.ProblemList = append(s.ProblemList, pr.Error())
		}
		s.Requests, s.Duration = used, end.Sub(start).Round(time.Millisecond).String()
	})
	p.logger.Info("github scan done", "repos", res.repos, "matched", res.matched, "files", res.files,
		"problems", len(applied.Problems), "retired", applied.Retired, "requests", used)
	return nil
}

// maxStatusProblems bounds the problems a status lists.
const maxStatusProblems = 20

// apply makes sources the provider's complete set. Sources gone since the
// last scan are retired first, so that an entity moving to a new source
// (a renamed repository's) is not refused as owned by the old one.
func (d *Discovery) apply(ctx context.Context, p *Provider, sources []catalog.Source) (catalog.ProviderResult, error) {
	known, err := d.deps.Sources.KnownSources(ctx)
	if err != nil {
		return catalog.ProviderResult{}, fmt.Errorf("github provider %s: list sources: %w", p.name, err)
	}
	current := make(map[string]bool, len(sources))
	for _, s := range sources {
		current[s.Name] = true
	}
	prefix := catalog.ProviderSourceName(p.name, "")
	var gone []string
	for _, n := range known {
		if strings.HasPrefix(n, prefix) && !current[n] {
			gone = append(gone, n)
		}
	}
	if len(gone) > 0 {
		if _, err := d.deps.Catalog.ApplyProviderDelta(ctx, p.name, nil, gone); err != nil {
			return catalog.ProviderResult{}, err
		}
	}
	res, err := d.deps.Catalog.ApplyProvider(ctx, p.name, sources)
	res.Retired += len(gone)
	return res, err
}

// listPath is the path the GraphQL listing reads with each repository: the
// fixed catalog path, or for a glob the root catalog-info.yaml, which saves
// one read when the glob matches it.
func (p *Provider) listPath() string {
	if p.fixed != "" {
		return "/" + p.fixed
	}
	return "/catalog-info.yaml"
}

func (p *Provider) scan(ctx context.Context) (scanResult, error) {
	res := scanResult{nextCache: map[string]repoCache{}}
	repos, err := p.client.OrgReposWithFile(ctx, p.cfg.Organization, p.listPath(), p.cfg.Filters.Branch)
	if err != nil {
		return res, fmt.Errorf("github provider %s: list repositories of %s: %w", p.name, p.cfg.Organization, err)
	}
	res.repos = len(repos)
	for _, r := range repos {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		info := repoInfo{Name: r.Name, FullName: r.FullName, Archived: r.Archived, Fork: r.Fork, Visibility: r.Visibility,
			Topics: r.Topics, DefaultBranch: r.DefaultBranch}
		if !p.keep(info) {
			continue
		}
		res.matched++
		files, ref, err := p.repoFiles(ctx, r, &res)
		if err != nil {
			return res, err
		}
		if len(files) == 0 {
			continue
		}
		res.files += len(files)
		res.sources = append(res.sources, p.repoSources(ctx, r.FullName, ref, p.branchOf(r.DefaultBranch), files)...)
	}
	return res, nil
}

func (p *Provider) branchOf(defaultBranch string) string {
	if p.cfg.Filters.Branch != "" {
		return p.cfg.Filters.Branch
	}
	return defaultBranch
}

// repoFiles returns the catalog files of one listed repository and the ref
// they were read at. A repository that vanished or is empty since the
// listing has none; any other failure fails the scan.
func (p *Provider) repoFiles(ctx context.Context, r github.RepoWithFile, res *scanResult) ([]found, string, error) {
	owner, name, _ := strings.Cut(r.FullName, "/")
	ref := r.HeadOID
	if p.cfg.Filters.Branch != "" {
		ref = p.cfg.Filters.Branch
	}
	if p.fixed != "" {
		if r.File == nil {
			return nil, ref, nil
		}
		data := []byte(r.File.Text)
		if r.File.Truncated || r.File.Binary {
			b, err := p.client.File(ctx, owner, name, p.fixed, ref)
			if skippable(err) {
				return nil, ref, nil
			}
			if err != nil {
				return nil, ref, fmt.Errorf("github provider %s: read %s/%s: %w", p.name, r.FullName, p.fixed, err)
			}
			data = b
		}
		return []found{{path: p.fixed, data: data}}, ref, nil
	}
	key := strings.ToLower(r.FullName)
	if c, ok := p.cache[key]; ok && p.cfg.Filters.Branch == "" && c.head == r.HeadOID && res.cachedBytes < maxCacheBytes {
		res.nextCache[key] = c
		var out []found
		for path, f := range c.files {
			res.cachedBytes += len(f.data)
			out = append(out, found{path: path, data: f.data})
		}
		slices.SortFunc(out, func(a, b found) int { return strings.Compare(a.path, b.path) })
		return out, ref, nil
	}
	tree, err := p.client.Tree(ctx, owner, name, ref)
	if skippable(err) {
		return nil, ref, nil
	}
	if err != nil {
		return nil, ref, fmt.Errorf("github provider %s: list tree of %s: %w", p.name, r.FullName, err)
	}
	if tree.Truncated {
		p.logger.Warn("github tree listing truncated; files beyond it are not discovered", "repo", r.FullName)
	}
	var out []found
	files := map[string]cachedFile{}
	prev := p.cache[key]
	for _, entry := range tree.Entries {
		path := entry.Path
		if entry.Type != "blob" || !p.pattern.Match(path) {
			continue
		}
		var data []byte
		if c, ok := prev.files[path]; ok && c.sha == entry.SHA && entry.SHA != "" {
			data = c.data // the same blob as last time
		} else if path == "catalog-info.yaml" && r.File != nil && !r.File.Truncated && !r.File.Binary {
			data = []byte(r.File.Text)
		} else {
			data, err = p.client.File(ctx, owner, name, path, ref)
			if greenroom.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, ref, fmt.Errorf("github provider %s: read %s/%s: %w", p.name, r.FullName, path, err)
			}
		}
		files[path] = cachedFile{sha: entry.SHA, data: data}
		out = append(out, found{path: path, data: data})
	}
	res.nextCache[key] = repoCache{head: r.HeadOID, files: files}
	return out, ref, nil
}

// skippable reports whether a repository's read failed because it is gone
// or empty (404, 409): it then supplies nothing, which is the truth.
func skippable(err error) bool {
	c := greenroom.ErrorCode(err)
	return err != nil && (c == greenroom.CodeNotFound || c == greenroom.CodeConflict)
}
