package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Integrations is the integrations section: the code hosts Greenroom reads
// catalog files from, under Backstage's keys. GitHub and GitLab are typed;
// Backstage's other kinds are accepted and ignored.
type Integrations struct {
	GitHub []GitHubIntegration // integrations.github
	GitLab []GitLabIntegration // integrations.gitlab
}

// GitHubIntegration is one entry of integrations.github with Backstage's
// defaults applied: host github.com, and for github.com the public API and
// raw base URLs. Base URLs have no trailing slash.
type GitHubIntegration struct {
	// Host is the host of the URLs this entry reads, e.g. ghe.acme.dev; a
	// port may follow (ghe.acme.dev:8443).
	Host string
	// APIBaseURL is the REST API, e.g. https://ghe.acme.dev/api/v3. With a
	// token (or without RawBaseURL) files are read through its contents API.
	APIBaseURL string
	// RawBaseURL serves raw files, e.g. https://raw.githubusercontent.com;
	// used without a token.
	RawBaseURL string
	Token      Secret
	Apps       []GitHubApp // integrations.github[].apps
}

// GitHubApp is one entry of integrations.github[].apps, a GitHub App
// Greenroom authenticates as (Backstage's GithubAppConfig).
type GitHubApp struct {
	AppID                     int64
	PrivateKey                Secret
	WebhookSecret             Secret
	ClientID                  string
	ClientSecret              Secret
	AllowedInstallationOwners []string
}

// GitLabIntegration is one entry of integrations.gitlab with Backstage's
// defaults applied. Base URLs have no trailing slash.
type GitLabIntegration struct {
	Host string // e.g. gitlab.com or git.acme.dev, a port may follow
	// APIBaseURL is the v4 REST API, e.g. https://git.acme.dev/api/v4;
	// required except for gitlab.com.
	APIBaseURL string
	// BaseURL is the web address, default https://<host>. A path in it
	// (https://acme.dev/gitlab) is the instance's relative path.
	BaseURL string
	Token   Secret
}

// Backstage's public defaults for the integrations.
const (
	GitHubHost       = "github.com"
	GitHubAPIBaseURL = "https://api.github.com"
	GitHubRawBaseURL = "https://raw.githubusercontent.com"
	GitLabHost       = "gitlab.com"
	GitLabAPIBaseURL = "https://gitlab.com/api/v4"
)

// WithDefaults returns the integrations with an entry for github.com and
// one for gitlab.com added when none is configured, as Backstage's
// ScmIntegrations does, so public repositories are readable without
// configuration. The receiver is not modified.
func (in Integrations) WithDefaults() Integrations {
	out := Integrations{
		GitHub: append([]GitHubIntegration(nil), in.GitHub...),
		GitLab: append([]GitLabIntegration(nil), in.GitLab...),
	}
	hasGitHub, hasGitLab := false, false
	for _, g := range out.GitHub {
		hasGitHub = hasGitHub || g.Host == GitHubHost
	}
	for _, g := range out.GitLab {
		hasGitLab = hasGitLab || g.Host == GitLabHost
	}
	if !hasGitHub {
		out.GitHub = append(out.GitHub, GitHubIntegration{Host: GitHubHost, APIBaseURL: GitHubAPIBaseURL, RawBaseURL: GitHubRawBaseURL})
	}
	if !hasGitLab {
		out.GitLab = append(out.GitLab, GitLabIntegration{Host: GitLabHost, APIBaseURL: GitLabAPIBaseURL, BaseURL: "https://" + GitLabHost})
	}
	return out
}

// Reading is backend.reading.
type Reading struct {
	// Allow is backend.reading.allow. In Backstage it lists the hosts
	// (besides integrations) that may be read at all; Greenroom reads any
	// public URL, and what an entry grants is reaching a host on a private,
	// loopback or link-local address.
	Allow []ReadingAllow
}

// ReadingAllow is one entry of backend.reading.allow.
type ReadingAllow struct {
	// Host is as written: a host name, or "*.example.com" for every
	// subdomain of example.com (not example.com itself), optionally followed
	// by ":port" or ":from-to". Without a port only URLs without an explicit
	// port match, as in Backstage. See ParseHostPattern.
	Host string
	// Paths are path prefixes, e.g. /catalog/; none allows every path.
	Paths []string
}

// HostPattern is a parsed ReadingAllow.Host.
type HostPattern struct {
	// Hostname is lower case, without brackets for IPv6 and without the
	// leading "*." of a wildcard.
	Hostname string
	// Subdomains is set for "*." patterns: they match hosts ending in
	// "."+Hostname.
	Subdomains bool
	// MinPort and MaxPort are the inclusive port range; both 0 when no port
	// was written.
	MinPort, MaxPort int
}

// ParseHostPattern parses a backend.reading.allow host the way Backstage's
// FetchUrlReader reads it. IPv6 literals go in brackets ("[fd00::1]:8080").
func ParseHostPattern(s string) (HostPattern, error) {
	var p HostPattern
	if s == "" {
		return p, fmt.Errorf("empty host")
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ ") {
		return p, fmt.Errorf("%q is not a host; write just the host name, e.g. example.com or *.example.com:8080", s)
	}
	name, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return p, fmt.Errorf("%q: missing ] after the IPv6 address", s)
		}
		name, port = s[1:end], strings.TrimPrefix(s[end+1:], ":")
		if rest := s[end+1:]; rest != "" && !strings.HasPrefix(rest, ":") {
			return p, fmt.Errorf("%q: expected :port after the IPv6 address", s)
		}
		if ip := net.ParseIP(name); ip == nil || ip.To4() != nil {
			return p, fmt.Errorf("%q: %q is not an IPv6 address", s, name)
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		name, port = s[:i], s[i+1:]
		if strings.Contains(port, ":") {
			return p, fmt.Errorf("%q: write IPv6 addresses in brackets, e.g. [fd00::1]:8080", s)
		}
	}
	if strings.HasPrefix(name, "*.") {
		p.Subdomains, name = true, name[2:]
	}
	if !validHostname(name) {
		return p, fmt.Errorf("%q is not a valid host name; only a leading *. is allowed as a wildcard", s)
	}
	p.Hostname = strings.ToLower(name)
	if port == "" {
		if strings.HasSuffix(s, ":") {
			return p, fmt.Errorf("%q: empty port", s)
		}
		return p, nil
	}
	lo, hi, ok := strings.Cut(port, "-")
	if !ok {
		hi = lo
	}
	from, err1 := strconv.Atoi(lo)
	to, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || from < 1 || to > 65535 || from > to {
		return p, fmt.Errorf("%q: expected a port (1-65535) or a range such as 8000-8080 after the colon", s)
	}
	p.MinPort, p.MaxPort = from, to
	return p, nil
}

// validHostname accepts DNS names (letters, digits, '-', '_', '.') and IP
// literals.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(s) != nil {
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// checkIntegrationHost checks an integrations host: a host name or IP
// literal with an optional port, as Backstage's isValidHost does (the URL
// parser must give it back unchanged).
func checkIntegrationHost(s string) error {
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host != s || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
		!validHostname(strings.Trim(u.Hostname(), "[]")) || strings.HasSuffix(s, ":") {
		return fmt.Errorf("%q is not a valid host; write just the host name (and port), e.g. ghe.acme.dev", s)
	}
	if strings.ToLower(s) != s {
		return fmt.Errorf("%q: write the host in lower case", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: the port must be between 1 and 65535", s)
		}
	}
	return nil
}

// integrations decodes the integrations section and backend.reading.
func (d *decoder) integrations(root *node, c *Config) {
	if in := d.section(root, "integrations"); in != nil {
		c.Integrations.GitHub = d.github(in.get("github"))
		c.Integrations.GitLab = d.gitlab(in.get("gitlab"))
	}
	if be := root.get("backend"); be != nil && be.kind == kindMap {
		d.reading(be.get("reading"), &c.Backend.Reading)
	}
}

// entries returns the items of a list of integration entries, nil in place
// of each item that is not a mapping (which is reported).
func (d *decoder) entries(n *node, path string) []*node {
	if !set(n) {
		return nil
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "a list of integrations, each with a host", n)
		return nil
	}
	out := make([]*node, len(n.items))
	for i, it := range n.items {
		if it.kind != kindMap {
			d.ps.expected(it.pos, indexPath(path, i), "a mapping with host", it)
			continue
		}
		out[i] = it
	}
	return out
}

// baseURL reads an optional http(s) base URL, without trailing slashes.
func (d *decoder) baseURL(n *node, path string, dst *string) bool {
	var s string
	if !d.str(n, path, &s) {
		return true
	}
	s = strings.TrimRight(s, "/")
	if !isHTTPURL(s) {
		d.ps.expected(n.pos, path, "an absolute http:// or https:// URL", n)
		return false
	}
	*dst = s
	return true
}

func (d *decoder) host(it *node, path string, dst *string) bool {
	n := it.get("host")
	if !set(n) {
		return true
	}
	if !d.str(n, path, dst) {
		return false
	}
	if err := checkIntegrationHost(*dst); err != nil {
		d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: n.pos.file, Line: n.pos.line, Column: n.pos.col,
			Path: path, Message: err.Error(), Expected: "a host name such as ghe.acme.dev"})
		return false
	}
	return true
}

func (d *decoder) token(n *node, path string, dst *Secret) {
	var s string
	if d.str(n, path, &s) {
		*dst = Secret(s)
	}
}

// github reads integrations.github as Backstage's
// readGithubIntegrationConfig does. An entry with errors is left out.
func (d *decoder) github(n *node) []GitHubIntegration {
	const path = "integrations.github"
	var out []GitHubIntegration
	seen := map[string]string{}
	for i, it := range d.entries(n, path) {
		if it == nil {
			continue
		}
		p := indexPath(path, i)
		g := GitHubIntegration{Host: GitHubHost}
		ok := d.host(it, p+".host", &g.Host)
		ok = d.baseURL(it.get("apiBaseUrl"), p+".apiBaseUrl", &g.APIBaseURL) && ok
		ok = d.baseURL(it.get("rawBaseUrl"), p+".rawBaseUrl", &g.RawBaseURL) && ok
		d.token(it.get("token"), p+".token", &g.Token)
		apps, appsOK := d.githubApps(it.get("apps"), p+".apps")
		g.Apps, ok = apps, ok && appsOK
		if !ok {
			continue
		}
		if g.Host == GitHubHost {
			if g.APIBaseURL == "" {
				g.APIBaseURL = GitHubAPIBaseURL
			}
			if g.RawBaseURL == "" {
				g.RawBaseURL = GitHubRawBaseURL
			}
		}
		if first, dup := seen[g.Host]; dup {
			d.ps.add(SeverityWarning, it.pos, p+".host", "host "+g.Host+" is configured again; "+first+" is used")
			continue
		}
		seen[g.Host] = p
		out = append(out, g)
	}
	return out
}

// githubApps reads integrations.github[].apps: appId and privateKey are
// required, as in Backstage.
func (d *decoder) githubApps(n *node, path string) ([]GitHubApp, bool) {
	items := d.entries(n, path)
	var out []GitHubApp
	ok := true
	for i, it := range items {
		if it == nil {
			ok = false
			continue
		}
		p := indexPath(path, i)
		var a GitHubApp
		good := d.required(it, p, "appId") && d.integer(it.get("appId"), p+".appId", "a positive integer", 1, 1<<53, &a.AppID)
		good = d.required(it, p, "privateKey") && good
		d.token(it.get("privateKey"), p+".privateKey", &a.PrivateKey)
		d.token(it.get("webhookSecret"), p+".webhookSecret", &a.WebhookSecret)
		d.str(it.get("clientId"), p+".clientId", &a.ClientID)
		d.token(it.get("clientSecret"), p+".clientSecret", &a.ClientSecret)
		a.AllowedInstallationOwners = d.stringList(it.get("allowedInstallationOwners"), p+".allowedInstallationOwners")
		if !good {
			ok = false
			continue
		}
		out = append(out, a)
	}
	return out, ok
}

// gitlab reads integrations.gitlab as Backstage's
// readGitLabIntegrationConfig does: host is required, and apiBaseUrl too
// unless the host is gitlab.com.
func (d *decoder) gitlab(n *node) []GitLabIntegration {
	const path = "integrations.gitlab"
	var out []GitLabIntegration
	seen := map[string]string{}
	for i, it := range d.entries(n, path) {
		if it == nil {
			continue
		}
		p := indexPath(path, i)
		var g GitLabIntegration
		ok := d.required(it, p, "host")
		ok = ok && d.host(it, p+".host", &g.Host)
		ok = d.baseURL(it.get("apiBaseUrl"), p+".apiBaseUrl", &g.APIBaseURL) && ok
		ok = d.baseURL(it.get("baseUrl"), p+".baseUrl", &g.BaseURL) && ok
		d.token(it.get("token"), p+".token", &g.Token)
		if !ok {
			continue
		}
		if g.APIBaseURL == "" {
			if g.Host != GitLabHost {
				d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: it.pos.file, Line: it.pos.line, Column: it.pos.col,
					Path: p + ".apiBaseUrl", Expected: "an absolute http:// or https:// URL",
					Message: "missing apiBaseUrl, required for hosts other than gitlab.com, e.g. https://" + g.Host + "/api/v4"})
				continue
			}
			g.APIBaseURL = GitLabAPIBaseURL
		}
		if g.BaseURL == "" {
			g.BaseURL = "https://" + g.Host
		}
		if first, dup := seen[g.Host]; dup {
			d.ps.add(SeverityWarning, it.pos, p+".host", "host "+g.Host+" is configured again; "+first+" is used")
			continue
		}
		seen[g.Host] = p
		out = append(out, g)
	}
	return out
}

// reading reads backend.reading.
func (d *decoder) reading(n *node, dst *Reading) {
	const path = "backend.reading"
	r := d.mapping(n, path)
	if r == nil {
		return
	}
	allow := r.get("allow")
	if !set(allow) {
		return
	}
	if allow.kind != kindSeq {
		d.ps.expected(allow.pos, path+".allow", "a list of {host, paths}", allow)
		return
	}
	for i, it := range allow.items {
		p := indexPath(path+".allow", i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, p, "a mapping with host", it)
			continue
		}
		var a ReadingAllow
		ok := d.required(it, p, "host") && d.str(it.get("host"), p+".host", &a.Host)
		if ok {
			if _, err := ParseHostPattern(a.Host); err != nil {
				h := it.get("host")
				d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: h.pos.file, Line: h.pos.line, Column: h.pos.col,
					Path: p + ".host", Message: err.Error(), Expected: "a host such as example.com, *.example.com or localhost:8080"})
				ok = false
			}
		}
		if paths := it.get("paths"); set(paths) {
			if paths.kind != kindSeq {
				d.ps.expected(paths.pos, p+".paths", "a list of path prefixes such as /catalog/", paths)
				ok = false
			} else {
				for j, pn := range paths.items {
					if pn.kind != kindString || !strings.HasPrefix(pn.s, "/") {
						d.ps.expected(pn.pos, indexPath(p+".paths", j), "a path prefix starting with /", pn)
						ok = false
						continue
					}
					a.Paths = append(a.Paths, pn.s)
				}
			}
		}
		if ok {
			dst.Allow = append(dst.Allow, a)
		}
	}
}

// integrationKeys are the keys of the integrations section and of
// backend.reading for the key table in keys.go.
func integrationKeys() (used, ignored []string) {
	used = []string{
		"integrations.github", "integrations.github[].host", "integrations.github[].apiBaseUrl",
		"integrations.github[].rawBaseUrl", "integrations.github[].token",
		"integrations.github[].apps", "integrations.github[].apps[].appId", "integrations.github[].apps[].privateKey",
		"integrations.github[].apps[].webhookSecret", "integrations.github[].apps[].clientId",
		"integrations.github[].apps[].clientSecret", "integrations.github[].apps[].allowedInstallationOwners",
		"integrations.gitlab", "integrations.gitlab[].host", "integrations.gitlab[].apiBaseUrl",
		"integrations.gitlab[].baseUrl", "integrations.gitlab[].token",
		"backend.reading", "backend.reading.allow", "backend.reading.allow[].host", "backend.reading.allow[].paths",
	}
	ignored = []string{
		"integrations.gitlab[].commitSigningKey",
		"integrations.azure", "integrations.azureBlobStorage", "integrations.awsCodeCommit", "integrations.awsS3",
		"integrations.bitbucket", "integrations.bitbucketCloud", "integrations.bitbucketServer",
		"integrations.gerrit", "integrations.gitea", "integrations.googleGcs", "integrations.harness",
	}
	return used, ignored
}
