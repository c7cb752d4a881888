package urlread

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"greenroom/internal/config"
)

// allowRule is one backend.reading.allow entry, matched as Backstage's
// FetchUrlReader matches it.
type allowRule struct {
	host  config.HostPattern
	paths []string
}

func newAllowRules(r config.Reading) ([]allowRule, error) {
	var out []allowRule
	for i, a := range r.Allow {
		p, err := config.ParseHostPattern(a.Host)
		if err != nil {
			return nil, fmt.Errorf("backend.reading.allow[%d].host: %w", i, err)
		}
		for j, s := range a.Paths {
			if !strings.HasPrefix(s, "/") {
				return nil, fmt.Errorf("backend.reading.allow[%d].paths[%d]: %q does not start with /", i, j, s)
			}
		}
		out = append(out, allowRule{host: p, paths: a.Paths})
	}
	return out, nil
}

// match reports whether u is allowed by the rule: the host name (exactly,
// or any subdomain for "*."), the port (a rule without one matches only
// URLs without an explicit port, the scheme's default counting as none) and,
// when the rule lists paths, a path prefix of the normalised path.
func (a allowRule) match(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	if a.host.Subdomains {
		if !strings.HasSuffix(host, "."+a.host.Hostname) {
			return false
		}
	} else if host != a.host.Hostname {
		return false
	}
	port := u.Port()
	if port == defaultPort(u.Scheme) && a.host.MinPort == 0 {
		port = ""
	}
	if a.host.MinPort == 0 {
		if port != "" {
			return false
		}
	} else {
		if port == "" {
			port = defaultPort(u.Scheme)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < a.host.MinPort || n > a.host.MaxPort {
			return false
		}
	}
	if len(a.paths) == 0 {
		return true
	}
	p := normalizePath(u.Path)
	for _, prefix := range a.paths {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// normalizePath resolves dot segments and repeated slashes of a decoded
// path, keeping a trailing slash, as Node's path.posix.normalize does, so
// that /catalog/../secret does not pass for /catalog/.
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
