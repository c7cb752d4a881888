package githubfake

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	docsRepos    = "https://docs.github.com/rest/repos/repos#get-a-repository"
	docsOrgRepos = "https://docs.github.com/rest/repos/repos#list-organization-repositories"
	docsTrees    = "https://docs.github.com/rest/git/trees#get-a-tree"
	docsContents = "https://docs.github.com/rest/repos/contents#get-repository-content"
	docsTeams    = "https://docs.github.com/rest/teams/teams#list-teams"
	docsMembers  = "https://docs.github.com/rest/orgs/members#list-organization-members"
	docsUsers    = "https://docs.github.com/rest/users/users#get-a-user"
	docsApps     = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
)

func (s *Server) listOrgRepos(r *http.Request, p principal) reply {
	o := s.orgLocked(r.PathValue("org"))
	if o == nil || !p.canSeeOrg(o) {
		return notFound(docsOrgRepos)
	}
	typ := r.URL.Query().Get("type")
	items := []any{}
	for _, rp := range o.repos {
		if !p.canSee(rp) {
			continue
		}
		switch typ {
		case "public":
			if rp.visibility != "public" {
				continue
			}
		case "private":
			if rp.visibility == "public" {
				continue
			}
		case "forks":
			if !rp.fork {
				continue
			}
		case "sources":
			if rp.fork {
				continue
			}
		}
		items = append(items, s.repoObject(rp, false))
	}
	pageItems, h := page(s, r, items)
	return reply{value: pageItems, header: h}
}

// repoFor finds the repository a request names that p may see.
func (s *Server) repoFor(r *http.Request, p principal) *repo {
	o := s.orgLocked(r.PathValue("owner"))
	if o == nil {
		return nil
	}
	rp := o.repo(r.PathValue("repo"))
	if rp == nil || !p.canSee(rp) {
		return nil
	}
	return rp
}

func (s *Server) getRepo(r *http.Request, p principal) reply {
	rp := s.repoFor(r, p)
	if rp == nil {
		return notFound(docsRepos)
	}
	return reply{value: s.repoObject(rp, false)}
}

// resolve finds the commit a ref names: a branch, a commit SHA, or ""
// (the default branch).
func (rp *repo) resolve(ref string) *commit {
	if ref == "" || ref == "HEAD" {
		ref = rp.defaultBranch
	}
	if c, ok := rp.branches[ref]; ok {
		return c
	}
	if c, ok := rp.commits[ref]; ok {
		return c
	}
	return nil
}

func (s *Server) getTree(r *http.Request, p principal) reply {
	rp := s.repoFor(r, p)
	if rp == nil {
		return notFound(docsTrees)
	}
	if len(rp.branches) == 0 {
		return errorReply(http.StatusConflict, "Git Repository is empty.", docsTrees)
	}
	sha := r.PathValue("sha")
	var tree *treeNode
	if c := rp.resolve(sha); c != nil {
		tree = c.tree
	} else {
		for _, c := range rp.commits {
			if tree = c.tree.findTree(sha); tree != nil {
				break
			}
		}
	}
	if tree == nil {
		return notFound(docsTrees)
	}
	api := s.APIBaseURL() + "/repos/" + rp.org.login + "/" + rp.name
	_, recursive := r.URL.Query()["recursive"] // any value, even 0, recurses
	entries := []any{}
	truncated := false
	tree.walk("", recursive, func(p string, e treeEntry) {
		if len(entries) >= s.cfg.MaxTreeEntries {
			truncated = true
			return
		}
		m := map[string]any{"path": p, "mode": e.mode, "type": e.typ, "sha": e.sha}
		if e.typ == "blob" {
			m["size"] = e.size
			m["url"] = api + "/git/blobs/" + e.sha
		} else {
			m["url"] = api + "/git/trees/" + e.sha
		}
		entries = append(entries, m)
	})
	return reply{value: map[string]any{"sha": tree.sha, "url": api + "/git/trees/" + tree.sha, "tree": entries, "truncated": truncated}}
}

func (s *Server) getContents(r *http.Request, p principal) reply {
	rp := s.repoFor(r, p)
	if rp == nil {
		return notFound(docsContents)
	}
	if len(rp.branches) == 0 {
		return errorReply(http.StatusNotFound, "This repository is empty.", docsContents)
	}
	ref := r.URL.Query().Get("ref")
	c := rp.resolve(ref)
	if c == nil {
		return errorReply(http.StatusNotFound, "No commit found for the ref "+ref, docsContents)
	}
	filePath := strings.Trim(r.PathValue("path"), "/")
	e, ok := c.tree.lookup(filePath)
	if !ok {
		return notFound(docsContents)
	}
	full := rp.org.login + "/" + rp.name
	api := s.APIBaseURL() + "/repos/" + full
	if ref == "" {
		ref = rp.defaultBranch
	}
	describe := func(p string, e treeEntry) map[string]any {
		typ := "file"
		if e.typ == "tree" {
			typ = "dir"
		}
		self := api + "/contents/" + p + "?ref=" + ref
		m := map[string]any{
			"type": typ, "name": path.Base(p), "path": p, "sha": e.sha, "size": e.size, "url": self,
			"git_url":      api + "/git/" + map[string]string{"file": "blobs", "dir": "trees"}[typ] + "/" + e.sha,
			"html_url":     s.htmlURL("/" + full + "/" + map[string]string{"file": "blob", "dir": "tree"}[typ] + "/" + ref + "/" + p),
			"download_url": nil,
		}
		if typ == "file" {
			m["download_url"] = "https://raw.githubusercontent.com/" + full + "/" + ref + "/" + p
		}
		m["_links"] = map[string]any{"self": self, "git": m["git_url"], "html": m["html_url"]}
		return m
	}
	if e.typ == "tree" {
		items := []any{}
		for _, child := range e.sub.entries {
			items = append(items, describe(strings.TrimPrefix(filePath+"/"+child.name, "/"), child))
		}
		return reply{value: items}
	}
	content := c.files[filePath]
	if strings.Contains(r.Header.Get("Accept"), "raw") {
		return reply{body: []byte(content), header: http.Header{"Content-Type": {"application/vnd.github.raw; charset=utf-8"}}}
	}
	m := describe(filePath, e)
	m["encoding"] = "base64"
	m["content"] = wrap60(base64.StdEncoding.EncodeToString([]byte(content)))
	return reply{value: m}
}

// wrap60 breaks base64 text into lines of 60 characters, as GitHub does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

func (s *Server) listTeams(r *http.Request, p principal) reply {
	if p.kind == "anonymous" {
		return errorReply(http.StatusUnauthorized, "Requires authentication", docsTeams)
	}
	o := s.orgLocked(r.PathValue("org"))
	if o == nil || !p.canSeeOrg(o) {
		return notFound(docsTeams)
	}
	items := []any{}
	for _, t := range o.teams {
		items = append(items, s.teamObject(o, t, true))
	}
	pageItems, h := page(s, r, items)
	return reply{value: pageItems, header: h}
}

func (s *Server) listTeamMembers(r *http.Request, p principal) reply {
	if p.kind == "anonymous" {
		return errorReply(http.StatusUnauthorized, "Requires authentication", docsTeams)
	}
	o := s.orgLocked(r.PathValue("org"))
	if o == nil || !p.canSeeOrg(o) {
		return notFound(docsTeams)
	}
	t := o.team(r.PathValue("slug"))
	if t == nil {
		return notFound(docsTeams)
	}
	// GitHub's REST listing includes the members of child teams.
	seen := map[string]bool{}
	items := []any{}
	var add func(t *team)
	add = func(t *team) {
		for _, m := range t.members {
			if !seen[lower(m)] {
				seen[lower(m)] = true
				items = append(items, s.userAccount(s.ensureUser(m)))
			}
		}
		for _, child := range o.teams {
			if child.parent == t {
				add(child)
			}
		}
	}
	add(t)
	pageItems, h := page(s, r, items)
	return reply{value: pageItems, header: h}
}

func (s *Server) listMembers(r *http.Request, p principal) reply {
	o := s.orgLocked(r.PathValue("org"))
	if o == nil || !p.canSeeOrg(o) {
		return notFound(docsMembers)
	}
	items := []any{}
	for _, m := range o.members {
		items = append(items, s.userAccount(s.ensureUser(m)))
	}
	pageItems, h := page(s, r, items)
	return reply{value: pageItems, header: h}
}

func (s *Server) getUser(r *http.Request, _ principal) reply {
	u, ok := s.users[lower(r.PathValue("login"))]
	if !ok {
		return notFound(docsUsers)
	}
	return reply{value: s.userProfile(u)}
}

func (s *Server) getRateLimit(_ *http.Request, p principal) reply {
	res := map[string]any{}
	for _, name := range []string{"core", "graphql"} {
		b := s.bucket(p, name)
		res[name] = map[string]any{"limit": b.limit, "used": b.used, "remaining": max(b.limit-b.used, 0), "reset": b.reset.Unix()}
	}
	return reply{value: map[string]any{"resources": res, "rate": res["core"]}, free: true}
}

func (s *Server) getApp(*http.Request, principal) reply {
	owner := s.account("greenroom-test-owner", 1, "Organization")
	return reply{value: map[string]any{
		"id": s.cfg.AppID, "slug": "greenroom-test", "node_id": nodeID("App", s.cfg.AppID), "owner": owner,
		"name": "Greenroom Test", "description": "", "external_url": "https://greenroom.example.test",
		"html_url": s.htmlURL("/apps/greenroom-test"), "created_at": "2024-01-01T00:00:00Z",
		"updated_at": "2024-01-01T00:00:00Z", "permissions": appPermissions(), "events": appEvents(),
	}}
}

func (s *Server) listInstallations(r *http.Request, _ principal) reply {
	ids := make([]int64, 0, len(s.installations))
	for id := range s.installations {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	items := []any{}
	for _, id := range ids {
		items = append(items, s.installationObject(s.installations[id]))
	}
	pageItems, h := page(s, r, items)
	return reply{value: pageItems, header: h}
}

func (s *Server) createToken(r *http.Request, _ principal) reply {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	in, ok := s.installations[id]
	if err != nil || !ok {
		return notFound(docsApps)
	}
	if in.suspended {
		return errorReply(http.StatusForbidden, "This installation has been suspended", docsApps)
	}
	tok := "ghs_" + randomAlnum(36)
	expires := s.now().Add(s.cfg.TokenTTL).Truncate(time.Second)
	s.instTokens[tok] = &instToken{inst: in, expires: expires}
	return reply{status: http.StatusCreated, value: map[string]any{
		"token": tok, "expires_at": expires.UTC().Format(time.RFC3339),
		"permissions": appPermissions(), "repository_selection": "all",
	}}
}

func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
