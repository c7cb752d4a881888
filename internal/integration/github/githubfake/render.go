package githubfake

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// GitHub's JSON shapes, built from the fake's state. Maps marshal with
// sorted keys, so the same state always gives the same bytes (and ETag).

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nodeID is GitHub's legacy global node id: base64 of "0", the type name's
// length, ":", the type name and the database id.
func nodeID(typ string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte("0" + strconv.Itoa(len(typ)) + ":" + typ + strconv.FormatInt(id, 10)))
}

func (s *Server) htmlURL(path string) string { return "https://" + s.cfg.Host + path }

func (s *Server) account(login string, id int64, typ string) map[string]any {
	api := s.APIBaseURL()
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID(typ, id),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id": "", "url": api + "/users/" + login, "html_url": s.htmlURL("/" + login),
		"followers_url": api + "/users/" + login + "/followers", "repos_url": api + "/users/" + login + "/repos",
		"organizations_url": api + "/users/" + login + "/orgs", "events_url": api + "/users/" + login + "/events{/privacy}",
		"type": typ, "site_admin": false,
	}
}

func (s *Server) userAccount(u *user) map[string]any { return s.account(u.login, u.id, "User") }

func (s *Server) orgAccount(o *org) map[string]any { return s.account(o.login, o.id, "Organization") }

// orgObject is the "organization" object of webhook payloads.
func (s *Server) orgObject(o *org) map[string]any {
	api := s.APIBaseURL() + "/orgs/" + o.login
	return map[string]any{
		"login": o.login, "id": o.id, "node_id": nodeID("Organization", o.id), "url": api,
		"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
		"issues_url": api + "/issues", "members_url": api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", o.id), "description": "",
	}
}

// repoObject is a repository as REST and webhooks show it; push payloads
// write created_at and pushed_at as Unix seconds.
func (s *Server) repoObject(r *repo, epochTimes bool) map[string]any {
	full := r.org.login + "/" + r.name
	api := s.APIBaseURL() + "/repos/" + full
	created, pushed := ts(r.createdAt), ts(r.pushedAt)
	if epochTimes {
		created, pushed = r.createdAt.Unix(), r.pushedAt.Unix()
	}
	topics := r.topics
	if topics == nil {
		topics = []string{}
	}
	return map[string]any{
		"id": r.id, "node_id": nodeID("Repository", r.id), "name": r.name, "full_name": full,
		"private": r.visibility != "public", "owner": s.orgAccount(r.org), "html_url": s.htmlURL("/" + full),
		"description": nullable(r.description), "fork": r.fork, "url": api,
		"forks_url": api + "/forks", "teams_url": api + "/teams", "hooks_url": api + "/hooks",
		"branches_url": api + "/branches{/branch}", "tags_url": api + "/tags",
		"blobs_url": api + "/git/blobs{/sha}", "git_refs_url": api + "/git/refs{/sha}",
		"trees_url": api + "/git/trees{/sha}", "commits_url": api + "/commits{/sha}",
		"contents_url": api + "/contents/{+path}", "compare_url": api + "/compare/{base}...{head}",
		"created_at": created, "updated_at": ts(r.updatedAt), "pushed_at": pushed,
		"git_url": "git://" + s.cfg.Host + "/" + full + ".git", "ssh_url": "git@" + s.cfg.Host + ":" + full + ".git",
		"clone_url": s.htmlURL("/" + full + ".git"), "svn_url": s.htmlURL("/" + full),
		"homepage": nil, "size": len(r.branches), "stargazers_count": 0, "watchers_count": 0, "language": nil,
		"has_issues": true, "has_projects": true, "has_downloads": true, "has_wiki": true, "has_pages": false,
		"has_discussions": false, "forks_count": 0, "mirror_url": nil, "archived": r.archived, "disabled": false,
		"open_issues_count": 0, "license": nil, "allow_forking": true, "is_template": false,
		"web_commit_signoff_required": false, "topics": topics, "visibility": r.visibility,
		"forks": 0, "open_issues": 0, "watchers": 0, "default_branch": r.defaultBranch,
	}
}

func (s *Server) teamObject(o *org, t *team, withParent bool) map[string]any {
	api := fmt.Sprintf("%s/organizations/%d/team/%d", s.APIBaseURL(), o.id, t.id)
	m := map[string]any{
		"id": t.id, "node_id": nodeID("Team", t.id), "name": t.name, "slug": t.slug,
		"description": t.description, "privacy": t.privacy, "notification_setting": "notifications_enabled",
		"url": api, "html_url": s.htmlURL("/orgs/" + o.login + "/teams/" + t.slug),
		"members_url": api + "/members{/member}", "repositories_url": api + "/repos", "permission": "pull",
	}
	if withParent {
		if t.parent != nil {
			m["parent"] = s.teamObject(o, t.parent, false)
		} else {
			m["parent"] = nil
		}
	}
	return m
}

func (s *Server) userProfile(u *user) map[string]any {
	m := s.userAccount(u)
	m["name"] = nullable(u.name)
	m["company"] = nullable(u.company)
	m["blog"] = ""
	m["location"] = nullable(u.location)
	m["email"] = nullable(u.email)
	m["hireable"] = nil
	m["bio"] = nullable(u.bio)
	m["twitter_username"] = nil
	m["public_repos"] = 0
	m["public_gists"] = 0
	m["followers"] = 0
	m["following"] = 0
	m["created_at"] = "2020-01-01T00:00:00Z"
	m["updated_at"] = "2020-01-01T00:00:00Z"
	return m
}

func (s *Server) installationObject(in *installation) map[string]any {
	api := s.APIBaseURL()
	var suspendedBy, suspendedAt any
	if in.suspended {
		suspendedBy = s.userAccount(s.ensureUser(s.cfg.Actor))
		suspendedAt = ts(in.createdAt)
	}
	return map[string]any{
		"id": in.id, "account": s.orgAccount(in.org), "repository_selection": "all",
		"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", api, in.id),
		"repositories_url":  api + "/installation/repositories",
		"html_url":          s.htmlURL(fmt.Sprintf("/organizations/%s/settings/installations/%d", in.org.login, in.id)),
		"app_id":            s.cfg.AppID, "app_slug": "greenroom-test", "target_id": in.org.id, "target_type": "Organization",
		"permissions": appPermissions(), "events": appEvents(),
		"created_at": ts(in.createdAt), "updated_at": ts(in.createdAt),
		"single_file_name": nil, "has_multiple_single_files": false, "single_file_paths": []string{},
		"suspended_by": suspendedBy, "suspended_at": suspendedAt,
	}
}

func appPermissions() map[string]string {
	return map[string]string{"contents": "read", "metadata": "read", "members": "read"}
}

func appEvents() []string {
	return []string{"membership", "organization", "push", "repository", "team"}
}
