package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
)

var _ feishu.Publisher = GitPublisher{}

// GitPublisher commits a migration's files on a new branch of the local
// git repository they were written into (go-git, no git binary). The
// branch starts at HEAD and is checked out, keeping the working tree.
type GitPublisher struct {
	// Author of the commits; default Greenroom <greenroom@localhost>.
	Name, Email string
	Now         func() time.Time
	// GitHub finds the API base URL and token for a host (from
	// integrations.github); nil disables pull requests.
	GitHub func(host string) (apiBaseURL, token string, ok bool)
	// HTTP sends the API request; nil means a client with a 30 s timeout.
	HTTP *http.Client
}

// Publish implements feishu.Publisher.
func (p GitPublisher) Publish(ctx context.Context, dir, branch, message string, paths []string) (string, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: %s is not a git repository: %v", dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return "", fmt.Errorf("git: HEAD: %w", err)
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if _, err := repo.Reference(ref, false); err == nil {
		return "", greenroom.Errorf(greenroom.CodeConflict, "git: branch %s already exists", branch)
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", fmt.Errorf("git: %w", err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, head.Hash())); err != nil {
		return "", fmt.Errorf("git: create branch %s: %w", branch, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("git: worktree: %w", err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: ref, Keep: true}); err != nil {
		return "", fmt.Errorf("git: checkout %s: %w", branch, err)
	}
	for _, path := range paths {
		if _, err := wt.Add(path); err != nil {
			return "", fmt.Errorf("git: add %s: %w", path, err)
		}
	}
	name, email, now := p.Name, p.Email, p.Now
	if name == "" {
		name, email = "Greenroom", "greenroom@localhost"
	}
	if now == nil {
		now = time.Now
	}
	h, err := wt.Commit(message, &git.CommitOptions{Author: &object.Signature{Name: name, Email: email, When: now()}})
	if err != nil {
		return "", fmt.Errorf("git: commit: %w", err)
	}
	return h.String(), nil
}

// PullRequest implements feishu.Publisher: it pushes branch to origin
// (token authentication for https remotes) and opens a pull request with
// the GitHub REST API of origin's host.
func (p GitPublisher) PullRequest(ctx context.Context, dir, repoName, branch, base, title, body string) (string, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: %s is not a git repository: %v", dir, err)
	}
	origin, err := repo.Remote("origin")
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: the repository has no origin remote to push to")
	}
	remote := origin.Config().URLs[0]
	host, path := remoteHostPath(remote)
	if repoName == "" {
		repoName = path
	}
	if repoName == "" || strings.Count(repoName, "/") != 1 {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: cannot tell the GitHub repository from origin %q; set git.repo", remote)
	}
	if p.GitHub == nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: pull requests need an integrations.github entry")
	}
	apiBase, token, ok := p.GitHub(host)
	if !ok {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: no integrations.github entry with a token for %s", host)
	}
	var auth transport.AuthMethod
	if strings.HasPrefix(remote, "http://") || strings.HasPrefix(remote, "https://") {
		auth = &githttp.BasicAuth{Username: "x-access-token", Password: token}
	}
	spec := gitconfig.RefSpec("refs/heads/" + branch + ":refs/heads/" + branch)
	if err := repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []gitconfig.RefSpec{spec}, Auth: auth}); err != nil &&
		!errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "git: push " + branch + ": " + err.Error(), Err: err}
	}
	payload, _ := json.Marshal(map[string]string{"title": title, "head": branch, "base": base, "body": body})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(apiBase, "/")+"/repos/"+repoName+"/pulls", bytes.NewReader(payload))
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Content-Type", "application/json")
	client := p.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "GitHub could not be reached", Err: err}
	}
	defer resp.Body.Close()
	var out struct {
		HTMLURL string `json:"html_url"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode != http.StatusCreated {
		return "", greenroom.Errorf(greenroom.CodeUnavailable, "GitHub: create pull request: HTTP %d: %s", resp.StatusCode, out.Message)
	}
	return out.HTMLURL, nil
}

// remoteHostPath splits a remote URL (https://host/owner/repo.git or
// git@host:owner/repo.git) into its host and owner/repo.
func remoteHostPath(remote string) (string, string) {
	if u, err := url.Parse(remote); err == nil && u.Host != "" {
		return u.Host, strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	}
	if at := strings.Index(remote, "@"); at >= 0 {
		if host, path, ok := strings.Cut(remote[at+1:], ":"); ok {
			return host, strings.TrimSuffix(strings.Trim(path, "/"), ".git")
		}
	}
	return "", ""
}
