package urlread

import (
	"net/http"
	"net/url"
	"strings"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// githubAccept asks both the contents API and raw hosts for the file's
// bytes, as Backstage's GithubUrlReader does.
const githubAccept = "application/vnd.github.v3.raw"

// githubHost reads the file URLs of one integrations.github entry.
type githubHost struct {
	cfg config.GitHubIntegration
}

// target rewrites a GitHub file URL the way Backstage's
// getGithubFileFetchUrl does:
//
//	https://github.com/o/r/blob/<ref>/path
//	→ <apiBaseUrl>/repos/o/r/contents/path?ref=<ref> (with a token, or without rawBaseUrl)
//	→ <rawBaseUrl>/o/r/<ref>/path                     (otherwise)
//
// tree and raw URLs are accepted like blob ones. A ?path= query names the
// file when the ref contains slashes (blob/feature/x?path=catalog.yaml).
func (g githubHost) target(u *url.URL) (target, error) {
	segs := escapedSegments(u)
	if len(segs) < 5 || segs[0] == "" || segs[1] == "" || segs[3] == "" ||
		(segs[2] != "blob" && segs[2] != "raw" && segs[2] != "tree") {
		return target{}, greenroom.Errorf(greenroom.CodeInvalid,
			"urlread: %s is not a GitHub file URL; expected https://%s/<owner>/<repo>/blob/<ref>/<path>", displayURL(u), g.cfg.Host)
	}
	owner, repo, ref := segs[0], segs[1], segs[3]
	file := strings.Join(segs[4:], "/")
	if p := u.Query().Get("path"); p != "" {
		ref += "/" + file
		parts := strings.Split(p, "/")
		for i, s := range parts {
			parts[i] = url.PathEscape(s)
		}
		file = strings.Join(parts, "/")
	}
	file = strings.TrimLeft(file, "/")
	decodedRef, err := url.PathUnescape(ref)
	if file == "" || err != nil {
		return target{}, greenroom.Errorf(greenroom.CodeInvalid,
			"urlread: %s names no file; expected https://%s/<owner>/<repo>/blob/<ref>/<path>", displayURL(u), g.cfg.Host)
	}

	token := g.cfg.Token.Reveal()
	var fetch string
	switch {
	case g.cfg.APIBaseURL != "" && (token != "" || g.cfg.RawBaseURL == ""):
		fetch = g.cfg.APIBaseURL + "/repos/" + owner + "/" + repo + "/contents/" + file + "?ref=" + url.QueryEscape(decodedRef)
	case g.cfg.RawBaseURL != "":
		fetch = g.cfg.RawBaseURL + "/" + owner + "/" + repo + "/" + ref + "/" + file
	default:
		return target{}, greenroom.Errorf(greenroom.CodeInvalid,
			"urlread: %s: the GitHub integration for %s has neither apiBaseUrl nor rawBaseUrl; set one under integrations.github", displayURL(u), g.cfg.Host)
	}
	fu, err := url.Parse(fetch)
	if err != nil {
		return target{}, greenroom.Errorf(greenroom.CodeInvalid, "urlread: %s: cannot build the GitHub URL to read: %w", displayURL(u), err)
	}
	h := http.Header{"Accept": {githubAccept}}
	if token != "" {
		// Backstage's credentials providers send tokens as Bearer; GitHub
		// accepts that form for every kind of token.
		h.Set("Authorization", "Bearer "+token)
	}
	return target{url: fu, header: h, provider: providerGitHub, integration: g.cfg.Host, hasToken: token != ""}, nil
}
