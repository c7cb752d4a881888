package urlread

import (
	"net/http"
	"net/url"
	"strings"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// gitlabHost reads the file URLs of one integrations.gitlab entry.
type gitlabHost struct {
	cfg config.GitLabIntegration
	// relative is the path of baseUrl ("/gitlab" for an instance served
	// under https://acme.dev/gitlab), "" at the root.
	relative string
}

func newGitLabHost(cfg config.GitLabIntegration) gitlabHost {
	g := gitlabHost{cfg: cfg}
	if u, err := url.Parse(cfg.BaseURL); err == nil {
		g.relative = strings.TrimRight(u.EscapedPath(), "/")
	}
	return g
}

// target rewrites a GitLab URL the way Backstage's GitlabUrlReader does,
// without the project-id lookup (the API takes the URL-encoded path):
//
//	https://gitlab.com/g/sub/p/-/blob/<ref>/path
//	→ <apiBaseUrl>/projects/g%2Fsub%2Fp/repository/files/path/raw?ref=<ref>
//
// A ?ref= query names a ref that contains slashes. Job artifact URLs
// (…/-/jobs/artifacts/<ref>/raw/<path>?job=<name>) go to the artifacts API,
// and URLs already in the files API form are read as they are.
func (g gitlabHost) target(u *url.URL) (target, error) {
	p := u.EscapedPath()
	var fetch string
	switch {
	case strings.Contains(p, "/api/v4/projects/") && strings.Contains(p, "/repository/files/") && strings.HasSuffix(p, "/raw"):
		fetch = u.String()
	case strings.Contains(p, "/-/jobs/artifacts/"):
		project, rest, _ := strings.Cut(p, "/-/jobs/artifacts/")
		enc, err := g.project(project)
		if err != nil || rest == "" {
			return target{}, g.invalid(u)
		}
		fetch = g.cfg.APIBaseURL + "/projects/" + enc + "/jobs/artifacts/" + rest
		if u.RawQuery != "" {
			fetch += "?" + u.RawQuery
		}
	case strings.Contains(p, "/blob/"):
		project, _, _ := strings.Cut(p, "/blob/")
		project = strings.TrimSuffix(project, "/-")
		enc, err := g.project(project)
		if err != nil {
			return target{}, g.invalid(u)
		}
		_, refAndFile, _ := strings.Cut(p, "/blob/")
		ref, file, err := splitRef(refAndFile, u.Query().Get("ref"))
		if err != nil || ref == "" || file == "" {
			return target{}, greenroom.Errorf(greenroom.CodeInvalid,
				"urlread: %s names no file; expected https://%s/<group>/<project>/-/blob/<ref>/<path>", displayURL(u), g.cfg.Host)
		}
		fetch = g.cfg.APIBaseURL + "/projects/" + enc + "/repository/files/" + url.PathEscape(file) + "/raw?ref=" + url.QueryEscape(ref)
	default:
		return target{}, g.invalid(u)
	}
	fu, err := url.Parse(fetch)
	if err != nil {
		return target{}, greenroom.Errorf(greenroom.CodeInvalid, "urlread: %s: cannot build the GitLab URL to read: %w", displayURL(u), err)
	}
	h := http.Header{}
	token := g.cfg.Token.Reveal()
	if token != "" {
		// As Backstage's getGitLabRequestOptions: personal, project, group
		// and OAuth tokens all work as Bearer. Unlike PRIVATE-TOKEN, Go's
		// client drops this header when a redirect leaves the host.
		h.Set("Authorization", "Bearer "+token)
	}
	return target{url: fu, header: h, provider: providerGitLab, integration: g.cfg.Host, hasToken: token != ""}, nil
}

func (g gitlabHost) invalid(u *url.URL) error {
	return greenroom.Errorf(greenroom.CodeInvalid,
		"urlread: %s is not a GitLab file URL; expected https://%s/<group>/<project>/-/blob/<ref>/<path>", displayURL(u), g.cfg.Host)
}

// project turns the escaped path before /-/blob/ into the URL-encoded
// project path the API takes, without the instance's relative path.
func (g gitlabHost) project(escaped string) (string, error) {
	if g.relative != "" {
		escaped = strings.TrimPrefix(escaped, g.relative)
	}
	p, err := url.PathUnescape(strings.Trim(escaped, "/"))
	if err != nil || p == "" {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "urlread: no project path")
	}
	return url.PathEscape(p), nil
}

// splitRef splits "<ref>/<file>" (escaped) into the decoded ref and file.
// The ref is the first segment unless refParam names a longer one whose
// segments lead the path, as Backstage's buildProjectUrl does.
func splitRef(escaped, refParam string) (ref, file string, err error) {
	segs := strings.Split(escaped, "/")
	n := 1
	if refParam != "" {
		rs := strings.Split(refParam, "/")
		match := len(rs) <= len(segs)
		for i := 0; match && i < len(rs); i++ {
			s, err := url.PathUnescape(segs[i])
			match = err == nil && s == rs[i]
		}
		if match {
			n = len(rs)
		}
	}
	if len(segs) <= n {
		return "", "", nil
	}
	if ref, err = url.PathUnescape(strings.Join(segs[:n], "/")); err != nil {
		return "", "", err
	}
	if file, err = url.PathUnescape(strings.Join(segs[n:], "/")); err != nil {
		return "", "", err
	}
	return ref, file, nil
}
