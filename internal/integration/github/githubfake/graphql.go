package githubfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The GraphQL endpoint answers the operations Greenroom sends, recognised
// by operation name (repositories, repository, users, teams, members) and
// read through their variables. Answers carry only the fields the query
// text selects, GitHub's pageInfo, rateLimit and error shapes, and cost
// points as GitHub counts them.

type gqlRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

var opName = regexp.MustCompile(`^\s*query\s+([A-Za-z_][A-Za-z0-9_]*)`)

func gqlErrors(errs ...map[string]any) reply {
	return reply{value: map[string]any{"errors": errs}}
}

func gqlMessage(msg string) map[string]any {
	return map[string]any{"message": msg, "locations": []any{map[string]int{"line": 1, "column": 1}}}
}

func (s *Server) graphql(r *http.Request, p principal) reply {
	if p.kind == "anonymous" {
		return errorReply(http.StatusUnauthorized, "This endpoint requires you to be authenticated.",
			"https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql")
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return errorReply(http.StatusBadRequest, "Problems parsing JSON", docsREST)
	}
	var req gqlRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return errorReply(http.StatusBadRequest, "Problems parsing JSON", docsREST)
	}
	if req.Query == "" {
		return gqlErrors(gqlMessage("A query attribute must be specified and must be a string."))
	}
	op := req.OperationName
	if op == "" {
		if m := opName.FindStringSubmatch(req.Query); m != nil {
			op = m[1]
		}
	}
	q := gqlQuery{text: req.Query, vars: req.Variables, seen: map[string]bool{}}
	switch op {
	case "repositories":
		return s.gqlRepositories(q, p)
	case "repository":
		return s.gqlRepository(q, p)
	case "users":
		return s.gqlUsers(q, p)
	case "teams":
		return s.gqlTeams(q, p)
	case "members":
		return s.gqlMembers(q, p)
	}
	return gqlErrors(gqlMessage(fmt.Sprintf("githubfake: operation %q is not one the fake answers", op)))
}

type gqlQuery struct {
	text string
	vars map[string]any
	seen map[string]bool // memo of selects
}

// varProblem is GitHub's error for a variable that is missing or of the
// wrong type.
func varProblem(name, typ string, value any) map[string]any {
	return map[string]any{
		"message":    fmt.Sprintf("Variable $%s of type %s was provided invalid value", name, typ),
		"locations":  []any{map[string]int{"line": 1, "column": 1}},
		"extensions": map[string]any{"value": value, "problems": []any{map[string]any{"path": []any{}, "explanation": "Expected value to not be null"}}},
	}
}

func (q gqlQuery) str(name string) (string, map[string]any) {
	v, ok := q.vars[name].(string)
	if !ok || !strings.Contains(q.text, "$"+name) {
		return "", varProblem(name, "String!", q.vars[name])
	}
	return v, nil
}

func (q gqlQuery) integer(name string) (int, map[string]any) {
	v, ok := q.vars[name].(float64)
	if !ok || v != math.Trunc(v) || !strings.Contains(q.text, "$"+name) {
		return 0, varProblem(name, "Int!", q.vars[name])
	}
	return int(v), nil
}

func (q gqlQuery) boolean(name string) (bool, map[string]any) {
	v, ok := q.vars[name].(bool)
	if !ok {
		return false, varProblem(name, "Boolean!", q.vars[name])
	}
	return v, nil
}

// offset decodes the $cursor variable (null: the start).
func (q gqlQuery) offset() (int, map[string]any) {
	v, ok := q.vars["cursor"]
	if !ok || v == nil {
		return 0, nil
	}
	c, ok := v.(string)
	if raw, err := base64.StdEncoding.DecodeString(c); ok && err == nil {
		if n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "cursor:v2:")); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, gqlMessage(fmt.Sprintf("`%v` does not appear to be a valid cursor.", v))
}

func cursor(n int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(n)))
}

// selects reports whether the query text selects field (as a whole word).
func (q gqlQuery) selects(field string) bool {
	if v, ok := q.seen[field]; ok {
		return v
	}
	v := q.scan(field)
	q.seen[field] = v
	return v
}

func (q gqlQuery) scan(field string) bool {
	for i := 0; ; {
		j := strings.Index(q.text[i:], field)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(field)
		before := start == 0 || !isIdent(q.text[start-1])
		after := end == len(q.text) || !isIdent(q.text[end])
		if before && after {
			return true
		}
		i = end
	}
}

func isIdent(b byte) bool {
	return b == '_' || b == '$' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// pick keeps the fields of m the query selects.
func (q gqlQuery) pick(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if q.selects(k) {
			out[k] = v
		}
	}
	return out
}

// checkFirst enforces GitHub's bounds on a connection's first argument.
func checkFirst(conn string, first int) map[string]any {
	if first > 100 {
		return gqlMessage(fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `first` limit of 100 records.", first, conn))
	}
	if first < 1 {
		return gqlMessage(fmt.Sprintf("`first` on the `%s` connection cannot be less than 1", conn))
	}
	return nil
}

// cost is GitHub's query cost: the requests the connections need, over
// 100, rounded, at least 1.
func cost(requests int) int {
	return max(1, int(math.Round(float64(requests)/100)))
}

// finish wraps data with rateLimit when selected and charges cost.
func (s *Server) finish(q gqlQuery, p principal, data map[string]any, points int, errs []map[string]any) reply {
	if q.selects("rateLimit") {
		b := s.bucket(p, "graphql")
		data["rateLimit"] = q.pick(map[string]any{
			"cost": points, "limit": b.limit, "used": b.used + points,
			"remaining": max(b.limit-b.used-points, 0), "resetAt": b.reset.UTC().Format(time.RFC3339),
		})
	}
	body := map[string]any{"data": data}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	return reply{value: body, cost: points}
}

func page2[T any](items []T, offset, first int) ([]T, map[string]any) {
	lo := min(offset, len(items))
	hi := min(lo+first, len(items))
	info := map[string]any{"hasNextPage": hi < len(items), "endCursor": nil}
	if hi > lo {
		info["endCursor"] = cursor(hi)
	}
	return items[lo:hi], info
}

var objectAlias = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*:\s*object\s*\(`)

func (s *Server) repoNode(q gqlQuery, r *repo, expr string) map[string]any {
	topics := []any{}
	for _, t := range r.topics {
		topics = append(topics, map[string]any{"topic": map[string]any{"name": t}})
	}
	node := map[string]any{
		"name": r.name, "nameWithOwner": r.org.login + "/" + r.name, "url": s.htmlURL("/" + r.org.login + "/" + r.name),
		"isArchived": r.archived, "isFork": r.fork, "visibility": strings.ToUpper(r.visibility),
		"pushedAt": ts(r.pushedAt), "repositoryTopics": map[string]any{"nodes": topics}, "defaultBranchRef": nil,
	}
	if head := r.branches[r.defaultBranch]; head != nil {
		node["defaultBranchRef"] = map[string]any{"name": r.defaultBranch, "target": map[string]any{"oid": head.sha}}
	}
	node = q.pick(node)
	if strings.Contains(q.text, "object(") {
		alias := "object"
		if m := objectAlias.FindStringSubmatch(q.text); m != nil {
			alias = m[1]
		}
		node[alias] = s.object(q, r, expr)
	}
	return node
}

// object resolves a "REF:PATH" expression to a Blob or Tree, or nil.
func (s *Server) object(q gqlQuery, r *repo, expr string) any {
	ref, p, ok := strings.Cut(expr, ":")
	if !ok {
		return nil
	}
	c := r.resolve(ref)
	if c == nil {
		return nil
	}
	e, ok := c.tree.lookup(p)
	if !ok {
		return nil
	}
	if e.typ == "tree" {
		return map[string]any{"__typename": "Tree"}
	}
	content := c.files[strings.Trim(p, "/")]
	binary := strings.ContainsRune(content, 0)
	var text any = content
	if binary {
		text = nil
	}
	blob := q.pick(map[string]any{
		"id": base64.StdEncoding.EncodeToString([]byte("Blob:" + e.sha)), "oid": e.sha, "text": text,
		"byteSize": len(content), "isTruncated": false, "isBinary": binary,
	})
	blob["__typename"] = "Blob"
	return blob
}

func (s *Server) gqlRepositories(q gqlQuery, p principal) reply {
	login, e1 := q.str("org")
	expr, e2 := q.str("catalogPathRef")
	first, e3 := q.integer("repositoriesPageSize")
	offset, e4 := q.offset()
	for _, e := range []map[string]any{e1, e2, e3, e4, checkFirst("repositories", first)} {
		if e != nil {
			return gqlErrors(e)
		}
	}
	o := s.orgLocked(login)
	if o == nil || !p.canSeeOrg(o) {
		return s.finish(q, p, map[string]any{"repositoryOwner": nil}, 1, nil)
	}
	var visible []*repo
	for _, r := range o.repos {
		if p.canSee(r) {
			visible = append(visible, r)
		}
	}
	items, info := page2(visible, offset, first)
	nodes := []any{}
	for _, r := range items {
		nodes = append(nodes, s.repoNode(q, r, expr))
	}
	owner := map[string]any{"login": o.login, "repositories": map[string]any{"nodes": nodes, "pageInfo": info}}
	// One request for the repositories, one per repository for its topics.
	return s.finish(q, p, map[string]any{"repositoryOwner": owner}, cost(1+first), nil)
}

func (s *Server) gqlRepository(q gqlQuery, p principal) reply {
	login, e1 := q.str("org")
	name, e2 := q.str("repoName")
	expr, e3 := q.str("catalogPathRef")
	for _, e := range []map[string]any{e1, e2, e3} {
		if e != nil {
			return gqlErrors(e)
		}
	}
	o := s.orgLocked(login)
	if o == nil || !p.canSeeOrg(o) {
		return s.finish(q, p, map[string]any{"repositoryOwner": nil}, 1, nil)
	}
	r := o.repo(name)
	if r == nil || !p.canSee(r) {
		return s.finish(q, p, map[string]any{"repositoryOwner": map[string]any{"repository": nil}}, 1, []map[string]any{{
			"type": "NOT_FOUND", "path": []any{"repositoryOwner", "repository"},
			"locations": []any{map[string]int{"line": 4, "column": 5}},
			"message":   fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", o.login, name),
		}})
	}
	return s.finish(q, p, map[string]any{"repositoryOwner": map[string]any{"repository": s.repoNode(q, r, expr)}}, 1, nil)
}

// gqlOrg finds the organization of $org or returns GitHub's NOT_FOUND.
func (s *Server) gqlOrg(q gqlQuery, p principal) (*org, *reply) {
	login, e := q.str("org")
	if e != nil {
		r := gqlErrors(e)
		return nil, &r
	}
	o := s.orgLocked(login)
	if o == nil || !p.canSeeOrg(o) {
		r := s.finish(q, p, map[string]any{"organization": nil}, 1, []map[string]any{{
			"type": "NOT_FOUND", "path": []any{"organization"}, "locations": []any{map[string]int{"line": 3, "column": 3}},
			"message": fmt.Sprintf("Could not resolve to an Organization with the login of '%s'.", login),
		}})
		return nil, &r
	}
	return o, nil
}

func (s *Server) userNode(q gqlQuery, o *org, login string, withEmail bool) map[string]any {
	u := s.ensureUser(login)
	emails := []string{}
	emails = append(emails, u.verifiedEmails...)
	node := q.pick(map[string]any{
		"avatarUrl": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", u.id), "bio": u.bio,
		"id": nodeID("User", u.id), "login": u.login, "name": nullable(u.name),
		"organizationVerifiedDomainEmails": emails,
	})
	if withEmail && q.selects("email") {
		node["email"] = u.email // GitHub gives "" for a user with no public email
	}
	return node
}

func (s *Server) gqlUsers(q gqlQuery, p principal) reply {
	o, errRep := s.gqlOrg(q, p)
	if errRep != nil {
		return *errRep
	}
	email, e1 := q.boolean("email")
	first, e2 := q.integer("organizationMembersPageSize")
	offset, e3 := q.offset()
	for _, e := range []map[string]any{e1, e2, e3, checkFirst("membersWithRole", first)} {
		if e != nil {
			return gqlErrors(e)
		}
	}
	items, info := page2(o.members, offset, first)
	nodes := []any{}
	for _, m := range items {
		nodes = append(nodes, s.userNode(q, o, m, email))
	}
	org := map[string]any{"membersWithRole": map[string]any{"pageInfo": q.pick(info), "nodes": nodes}}
	return s.finish(q, p, map[string]any{"organization": org}, 1, nil)
}

// teamMembers lists a team's members: immediate only when the query asks
// membership: IMMEDIATE, otherwise with child teams' (GitHub's default ALL).
func (s *Server) teamMembers(q gqlQuery, o *org, t *team) []string {
	if strings.Contains(q.text, "membership: IMMEDIATE") {
		return t.members
	}
	seen := map[string]bool{}
	var out []string
	var add func(t *team)
	add = func(t *team) {
		for _, m := range t.members {
			if !seen[lower(m)] {
				seen[lower(m)] = true
				out = append(out, m)
			}
		}
		for _, c := range o.teams {
			if c.parent == t {
				add(c)
			}
		}
	}
	add(t)
	return out
}

func (s *Server) gqlTeams(q gqlQuery, p principal) reply {
	o, errRep := s.gqlOrg(q, p)
	if errRep != nil {
		return *errRep
	}
	first, e1 := q.integer("teamsPageSize")
	membersFirst, e2 := q.integer("membersPageSize")
	offset, e3 := q.offset()
	for _, e := range []map[string]any{e1, e2, e3, checkFirst("teams", first), checkFirst("members", membersFirst)} {
		if e != nil {
			return gqlErrors(e)
		}
	}
	items, info := page2(o.teams, offset, first)
	nodes := []any{}
	for _, t := range items {
		members, minfo := page2(s.teamMembers(q, o, t), 0, membersFirst)
		mnodes := []any{}
		for _, m := range members {
			mnodes = append(mnodes, s.userNode(q, o, m, true))
		}
		node := q.pick(map[string]any{
			"slug": t.slug, "combinedSlug": o.login + "/" + t.slug, "name": t.name, "description": t.description,
			"avatarUrl":   fmt.Sprintf("https://avatars.githubusercontent.com/t/%d?v=4", t.id),
			"editTeamUrl": s.htmlURL("/orgs/" + o.login + "/teams/" + t.slug + "/edit"), "parentTeam": nil,
			"members": map[string]any{"pageInfo": q.pick(minfo), "nodes": mnodes},
		})
		if t.parent != nil && q.selects("parentTeam") {
			node["parentTeam"] = map[string]any{"slug": t.parent.slug}
		}
		nodes = append(nodes, node)
	}
	org := map[string]any{"teams": map[string]any{"pageInfo": q.pick(info), "nodes": nodes}}
	return s.finish(q, p, map[string]any{"organization": org}, cost(1+first), nil)
}

func (s *Server) gqlMembers(q gqlQuery, p principal) reply {
	o, errRep := s.gqlOrg(q, p)
	if errRep != nil {
		return *errRep
	}
	slug, e1 := q.str("teamSlug")
	first, e2 := q.integer("membersPageSize")
	offset, e3 := q.offset()
	for _, e := range []map[string]any{e1, e2, e3, checkFirst("members", first)} {
		if e != nil {
			return gqlErrors(e)
		}
	}
	t := o.team(slug)
	if t == nil {
		return s.finish(q, p, map[string]any{"organization": map[string]any{"team": nil}}, 1, nil)
	}
	items, info := page2(s.teamMembers(q, o, t), offset, first)
	nodes := []any{}
	for _, m := range items {
		nodes = append(nodes, s.userNode(q, o, m, true))
	}
	team := map[string]any{"members": map[string]any{"pageInfo": q.pick(info), "nodes": nodes}}
	return s.finish(q, p, map[string]any{"organization": map[string]any{"team": team}}, 1, nil)
}
