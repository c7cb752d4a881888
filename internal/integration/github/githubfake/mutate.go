package githubfake

import (
	"crypto/sha1" //nolint:gosec // git's object ids are SHA-1
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// User is a GitHub user to add.
type User struct {
	Login    string
	Name     string
	Email    string // public email; "" shows none
	Bio      string
	Company  string
	Location string
	// VerifiedEmails are the user's emails on the org's verified domains.
	VerifiedEmails []string
}

// Team is a team to add.
type Team struct {
	Slug        string
	Name        string // default: Slug
	Description string
	Privacy     string // "closed" (default) or "secret"
	Parent      string // parent team's slug
	Members     []string
}

// Repo is a repository to add.
type Repo struct {
	Name          string
	DefaultBranch string // default "main"
	Visibility    string // "public", "private" (default) or "internal"
	Description   string
	Fork          bool
	Archived      bool
	Topics        []string
	// Files are committed to the default branch in one commit; none leaves
	// the repository empty (no branches).
	Files map[string]string
}

const zeroSHA = "0000000000000000000000000000000000000000"

// AddOrg adds an organization.
func (s *Server) AddOrg(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgLocked(login) != nil {
		s.fatalf("organization %s exists", login)
	}
	s.orgs[lower(login)] = &org{login: login, id: s.id()}
}

// AddUser adds (or replaces the profile of) a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.ensureUser(u.Login)
	x.name, x.email, x.bio, x.company, x.location = u.Name, u.Email, u.Bio, u.Company, u.Location
	x.verifiedEmails = slices.Clone(u.VerifiedEmails)
}

func (s *Server) mustOrg(login string) *org {
	s.tb.Helper()
	o := s.orgLocked(login)
	if o == nil {
		s.fatalf("no organization %s", login)
	}
	return o
}

func (s *Server) mustRepo(orgLogin, name string) *repo {
	s.tb.Helper()
	r := s.mustOrg(orgLogin).repo(name)
	if r == nil {
		s.fatalf("no repository %s/%s", orgLogin, name)
	}
	return r
}

func (s *Server) mustTeam(o *org, slug string) *team {
	s.tb.Helper()
	t := o.team(slug)
	if t == nil {
		s.fatalf("no team %s/%s", o.login, slug)
	}
	return t
}

// AddMember makes login a member of org (organization member_added).
func (s *Server) AddMember(orgLogin, login string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	u := s.ensureUser(login)
	if !o.hasMember(login) {
		o.members = append(o.members, u.login)
	}
	return s.deliver("organization", map[string]any{"action": "member_added", "membership": s.membership(o, u)}, o)
}

// RemoveMember removes login from org and its teams (organization
// member_removed).
func (s *Server) RemoveMember(orgLogin, login string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	u := s.ensureUser(login)
	o.members = slices.DeleteFunc(o.members, func(m string) bool { return strings.EqualFold(m, login) })
	for _, t := range o.teams {
		t.members = slices.DeleteFunc(t.members, func(m string) bool { return strings.EqualFold(m, login) })
	}
	return s.deliver("organization", map[string]any{"action": "member_removed", "membership": s.membership(o, u)}, o)
}

func (s *Server) membership(o *org, u *user) map[string]any {
	api := s.APIBaseURL() + "/orgs/" + o.login
	return map[string]any{"url": api + "/memberships/" + u.login, "state": "active", "role": "member",
		"organization_url": api, "user": s.userAccount(u)}
}

// AddTeam adds a team (team created); its members join the org.
func (s *Server) AddTeam(orgLogin string, t Team) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	if o.team(t.Slug) != nil {
		s.fatalf("team %s/%s exists", orgLogin, t.Slug)
	}
	nt := &team{id: s.id(), slug: t.Slug, name: t.Name, description: t.Description, privacy: t.Privacy}
	if nt.name == "" {
		nt.name = t.Slug
	}
	if nt.privacy == "" {
		nt.privacy = "closed"
	}
	if t.Parent != "" {
		nt.parent = s.mustTeam(o, t.Parent)
	}
	for _, m := range t.Members {
		u := s.ensureUser(m)
		nt.members = append(nt.members, u.login)
		if !o.hasMember(m) {
			o.members = append(o.members, u.login)
		}
	}
	o.teams = append(o.teams, nt)
	return s.deliver("team", map[string]any{"action": "created", "team": s.teamObject(o, nt, true)}, o)
}

// DeleteTeam deletes a team (team deleted); its children move to its
// parent, as GitHub does.
func (s *Server) DeleteTeam(orgLogin, slug string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	t := s.mustTeam(o, slug)
	payload := map[string]any{"action": "deleted", "team": s.teamObject(o, t, true)}
	for _, c := range o.teams {
		if c.parent == t {
			c.parent = t.parent
		}
	}
	o.teams = slices.DeleteFunc(o.teams, func(x *team) bool { return x == t })
	return s.deliver("team", payload, o)
}

// SetTeamParent moves a team under parent ("" makes it top-level) (team
// edited).
func (s *Server) SetTeamParent(orgLogin, slug, parent string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	t := s.mustTeam(o, slug)
	var from any
	if t.parent != nil {
		from = s.teamObject(o, t.parent, false)
	}
	t.parent = nil
	if parent != "" {
		t.parent = s.mustTeam(o, parent)
	}
	return s.deliver("team", map[string]any{"action": "edited", "team": s.teamObject(o, t, true),
		"changes": map[string]any{"parent": map[string]any{"from": from}}}, o)
}

// AddTeamMember adds login to a team (membership added).
func (s *Server) AddTeamMember(orgLogin, slug, login string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	t := s.mustTeam(o, slug)
	u := s.ensureUser(login)
	if !slices.ContainsFunc(t.members, func(m string) bool { return strings.EqualFold(m, login) }) {
		t.members = append(t.members, u.login)
	}
	if !o.hasMember(login) {
		o.members = append(o.members, u.login)
	}
	return s.deliver("membership", map[string]any{"action": "added", "scope": "team", "member": s.userAccount(u), "team": s.teamObject(o, t, true)}, o)
}

// RemoveTeamMember removes login from a team (membership removed).
func (s *Server) RemoveTeamMember(orgLogin, slug, login string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	t := s.mustTeam(o, slug)
	u := s.ensureUser(login)
	t.members = slices.DeleteFunc(t.members, func(m string) bool { return strings.EqualFold(m, login) })
	return s.deliver("membership", map[string]any{"action": "removed", "scope": "team", "member": s.userAccount(u), "team": s.teamObject(o, t, true)}, o)
}

// AddRepo adds a repository (repository created), with its files in one
// commit on the default branch.
func (s *Server) AddRepo(orgLogin string, r Repo) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	if o.repo(r.Name) != nil {
		s.fatalf("repository %s/%s exists", orgLogin, r.Name)
	}
	now := s.now().UTC().Truncate(time.Second)
	nr := &repo{
		id: s.id(), name: r.Name, org: o, description: r.Description, defaultBranch: r.DefaultBranch,
		visibility: r.Visibility, fork: r.Fork, archived: r.Archived, topics: slices.Clone(r.Topics),
		createdAt: now, updatedAt: now, pushedAt: now,
		branches: map[string]*commit{}, commits: map[string]*commit{},
	}
	if nr.defaultBranch == "" {
		nr.defaultBranch = "main"
	}
	if nr.visibility == "" {
		nr.visibility = "private"
	}
	if len(r.Files) > 0 {
		s.commit(nr, nr.defaultBranch, "Initial commit", r.Files, nil)
	}
	o.repos = append(o.repos, nr)
	return s.deliver("repository", map[string]any{"action": "created", "repository": s.repoObject(nr, false)}, o)
}

// commit makes a commit on branch setting files and removing paths, and
// returns it with its parent and the paths added, modified and removed.
func (s *Server) commit(r *repo, branch, message string, set map[string]string, remove []string) (c, parent *commit, added, modified, removed []string) {
	parent = r.branches[branch]
	if parent == nil && branch != r.defaultBranch {
		parent = r.branches[r.defaultBranch] // a new branch starts from the default one
	}
	files := map[string]string{}
	if parent != nil {
		files = maps.Clone(parent.files)
	}
	for _, p := range slices.Sorted(maps.Keys(set)) {
		p2 := strings.Trim(p, "/")
		if _, ok := files[p2]; ok {
			modified = append(modified, p2)
		} else {
			added = append(added, p2)
		}
		files[p2] = set[p]
	}
	for _, p := range remove {
		p2 := strings.Trim(p, "/")
		if _, ok := files[p2]; !ok {
			s.fatalf("%s/%s@%s: no file %s to delete", r.org.login, r.name, branch, p2)
		}
		delete(files, p2)
		removed = append(removed, p2)
	}
	s.commitSeq++
	tree := buildTree(files)
	parentSHA := ""
	if parent != nil {
		parentSHA = parent.sha
	}
	h := sha1.New() //nolint:gosec
	fmt.Fprintf(h, "tree %s\nparent %s\n%d\n%s", tree.sha, parentSHA, s.commitSeq, message)
	now := s.now().UTC().Truncate(time.Second)
	c = &commit{sha: hex.EncodeToString(h.Sum(nil)), parent: parent, files: files, tree: tree, message: message, time: now}
	r.branches[branch] = c
	r.commits[c.sha] = c
	// GitHub's timestamps have one-second resolution; a push always moves
	// pushed_at forward, so that listings (and their ETags) change even
	// when two pushes fall in the same second, as two real pushes never do.
	if !now.After(r.pushedAt) {
		now = r.pushedAt.Add(time.Second)
	}
	r.pushedAt, r.updatedAt = now, now
	return c, parent, added, modified, removed
}

// PushFile commits path with content to branch (push).
func (s *Server) PushFile(orgLogin, repoName, branch, path, content string) Delivery {
	return s.Push(orgLogin, repoName, branch, "Update "+path, map[string]string{path: content}, nil)
}

// DeleteFile commits the removal of path from branch (push).
func (s *Server) DeleteFile(orgLogin, repoName, branch, path string) Delivery {
	return s.Push(orgLogin, repoName, branch, "Delete "+path, nil, []string{path})
}

// Push commits files set and paths removed to branch in one commit and
// returns the push delivery.
func (s *Server) Push(orgLogin, repoName, branch, message string, set map[string]string, remove []string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(orgLogin, repoName)
	existed := r.branches[branch] != nil
	c, parent, added, modified, removed := s.commit(r, branch, message, set, remove)
	before := zeroSHA
	if existed && parent != nil {
		before = parent.sha
	}
	actor := s.ensureUser(s.cfg.Actor)
	person := map[string]any{"name": cmpOr(actor.name, actor.login), "email": s.actorEmail(actor), "username": actor.login}
	full := r.org.login + "/" + r.name
	commitObj := map[string]any{
		"id": c.sha, "tree_id": c.tree.sha, "distinct": true, "message": message,
		"timestamp": c.time.Format("2006-01-02T15:04:05Z07:00"), "url": s.htmlURL("/" + full + "/commit/" + c.sha),
		"author": person, "committer": person,
		"added": nonNil(added), "removed": nonNil(removed), "modified": nonNil(modified),
	}
	repoObj := s.repoObject(r, true)
	owner := repoObj["owner"].(map[string]any)
	owner["name"], owner["email"] = r.org.login, nil
	return s.deliver("push", map[string]any{
		"ref": "refs/heads/" + branch, "before": before, "after": c.sha,
		"created": !existed, "deleted": false, "forced": false, "base_ref": nil,
		"compare":     s.htmlURL("/" + full + "/compare/" + before[:12] + "..." + c.sha[:12]),
		"commits":     []any{commitObj},
		"head_commit": commitObj,
		"repository":  repoObj,
		"pusher":      map[string]any{"name": actor.login, "email": s.actorEmail(actor)},
	}, r.org)
}

func (s *Server) actorEmail(u *user) string {
	if u.email != "" {
		return u.email
	}
	return fmt.Sprintf("%d+%s@users.noreply.%s", u.id, u.login, s.cfg.Host)
}

func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// RenameRepo renames a repository (repository renamed).
func (s *Server) RenameRepo(orgLogin, oldName, newName string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	r := s.mustRepo(orgLogin, oldName)
	if o.repo(newName) != nil {
		s.fatalf("repository %s/%s exists", orgLogin, newName)
	}
	from := r.name
	r.name, r.updatedAt = newName, s.now().UTC().Truncate(time.Second)
	return s.deliver("repository", map[string]any{
		"action": "renamed", "repository": s.repoObject(r, false),
		"changes": map[string]any{"repository": map[string]any{"name": map[string]any{"from": from}}},
	}, o)
}

// ArchiveRepo archives a repository (repository archived).
func (s *Server) ArchiveRepo(orgLogin, name string) Delivery {
	return s.setArchived(orgLogin, name, true)
}

// UnarchiveRepo unarchives a repository (repository unarchived).
func (s *Server) UnarchiveRepo(orgLogin, name string) Delivery {
	return s.setArchived(orgLogin, name, false)
}

func (s *Server) setArchived(orgLogin, name string, archived bool) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(orgLogin, name)
	r.archived, r.updatedAt = archived, s.now().UTC().Truncate(time.Second)
	action := "archived"
	if !archived {
		action = "unarchived"
	}
	return s.deliver("repository", map[string]any{"action": action, "repository": s.repoObject(r, false)}, r.org)
}

// DeleteRepo deletes a repository (repository deleted).
func (s *Server) DeleteRepo(orgLogin, name string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	r := s.mustRepo(orgLogin, name)
	payload := map[string]any{"action": "deleted", "repository": s.repoObject(r, false)}
	o.repos = slices.DeleteFunc(o.repos, func(x *repo) bool { return x == r })
	return s.deliver("repository", payload, o)
}

// TransferRepo moves a repository to another organization (repository
// transferred, as the new owner's hooks receive it).
func (s *Server) TransferRepo(orgLogin, name, toOrg string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.mustOrg(orgLogin)
	to := s.mustOrg(toOrg)
	r := s.mustRepo(orgLogin, name)
	if to.repo(name) != nil {
		s.fatalf("repository %s/%s exists", toOrg, name)
	}
	from.repos = slices.DeleteFunc(from.repos, func(x *repo) bool { return x == r })
	r.org, r.updatedAt = to, s.now().UTC().Truncate(time.Second)
	to.repos = append(to.repos, r)
	return s.deliver("repository", map[string]any{
		"action": "transferred", "repository": s.repoObject(r, false),
		"changes": map[string]any{"owner": map[string]any{"from": map[string]any{"organization": s.orgAccount(from)}}},
	}, to)
}

// SetVisibility changes a repository's visibility (repository publicized
// when it becomes public, privatized when it stops being public).
func (s *Server) SetVisibility(orgLogin, name, visibility string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(orgLogin, name)
	was := r.visibility
	r.visibility, r.updatedAt = visibility, s.now().UTC().Truncate(time.Second)
	action := "privatized"
	if visibility == "public" {
		action = "publicized"
	} else if was != "public" {
		action = "edited"
	}
	return s.deliver("repository", map[string]any{"action": action, "repository": s.repoObject(r, false)}, r.org)
}

// InstallApp installs the App on org (installation created) and returns
// the installation id.
func (s *Server) InstallApp(orgLogin string) (int64, Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	if o.installation(s) != nil {
		s.fatalf("app already installed on %s", orgLogin)
	}
	in := &installation{id: s.id(), org: o, createdAt: s.now().UTC().Truncate(time.Second)}
	s.installations[in.id] = in
	return in.id, s.installationDelivery("created", in)
}

// SuspendInstallation suspends the App's installation on org
// (installation suspend): token minting then fails with 403.
func (s *Server) SuspendInstallation(orgLogin string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustOrg(orgLogin)
	in := o.installation(s)
	if in == nil {
		s.fatalf("app not installed on %s", orgLogin)
	}
	in.suspended = true
	for tok, it := range s.instTokens {
		if it.inst == in {
			delete(s.instTokens, tok)
		}
	}
	return s.installationDelivery("suspend", in)
}

// ExpireTokens revokes every installation token, as if they had expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.instTokens)
}

func (s *Server) installationDelivery(action string, in *installation) Delivery {
	obj := s.installationObject(in)
	obj["created_at"], obj["updated_at"] = in.createdAt.Unix(), in.createdAt.Unix()
	repos := []any{}
	for _, r := range in.org.repos {
		repos = append(repos, map[string]any{"id": r.id, "node_id": nodeID("Repository", r.id), "name": r.name,
			"full_name": in.org.login + "/" + r.name, "private": r.visibility != "public"})
	}
	return s.deliver("installation", map[string]any{"action": action, "installation": obj, "repositories": repos, "requester": nil}, nil)
}

// InstallationTokenValid reports whether token is an unexpired token of
// the App's installation on orgLogin, as a git host fronted by GitHub
// checks the password of an HTTPS clone.
func (s *Server) InstallationTokenValid(orgLogin, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.instTokens[token]
	if !ok || !s.now().Before(it.expires) || it.inst.suspended {
		return false
	}
	o := s.orgLocked(orgLogin)
	return o != nil && o.installation(s) == it.inst
}
