package config

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// GitHubProvider is one GitHub entity provider of catalog.providers.github,
// read as Backstage's readProviderConfigs does: either a single provider
// object (with organization; its id is "default") or a mapping of ids to
// provider objects.
type GitHubProvider struct {
	ID           string // the key under catalog.providers.github, or "default"
	Organization string // required
	// Host selects the integrations.github entry, default github.com.
	Host string
	// CatalogPath is where catalog files are looked for in each repository,
	// default /catalog-info.yaml; it may hold globs (/**/catalog-info.yaml).
	CatalogPath string
	Filters     GitHubProviderFilters
	// ValidateLocationsExist is accepted for compatibility; Greenroom reads
	// each file with the listing, so only existing files are registered.
	ValidateLocationsExist bool
	Schedule               ProviderSchedule
	// WebhookSecret is Greenroom's catalog.providers.github.<id>.webhookSecret
	// (optional; events.modules.github.webhookSecret and the apps' secrets
	// of the host's integration verify deliveries too).
	WebhookSecret Secret
	// File and Line are where the provider was declared, for messages.
	File string
	Line int
}

// GitHubProviderFilters is catalog.providers.github.<id>.filters.
type GitHubProviderFilters struct {
	// Branch is the branch catalog files are read from; "" means each
	// repository's default branch.
	Branch string
	// Repository is the repository-name regex as written; RepositoryRE is
	// it compiled with ^ and $ added when missing, as Backstage does.
	Repository   string
	RepositoryRE *regexp.Regexp
	TopicInclude []string
	TopicExclude []string
	// Visibility lists the visibilities kept (public, private, internal);
	// empty keeps all.
	Visibility []string
	// AllowForks defaults to true.
	AllowForks bool
}

// ProviderSchedule is a provider's schedule, Backstage's
// SchedulerServiceTaskScheduleDefinition with duration frequencies.
type ProviderSchedule struct {
	Frequency    time.Duration // default DefaultProviderFrequency
	Timeout      time.Duration // default DefaultProviderTimeout
	InitialDelay time.Duration
}

// GitHubEvents is events.modules.github, Backstage's events-backend-module-github
// configuration.
type GitHubEvents struct {
	WebhookSecret Secret // events.modules.github.webhookSecret
}

// Defaults of a provider's schedule. Backstage has none (a provider without
// a schedule is an error there); Greenroom scans every 5 minutes, which with
// the GraphQL listing costs one query per 100 repositories.
const (
	DefaultProviderFrequency = 5 * time.Minute
	DefaultProviderTimeout   = 3 * time.Minute
	DefaultGitHubCatalogPath = "/catalog-info.yaml"
	defaultGitHubProviderID  = "default"
)

// maxProviders bounds the providers of one kind.
const maxProviders = 100

// providerIDPattern is compiled on first use, as githubLogin: bounded
// repetitions make large programs, compiled in every process start
// otherwise.
var providerIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`) })

// githubProviderFields are the keys of one provider object.
var githubProviderFields = []string{"organization", "host", "catalogPath", "filters", "validateLocationsExist", "schedule", "webhookSecret"}

// githubProviders reads catalog.providers.github and events.modules.github.
func (d *decoder) githubProviders(root *node, c *Config) {
	if ev := root.get("events"); ev != nil && ev.kind == kindMap {
		if m := ev.get("modules"); m != nil && m.kind == kindMap {
			if gh := d.mapping(m.get("github"), "events.modules.github"); gh != nil {
				d.token(gh.get("webhookSecret"), "events.modules.github.webhookSecret", &c.GitHubEvents.WebhookSecret)
			}
		}
	}
	cat := root.get("catalog")
	if cat == nil || cat.kind != kindMap {
		return
	}
	provs := cat.get("providers")
	if provs == nil || provs.kind != kindMap {
		return
	}
	const path = "catalog.providers.github"
	n := d.mapping(provs.get("github"), path)
	if n == nil {
		return
	}
	if n.get("organization") != nil {
		if p, ok := d.githubProvider(defaultGitHubProviderID, n, path); ok {
			c.Catalog.GitHubProviders = append(c.Catalog.GitHubProviders, p)
		}
		return
	}
	if len(n.keys) > maxProviders {
		d.ps.add(SeverityError, n.pos, path, "more than 100 providers")
		return
	}
	for _, id := range n.keys {
		p := joinPath(path, id)
		it := n.vals[id]
		if !providerIDPattern().MatchString(id) {
			d.ps.add(SeverityError, it.pos, p, "provider id "+id+" must be letters, digits, '-', '_' or '.' (at most 63)")
			continue
		}
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with organization", it)
			continue
		}
		if gp, ok := d.githubProvider(id, it, p); ok {
			c.Catalog.GitHubProviders = append(c.Catalog.GitHubProviders, gp)
		}
	}
}

func (d *decoder) githubProvider(id string, n *node, path string) (GitHubProvider, bool) {
	p := GitHubProvider{ID: id, Host: GitHubHost, CatalogPath: DefaultGitHubCatalogPath, File: n.pos.file, Line: n.pos.line,
		Filters:  GitHubProviderFilters{AllowForks: true},
		Schedule: ProviderSchedule{Frequency: DefaultProviderFrequency, Timeout: DefaultProviderTimeout}}
	for _, k := range n.keys {
		if !slices.Contains(githubProviderFields, k) {
			msg := "unknown key \"" + k + "\""
			if s := suggest(k, githubProviderFields); s != "" {
				msg += "; did you mean \"" + s + "\"?"
			}
			d.ps.add(SeverityWarning, n.vals[k].pos, joinPath(path, k), msg)
		}
	}
	ok := d.required(n, path, "organization") && d.str(n.get("organization"), path+".organization", &p.Organization)
	if ok && (p.Organization == "" || strings.ContainsAny(p.Organization, "/ ")) {
		d.ps.expected(n.get("organization").pos, path+".organization", "a GitHub organization login such as acme", n.get("organization"))
		ok = false
	}
	ok = d.host(n, path+".host", &p.Host) && ok
	if cp := n.get("catalogPath"); set(cp) {
		if d.str(cp, path+".catalogPath", &p.CatalogPath) && (p.CatalogPath == "" || strings.Contains(p.CatalogPath, "..") || len(p.CatalogPath) > 1024) {
			d.ps.expected(cp.pos, path+".catalogPath", "a path or glob in the repository such as /catalog-info.yaml or /**/catalog-info.yaml", cp)
			ok = false
		}
	}
	if v, set := d.boolean(n.get("validateLocationsExist"), path+".validateLocationsExist"); set {
		p.ValidateLocationsExist = v
		if v && strings.Contains(p.CatalogPath, "*") {
			d.ps.add(SeverityError, n.get("validateLocationsExist").pos, path+".validateLocationsExist",
				"the catalog path "+p.CatalogPath+" contains a wildcard, which is incompatible with validateLocationsExist; set it to false")
			ok = false
		}
	}
	d.token(n.get("webhookSecret"), path+".webhookSecret", &p.WebhookSecret)
	ok = d.githubFilters(n.get("filters"), path+".filters", &p.Filters) && ok
	ok = d.providerSchedule(n.get("schedule"), path+".schedule", &p.Schedule) && ok
	return p, ok
}

func (d *decoder) githubFilters(n *node, path string, f *GitHubProviderFilters) bool {
	m := d.mapping(n, path)
	if m == nil {
		return !set(n)
	}
	ok := true
	d.str(m.get("branch"), path+".branch", &f.Branch)
	if d.str(m.get("repository"), path+".repository", &f.Repository) && f.Repository != "" {
		pat := f.Repository
		if !strings.HasPrefix(pat, "^") {
			pat = "^" + pat
		}
		if !strings.HasSuffix(pat, "$") {
			pat += "$"
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			r := m.get("repository")
			d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: r.pos.file, Line: r.pos.line, Column: r.pos.col,
				Path: path + ".repository", Message: "not a valid regular expression: " + err.Error(), Expected: "a regular expression such as service-.*"})
			ok = false
		}
		f.RepositoryRE = re
	}
	if v, set := d.boolean(m.get("allowForks"), path+".allowForks"); set {
		f.AllowForks = v
	}
	if t := d.mapping(m.get("topic"), path+".topic"); t != nil {
		f.TopicInclude = d.stringList(t.get("include"), path+".topic.include")
		f.TopicExclude = d.stringList(t.get("exclude"), path+".topic.exclude")
	}
	vis := m.get("visibility")
	for i, v := range d.stringList(vis, path+".visibility") {
		if !slices.Contains([]string{"public", "private", "internal"}, v) {
			d.ps.expected(vis.items[i].pos, indexPath(path+".visibility", i), "one of public, private, internal", vis.items[i])
			ok = false
			continue
		}
		f.Visibility = append(f.Visibility, v)
	}
	return ok
}

// stringList reads a list of strings; a non-string item is reported and
// kept as "" so that indexes still match the node's items.
func (d *decoder) stringList(n *node, path string) []string {
	if !set(n) {
		return nil
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of strings", n)
		return nil
	}
	out := make([]string, len(n.items))
	for i, it := range n.items {
		if it.kind != kindString {
			d.ps.expected(it.pos, indexPath(path, i), "a string", it)
			continue
		}
		out[i] = it.s
	}
	return out
}

func (d *decoder) providerSchedule(n *node, path string, s *ProviderSchedule) bool {
	m := d.mapping(n, path)
	if m == nil {
		return !set(n)
	}
	before := len(d.ps.list)
	if f := m.get("frequency"); set(f) && f.kind == kindMap && f.get("cron") != nil {
		d.ps.add(SeverityError, f.pos, path+".frequency", "cron frequencies are not supported; give a duration such as {minutes: 30}")
	} else if set(f) && f.kind == kindString && f.s == "manual" {
		d.ps.add(SeverityError, f.pos, path+".frequency", "manual schedules are not supported; give a duration such as {minutes: 30}")
	} else {
		d.duration(f, path+".frequency", &s.Frequency)
	}
	d.duration(m.get("timeout"), path+".timeout", &s.Timeout)
	d.duration(m.get("initialDelay"), path+".initialDelay", &s.InitialDelay)
	if len(d.ps.list) == before && (s.Frequency < time.Second || s.Timeout <= 0 || s.InitialDelay < 0) {
		d.ps.add(SeverityError, m.pos, path, "frequency must be at least 1s, timeout positive and initialDelay not negative")
	}
	return len(d.ps.list) == before
}

// githubProviderKeys are the keys of catalog.providers for the key table in
// keys.go. Provider objects are checked by githubProvider, since their ids
// are the user's.
func githubProviderKeys() (used, ignored []string) {
	used = []string{"catalog.providers", "catalog.providers.github"}
	ignored = []string{
		"catalog.providers.gitlab", "catalog.providers.bitbucketCloud",
		"catalog.providers.bitbucketServer", "catalog.providers.azureDevOps", "catalog.providers.gerrit",
		"catalog.providers.gitea", "catalog.providers.microsoftGraphOrg", "catalog.providers.ldapOrg",
		"catalog.providers.keycloakOrg", "catalog.providers.awsS3", "catalog.providers.backstageOpenapi",
		"catalog.providers.puppetdb", "catalog.providers.googleGcs",
	}
	return used, ignored
}
