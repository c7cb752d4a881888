package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitProvider is one entry of catalog.providers.git.<id>, Greenroom's own
// key under Backstage's providers tree: the catalog files of one branch of
// any git repository (GitLab, Bitbucket, Gitea, self-hosted), read on a
// schedule.
type GitProvider struct {
	ID     string // the <id> key
	URL    string // https://…, ssh://… or user@host:path, without credentials
	Branch string // empty: the remote's default branch
	// CatalogPath is the glob of the catalog files inside the repository,
	// default DefaultCatalogPath.
	CatalogPath string
	Auth        GitAuth
	Schedule    ProviderSchedule
	// File and Line are where the entry was declared, for messages.
	File string
	Line int
}

// GitAuth is catalog.providers.git.<id>.auth: a token (with an optional
// user name) for https, or an SSH key with the server's known_hosts for
// ssh. When no auth is given for an https URL, the token of the
// integrations.gitlab or integrations.github entry for the URL's host is
// used (Integration names it).
type GitAuth struct {
	Username   string
	Token      Secret
	SSHKey     Secret
	Passphrase Secret // decrypts SSHKey
	KnownHosts string
	// Integration is "integrations.gitlab[N]" or "integrations.github[N]"
	// when the token was taken from there, else "".
	Integration string
}

// DirectoryProvider is one entry of catalog.providers.directory.<id>: the
// catalog files of a local directory tree (a monorepo checkout, a
// development tree), re-scanned on a schedule.
type DirectoryProvider struct {
	ID     string
	Target string // path as written
	// Path is Target resolved against the directory of the config file
	// that declared it, as file locations are.
	Path        string
	CatalogPath string
	Schedule    ProviderSchedule
	File        string
	Line        int
}

// Defaults of the git and directory providers (the schedule's timeout is
// DefaultProviderTimeout, see providers_github.go). Backstage requires a
// schedule on its providers; Greenroom defaults one so that a catalog file
// pushed anywhere shows within 5 minutes, and a local tree within 30 s.
const (
	DefaultCatalogPath           = "/catalog-info.yaml"
	DefaultGitProviderFrequency  = 5 * time.Minute
	DefaultDirectoryProviderFreq = 30 * time.Second
)

// Bounds of the provider entries.
const (
	maxProviderIDLength          = 63
	maxProviderCatalogPathLength = 1024
	maxProvidersOfAKind          = 100
	providerIDExpected           = "an id of letters, digits, '-' and '_' (at most 63)"
)

var providerID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// gitProviderKeys are the keys of catalog.providers.git and .directory for
// the key table in keys.go. The entries below them are checked by their
// decoders, since their ids are free.
func gitProviderKeys() (used, ignored []string) {
	return []string{"catalog.providers", "catalog.providers.git", "catalog.providers.directory"}, nil
}

// gitProviders reads catalog.providers.git and catalog.providers.directory.
// An entry with errors is left out, so it is reported once, here.
func (d *decoder) gitProviders(root *node, c *Config) {
	cat := root.get("catalog")
	if cat == nil || cat.kind != kindMap {
		return
	}
	providers := d.mapping(cat.get("providers"), "catalog.providers")
	if providers == nil {
		return
	}
	for _, e := range d.providerEntries(providers.get("git"), "catalog.providers.git") {
		if g, ok := d.gitProvider(e.n, e.path, e.id, c.Integrations); ok {
			c.Catalog.GitProviders = append(c.Catalog.GitProviders, g)
		}
	}
	for _, e := range d.providerEntries(providers.get("directory"), "catalog.providers.directory") {
		if p, ok := d.directoryProvider(e.n, e.path, e.id); ok {
			c.Catalog.DirectoryProviders = append(c.Catalog.DirectoryProviders, p)
		}
	}
}

type providerEntry struct {
	id, path string
	n        *node
}

// providerEntries returns the mappings under a provider kind, keyed by id.
func (d *decoder) providerEntries(n *node, path string) []providerEntry {
	m := d.mapping(n, path)
	if m == nil {
		return nil
	}
	var out []providerEntry
	for _, id := range m.keys {
		v, p := m.vals[id], joinPath(path, id)
		switch {
		case len(out) == maxProvidersOfAKind:
			d.ps.add(SeverityError, v.pos, p, fmt.Sprintf("more than %d providers under %s", maxProvidersOfAKind, path))
			return out
		case !providerID.MatchString(id) || len(id) > maxProviderIDLength:
			d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: v.pos.file, Line: v.pos.line, Column: v.pos.col,
				Path: p, Expected: providerIDExpected, Message: "provider id " + strconv.Quote(id) + " is not valid; expected " + providerIDExpected})
			continue
		}
		if e := d.mapping(v, p); e != nil {
			out = append(out, providerEntry{id: id, path: p, n: e})
		}
	}
	return out
}

// unknownKeys warns about keys of m not in allowed, suggesting the closest.
func (d *decoder) unknownKeys(m *node, path string, allowed []string) {
	for _, k := range m.keys {
		if slices.Contains(allowed, k) {
			continue
		}
		msg := "unknown key " + strconv.Quote(k)
		if s := suggest(k, allowed); s != "" {
			msg += "; did you mean " + strconv.Quote(s) + "?"
		}
		d.ps.add(SeverityWarning, m.vals[k].pos, joinPath(path, k), msg)
	}
}

func (d *decoder) gitProvider(n *node, path, id string, in Integrations) (GitProvider, bool) {
	d.unknownKeys(n, path, []string{"url", "branch", "catalogPath", "auth", "schedule"})
	g := GitProvider{ID: id, CatalogPath: DefaultCatalogPath, File: n.pos.file, Line: n.pos.line,
		Schedule: ProviderSchedule{Frequency: DefaultGitProviderFrequency, Timeout: DefaultProviderTimeout}}
	ok := d.required(n, path, "url") && d.str(n.get("url"), path+".url", &g.URL)
	if ok {
		ok = d.gitURL(n.get("url"), path+".url", &g)
	}
	if d.str(n.get("branch"), path+".branch", &g.Branch) {
		g.Branch = strings.TrimPrefix(strings.TrimSpace(g.Branch), "refs/heads/")
		if g.Branch == "" || strings.HasPrefix(g.Branch, "-") || strings.ContainsAny(g.Branch, " ~^:?*[\\") || strings.Contains(g.Branch, "..") {
			d.ps.expected(n.get("branch").pos, path+".branch", "a branch name such as main", n.get("branch"))
			ok = false
		}
	}
	ok = d.catalogPath(n.get("catalogPath"), path+".catalogPath", &g.CatalogPath) && ok
	ok = d.gitAuth(n.get("auth"), path+".auth", &g) && ok
	ok = d.providerSchedule(n.get("schedule"), path+".schedule", &g.Schedule) && ok
	if ok && g.Auth.Token == "" && g.Auth.SSHKey == "" {
		g.Auth = integrationAuth(g.URL, in)
	}
	return g, ok
}

// gitURL checks the URL's form (the git source checks the rest) and moves
// credentials out of it: a token in the URL would be shown by config dump.
func (d *decoder) gitURL(n *node, path string, g *GitProvider) bool {
	raw := strings.TrimSpace(g.URL)
	scheme, _, hasScheme := strings.Cut(raw, "://")
	switch {
	case hasScheme && (scheme == "https" || scheme == "http" || scheme == "ssh"):
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: n.pos.file, Line: n.pos.line, Column: n.pos.col,
				Path: path, Expected: "a git URL such as https://git.acme.dev/team/repo.git",
				Message: "expected a git URL with a host and a repository path"})
			return false
		}
		if u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword || scheme != "ssh" {
				d.ps.add(SeverityError, n.pos, path, "the url must not hold credentials; put them in auth.token (with $env or $file)")
				return false
			}
		}
		g.URL = raw
	case !hasScheme && strings.Contains(raw, "@") && strings.Contains(raw, ":"):
		g.URL = raw // scp-like user@host:path
	default:
		d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: n.pos.file, Line: n.pos.line, Column: n.pos.col,
			Path: path, Expected: "an https://, http://, ssh:// or user@host:path git URL",
			Message: "expected an https://, http://, ssh:// or user@host:path git URL, got " + n.describe()})
		return false
	}
	return true
}

func (d *decoder) catalogPath(n *node, path string, dst *string) bool {
	var s string
	if !d.str(n, path, &s) {
		return !set(n)
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxProviderCatalogPathLength || strings.HasPrefix(s, "!") {
		d.ps.expected(n.pos, path, "a glob such as /catalog-info.yaml or /**/catalog-info.yaml", n)
		return false
	}
	*dst = s
	return true
}

func (d *decoder) gitAuth(n *node, path string, g *GitProvider) bool {
	m := d.mapping(n, path)
	if m == nil {
		return !set(n)
	}
	d.unknownKeys(m, path, []string{"username", "token", "sshKey", "passphrase", "knownHosts"})
	a := &g.Auth
	d.str(m.get("username"), path+".username", &a.Username)
	d.token(m.get("token"), path+".token", &a.Token)
	d.token(m.get("sshKey"), path+".sshKey", &a.SSHKey)
	d.token(m.get("passphrase"), path+".passphrase", &a.Passphrase)
	d.str(m.get("knownHosts"), path+".knownHosts", &a.KnownHosts)
	ssh := strings.HasPrefix(g.URL, "ssh://") || !strings.Contains(g.URL, "://")
	bad := func(key, msg string) {
		at := m.pos
		if v := m.get(key); v != nil {
			at = v.pos
		}
		d.ps.add(SeverityError, at, joinPath(path, key), msg)
	}
	ok := true
	switch {
	case a.Token != "" && a.SSHKey != "":
		bad("sshKey", "give either a token (https) or an sshKey (ssh), not both")
		ok = false
	case a.Username != "" && a.Token == "":
		bad("username", "username goes with token, which is missing")
		ok = false
	case a.SSHKey != "" && strings.TrimSpace(a.KnownHosts) == "":
		bad("knownHosts", "an sshKey needs knownHosts (the server's known_hosts lines): host keys are always verified")
		ok = false
	case a.Passphrase != "" && a.SSHKey == "":
		bad("passphrase", "passphrase goes with sshKey, which is missing")
		ok = false
	case a.SSHKey != "" && !ssh && g.URL != "":
		bad("sshKey", "an sshKey is for an ssh:// or user@host:path url")
		ok = false
	case a.Token != "" && ssh && g.URL != "":
		bad("token", "a token is for an https url; an ssh url needs an sshKey")
		ok = false
	}
	return ok
}

// integrationAuth returns the token of the integration for the host of an
// https URL: GitLab's with user name oauth2, GitHub's with
// x-access-token, as those hosts expect.
func integrationAuth(raw string, in Integrations) GitAuth {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return GitAuth{}
	}
	for i, g := range in.GitLab {
		if g.Host == u.Host && g.Token != "" {
			return GitAuth{Username: "oauth2", Token: g.Token, Integration: indexPath("integrations.gitlab", i)}
		}
	}
	for i, g := range in.GitHub {
		if g.Host == u.Host && g.Token != "" {
			return GitAuth{Username: "x-access-token", Token: g.Token, Integration: indexPath("integrations.github", i)}
		}
	}
	return GitAuth{}
}

func (d *decoder) directoryProvider(n *node, path, id string) (DirectoryProvider, bool) {
	d.unknownKeys(n, path, []string{"path", "catalogPath", "schedule"})
	p := DirectoryProvider{ID: id, CatalogPath: DefaultCatalogPath, File: n.pos.file, Line: n.pos.line,
		Schedule: ProviderSchedule{Frequency: DefaultDirectoryProviderFreq, Timeout: DefaultProviderTimeout}}
	ok := d.required(n, path, "path") && d.str(n.get("path"), path+".path", &p.Target)
	if ok && strings.TrimSpace(p.Target) == "" {
		d.ps.expected(n.get("path").pos, path+".path", "a directory path", n.get("path"))
		ok = false
	}
	if ok {
		p.Path = resolveTarget(n.get("path").pos, p.Target)
	}
	ok = d.catalogPath(n.get("catalogPath"), path+".catalogPath", &p.CatalogPath) && ok
	ok = d.providerSchedule(n.get("schedule"), path+".schedule", &p.Schedule) && ok
	return p, ok
}
