package urlread

import (
	"net/http"
	"net/url"
	"strings"

	"greenroom/internal/greenroom"
)

// The providers a URL can be read through, as metric labels.
const (
	providerGitHub = "github"
	providerGitLab = "gitlab"
	providerURL    = "url"
)

// maxURLBytes bounds the URLs Greenroom agrees to read.
const maxURLBytes = 8 << 10

// target is what one read requests: the URL after rewriting and the headers
// the integration adds.
type target struct {
	url      *url.URL
	header   http.Header
	provider string
	// integration is the configured host the URL matched ("" for plain
	// URLs), for messages.
	integration string
	hasToken    bool
}

// parseURL checks that raw is an absolute http(s) URL.
func parseURL(raw string) (*url.URL, error) {
	if len(raw) > maxURLBytes {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "urlread: the URL is %d bytes long, more than the limit of %d", len(raw), maxURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "urlread: %q is not an absolute http:// or https:// URL", raw)
	}
	return u, nil
}

// hostKey is the host of u as Backstage's URL.host compares it: lower case,
// with the port only when it is not the scheme's default.
func hostKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != defaultPort(u.Scheme) {
		host += ":" + p
	}
	return host
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// hostOf returns the hostKey of an absolute URL, or "" when it does not parse.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return hostKey(u)
}

// displayURL renders u for messages, without a password.
func displayURL(u *url.URL) string { return u.Redacted() }

// resolve picks the integration for u by host, as Backstage's UrlReaders do
// (the first configured one wins), and rewrites the URL.
func (r *Reader) resolve(u *url.URL) (target, error) {
	h := hostKey(u)
	for _, g := range r.github {
		if g.cfg.Host == h {
			return g.target(u)
		}
	}
	for _, g := range r.gitlab {
		if g.cfg.Host == h {
			return g.target(u)
		}
	}
	return target{url: u, header: http.Header{}, provider: providerURL}, nil
}

// escapedSegments splits the escaped path of u at '/' without the leading
// empty segment.
func escapedSegments(u *url.URL) []string {
	return strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
}
