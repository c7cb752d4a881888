package github

import (
	"context"
	"fmt"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// RepoWithFile is a repository from the GraphQL listing together with one
// file read at a ref in the same query: the way to find a fixed-path
// catalog file in every repository without one request per repository.
type RepoWithFile struct {
	Name     string
	FullName string
	URL      string
	Archived bool
	Fork     bool
	// Visibility is lower-case as in REST: "public", "private", "internal".
	Visibility string
	Topics     []string
	// DefaultBranch is "" for an empty repository.
	DefaultBranch string
	// HeadOID is the commit the default branch points at: unchanged, so is
	// every file of the repository.
	HeadOID  string
	PushedAt time.Time
	// File is the file read, or nil when there is none at that path (or it
	// is a directory or submodule).
	File *Blob
}

// Blob is a file's content as GraphQL gives it.
type Blob struct {
	OID      string
	Text     string
	ByteSize int64
	// Truncated is true when GitHub cut Text (large files); Binary when Text
	// is empty because the file is not text. Read such files with File.
	Truncated bool
	Binary    bool
}

// The query selects what Backstage's GitHub entity provider selects
// (catalog-backend-module-github's getOrganizationRepositories), plus the
// repository's full name, push time, head commit and blob metadata.
const reposQuery = `query repositories($org: String!, $catalogPathRef: String!, $cursor: String, $repositoriesPageSize: Int!) {
  rateLimit { cost remaining resetAt }
  repositoryOwner(login: $org) {
    login
    repositories(first: $repositoriesPageSize, after: $cursor) {
      nodes {
` + repoFields + `
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`

const repoQuery = `query repository($org: String!, $repoName: String!, $catalogPathRef: String!) {
  rateLimit { cost remaining resetAt }
  repositoryOwner(login: $org) {
    repository(name: $repoName) {
` + repoFields + `
    }
  }
}`

const repoFields = `        name
        nameWithOwner
        url
        isArchived
        isFork
        visibility
        pushedAt
        repositoryTopics(first: 100) { nodes { ... on RepositoryTopic { topic { name } } } }
        defaultBranchRef { name target { oid } }
        catalogInfoFile: object(expression: $catalogPathRef) {
          __typename
          ... on Blob { id oid text byteSize isTruncated isBinary }
        }`

type gqlRepo struct {
	Name             string     `json:"name"`
	NameWithOwner    string     `json:"nameWithOwner"`
	URL              string     `json:"url"`
	IsArchived       bool       `json:"isArchived"`
	IsFork           bool       `json:"isFork"`
	Visibility       string     `json:"visibility"`
	PushedAt         *time.Time `json:"pushedAt"`
	RepositoryTopics struct {
		Nodes []struct {
			Topic struct {
				Name string `json:"name"`
			} `json:"topic"`
		} `json:"nodes"`
	} `json:"repositoryTopics"`
	DefaultBranchRef *struct {
		Name   string `json:"name"`
		Target *struct {
			OID string `json:"oid"`
		} `json:"target"`
	} `json:"defaultBranchRef"`
	CatalogInfoFile *struct {
		Typename    string  `json:"__typename"`
		OID         string  `json:"oid"`
		Text        *string `json:"text"`
		ByteSize    int64   `json:"byteSize"`
		IsTruncated bool    `json:"isTruncated"`
		IsBinary    bool    `json:"isBinary"`
	} `json:"catalogInfoFile"`
}

func (g gqlRepo) toRepo() RepoWithFile {
	r := RepoWithFile{
		Name: g.Name, FullName: g.NameWithOwner, URL: g.URL, Archived: g.IsArchived, Fork: g.IsFork,
		Visibility: strings.ToLower(g.Visibility),
	}
	if g.PushedAt != nil {
		r.PushedAt = *g.PushedAt
	}
	for _, n := range g.RepositoryTopics.Nodes {
		r.Topics = append(r.Topics, n.Topic.Name)
	}
	if b := g.DefaultBranchRef; b != nil {
		r.DefaultBranch = b.Name
		if b.Target != nil {
			r.HeadOID = b.Target.OID
		}
	}
	if f := g.CatalogInfoFile; f != nil && f.Typename == "Blob" {
		r.File = &Blob{OID: f.OID, ByteSize: f.ByteSize, Truncated: f.IsTruncated, Binary: f.IsBinary}
		if f.Text != nil {
			r.File.Text = *f.Text
		}
	}
	return r
}

// objectExpression is GraphQL's "REF:PATH" for a file: GitHub wants the
// path without a leading slash, and HEAD names the default branch.
func objectExpression(path, ref string) (string, error) {
	p := strings.TrimPrefix(path, "/")
	if p == "" || strings.ContainsAny(p, "*?[") {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "github: catalog path %q: want one file path, not a glob (list trees for globs)", path)
	}
	if ref == "" {
		ref = "HEAD"
	}
	return ref + ":" + p, nil
}

// OrgReposWithFile lists every repository of org with the file at path
// (such as "/catalog-info.yaml") read at ref ("" for each repository's
// default branch), RepoPageSize repositories per query.
func (c *Client) OrgReposWithFile(ctx context.Context, org, path, ref string) ([]RepoWithFile, error) {
	expr, err := objectExpression(path, ref)
	if err != nil {
		return nil, err
	}
	var out []RepoWithFile
	var cursor any // null on the first page
	for page := 0; ; page++ {
		if page >= maxGraphQLPages {
			return out, greenroom.Errorf(greenroom.CodeTooLarge, "github: repositories of %s: more than %d pages", org, maxGraphQLPages)
		}
		var data struct {
			RepositoryOwner *struct {
				Repositories struct {
					Nodes    []gqlRepo `json:"nodes"`
					PageInfo PageInfo  `json:"pageInfo"`
				} `json:"repositories"`
			} `json:"repositoryOwner"`
		}
		vars := map[string]any{"org": org, "catalogPathRef": expr, "cursor": cursor, "repositoriesPageSize": c.opts.RepoPageSize}
		if err := c.graphql(ctx, org, "repositories", reposQuery, vars, &data); err != nil {
			return out, fmt.Errorf("github: repositories of %s: %w", org, err)
		}
		if data.RepositoryOwner == nil {
			return out, greenroom.Errorf(greenroom.CodeNotFound, "github: repositories of %s: no such owner", org)
		}
		conn := data.RepositoryOwner.Repositories
		for _, n := range conn.Nodes {
			out = append(out, n.toRepo())
		}
		if !conn.PageInfo.HasNextPage {
			return out, nil
		}
		if conn.PageInfo.EndCursor == "" {
			return out, greenroom.Errorf(greenroom.CodeUnavailable, "github: repositories of %s: page %d has a next page but no cursor", org, page+1)
		}
		cursor = conn.PageInfo.EndCursor
	}
}

// RepoWithFile returns one repository with the file at path read at ref
// ("" for the default branch), as a webhook for that repository needs.
func (c *Client) RepoWithFile(ctx context.Context, owner, repo, path, ref string) (RepoWithFile, error) {
	expr, err := objectExpression(path, ref)
	if err != nil {
		return RepoWithFile{}, err
	}
	var data struct {
		RepositoryOwner *struct {
			Repository *gqlRepo `json:"repository"`
		} `json:"repositoryOwner"`
	}
	vars := map[string]any{"org": owner, "repoName": repo, "catalogPathRef": expr}
	if err := c.graphql(ctx, owner, "repository", repoQuery, vars, &data); err != nil {
		return RepoWithFile{}, fmt.Errorf("github: repository %s/%s: %w", owner, repo, err)
	}
	if data.RepositoryOwner == nil || data.RepositoryOwner.Repository == nil {
		return RepoWithFile{}, greenroom.Errorf(greenroom.CodeNotFound, "github: repository %s/%s not found", owner, repo)
	}
	return data.RepositoryOwner.Repository.toRepo(), nil
}
