package github

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Repository is the part of GitHub's repository object discovery uses.
type Repository struct {
	ID            int64   `json:"id"`
	NodeID        string  `json:"node_id"`
	Name          string  `json:"name"`
	FullName      string  `json:"full_name"`
	Owner         Account `json:"owner"`
	HTMLURL       string  `json:"html_url"`
	Description   string  `json:"description"`
	DefaultBranch string  `json:"default_branch"`
	Private       bool    `json:"private"`
	Archived      bool    `json:"archived"`
	Disabled      bool    `json:"disabled"`
	Fork          bool    `json:"fork"`
	// Visibility is "public", "private" or "internal".
	Visibility string    `json:"visibility"`
	Topics     []string  `json:"topics"`
	PushedAt   time.Time `json:"pushed_at"`
}

// OrgRepos lists every repository of org the credentials can see
// (GET /orgs/{org}/repos, type=all, all pages). A second call answered by
// 304s costs no rate limit.
func (c *Client) OrgRepos(ctx context.Context, org string) ([]Repository, error) {
	repos, err := listAll[Repository](ctx, c, kindREST, org, "/orgs/"+url.PathEscape(org)+"/repos", url.Values{"type": {"all"}})
	if err != nil {
		return nil, fmt.Errorf("github: list repositories of %s: %w", org, err)
	}
	return repos, nil
}

// Repo returns one repository (GET /repos/{owner}/{repo}); an unknown or
// inaccessible one is a not_found error.
func (c *Client) Repo(ctx context.Context, owner, repo string) (Repository, error) {
	var r Repository
	if err := c.getJSON(ctx, owner, "/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo), nil, &r); err != nil {
		return r, fmt.Errorf("github: get repository %s/%s: %w", owner, repo, err)
	}
	return r, nil
}
