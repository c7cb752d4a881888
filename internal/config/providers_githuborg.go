package config

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// GitHubOrgProvider is one GitHub org provider of catalog.providers.githubOrg
// (Backstage's catalog-backend-module-github-org): teams and members of
// the organizations become Group and User entities. As Backstage's
// readDefinitionsFromConfig, the key holds one provider object or a list
// of them, each with an id.
type GitHubOrgProvider struct {
	ID string // required, unique
	// GitHubURL is githubUrl as written (e.g. https://github.com); Host is
	// its host, which selects the integrations.github entry.
	GitHubURL string
	Host      string
	// Orgs are the organizations read. Empty means every organization the
	// host's GitHub App is installed on (as Backstage, App credentials only).
	Orgs     []string
	Schedule ProviderSchedule
	// File and Line are where the provider was declared, for messages.
	File string
	Line int
}

// maxGitHubOrgs bounds the organizations of one org provider.
const maxGitHubOrgs = 100

// githubOrgProviderFields are the keys of one org provider object.
var githubOrgProviderFields = []string{"id", "githubUrl", "orgs", "schedule"}

// githubLogin is an organization login as GitHub allows it.
var githubLogin = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`) })

// githubOrgProviders reads catalog.providers.githubOrg.
func (d *decoder) githubOrgProviders(root *node, c *Config) {
	const path = "catalog.providers.githubOrg"
	cat := root.get("catalog")
	if cat == nil || cat.kind != kindMap {
		return
	}
	provs := cat.get("providers")
	if provs == nil || provs.kind != kindMap {
		return
	}
	n := provs.get("githubOrg")
	if !set(n) {
		return
	}
	var items []*node
	var paths []string
	switch n.kind {
	case kindMap:
		items, paths = []*node{n}, []string{path}
	case kindSeq:
		if len(n.items) > maxProviders {
			d.ps.add(SeverityError, n.pos, path, "more than 100 providers")
			return
		}
		for i, it := range n.items {
			items, paths = append(items, it), append(paths, indexPath(path, i))
		}
	default:
		d.ps.expected(n.pos, path, "a provider mapping with id, githubUrl, orgs and schedule, or a list of them", n)
		return
	}
	seen := map[string]bool{}
	for i, it := range items {
		p, ok := d.githubOrgProvider(it, paths[i])
		if !ok {
			continue
		}
		if seen[p.ID] {
			d.ps.add(SeverityError, it.get("id").pos, paths[i]+".id", "provider id "+p.ID+" is used twice")
			continue
		}
		seen[p.ID] = true
		c.Catalog.GitHubOrgProviders = append(c.Catalog.GitHubOrgProviders, p)
	}
}

func (d *decoder) githubOrgProvider(n *node, path string) (GitHubOrgProvider, bool) {
	p := GitHubOrgProvider{Schedule: ProviderSchedule{Frequency: DefaultProviderFrequency, Timeout: DefaultProviderTimeout}}
	if n.kind != kindMap {
		d.ps.expected(n.pos, path, "a mapping with id, githubUrl, orgs and schedule", n)
		return p, false
	}
	p.File, p.Line = n.pos.file, n.pos.line
	for _, k := range n.keys {
		if !slices.Contains(githubOrgProviderFields, k) {
			msg := "unknown key \"" + k + "\""
			if s := suggest(k, githubOrgProviderFields); s != "" {
				msg += "; did you mean \"" + s + "\"?"
			}
			d.ps.add(SeverityWarning, n.vals[k].pos, joinPath(path, k), msg)
		}
	}
	ok := d.required(n, path, "id") && d.str(n.get("id"), path+".id", &p.ID)
	if ok && !providerIDPattern().MatchString(p.ID) {
		d.ps.expected(n.get("id").pos, path+".id", "letters, digits, '-', '_' or '.' (at most 63)", n.get("id"))
		ok = false
	}
	if d.required(n, path, "githubUrl") && d.str(n.get("githubUrl"), path+".githubUrl", &p.GitHubURL) {
		u, err := url.Parse(p.GitHubURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || checkIntegrationHost(u.Host) != nil {
			d.ps.expected(n.get("githubUrl").pos, path+".githubUrl", "an absolute https:// URL of the GitHub host such as https://github.com", n.get("githubUrl"))
			ok = false
		} else {
			p.Host = u.Host
		}
	} else {
		ok = false
	}
	orgs := n.get("orgs")
	if set(orgs) && orgs.kind == kindSeq && len(orgs.items) > maxGitHubOrgs {
		d.ps.add(SeverityError, orgs.pos, path+".orgs", "more than 100 organizations")
		ok = false
	} else {
		for i, o := range d.stringList(orgs, path+".orgs") {
			if !githubLogin().MatchString(o) {
				d.ps.expected(orgs.items[i].pos, indexPath(path+".orgs", i), "a GitHub organization login such as acme", orgs.items[i])
				ok = false
				continue
			}
			if slices.ContainsFunc(p.Orgs, func(x string) bool { return strings.EqualFold(x, o) }) {
				continue
			}
			p.Orgs = append(p.Orgs, o)
		}
	}
	ok = d.providerSchedule(n.get("schedule"), path+".schedule", &p.Schedule) && ok
	return p, ok
}

// githubOrgProviderKeys are the keys of catalog.providers.githubOrg for the
// key table in keys.go; provider objects are checked by githubOrgProvider.
func githubOrgProviderKeys() []string {
	return []string{"catalog.providers.githubOrg"}
}
