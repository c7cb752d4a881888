package github

import (
	"context"
	"fmt"
	"net/url"
)

// Tree is a git tree listed recursively (GET /repos/{o}/{r}/git/trees/{sha}).
type Tree struct {
	SHA     string      `json:"sha"`
	Entries []TreeEntry `json:"tree"`
	// Truncated is true when GitHub cut the listing (over 100,000 entries
	// or 7 MB); the caller must then not conclude a file is absent.
	Truncated bool `json:"truncated"`
}

// TreeEntry is one blob, tree or submodule ("commit") of a Tree.
type TreeEntry struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
	Type string `json:"type"`
	SHA  string `json:"sha"`
	Size int64  `json:"size"`
}

// Blobs returns the paths of the tree's files.
func (t Tree) Blobs() []string {
	var out []string
	for _, e := range t.Entries {
		if e.Type == "blob" {
			out = append(out, e.Path)
		}
	}
	return out
}

// Tree lists the tree of ref (a branch, tag or commit or tree SHA)
// recursively: one request finds every catalog file of a repository, and
// an unchanged tree answers 304. An empty repository is a conflict error
// (GitHub's 409), an unknown ref not_found.
func (c *Client) Tree(ctx context.Context, owner, repo, ref string) (Tree, error) {
	var t Tree
	path := "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/git/trees/" + url.PathEscape(ref)
	if err := c.getJSON(ctx, owner, path, url.Values{"recursive": {"1"}}, &t); err != nil {
		return t, fmt.Errorf("github: tree of %s/%s@%s: %w", owner, repo, ref, err)
	}
	return t, nil
}

// File returns the raw content of path at ref (a branch, tag or SHA; ""
// for the default branch) through the contents API, which answers 304 when
// unchanged. A missing file is not_found; one over Options.MaxFileBytes is
// too_large.
func (c *Client) File(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	var q url.Values
	if ref != "" {
		q = url.Values{"ref": {ref}}
	}
	req := request{
		url:      c.restURL("/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo)+"/contents/"+escapePath(path), q),
		owner:    owner,
		accept:   "application/vnd.github.raw+json",
		maxBytes: c.opts.MaxFileBytes,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("github: read %s/%s/%s@%s: %w", owner, repo, path, ref, err)
	}
	return resp.body, nil
}
