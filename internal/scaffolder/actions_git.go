package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"greenroom/internal/greenroom"
)

func publishGit() *Action {
	return &Action{
		ID: "publish:git",
		Description: "Initializes a git repository from the workspace and pushes it to any git remote over HTTP(S) " +
			"(GitLab, Gitea, Bitbucket Server, a self-hosted server). The remote repository must exist and be empty.",
		Input: map[string]any{"type": "object", "anyOf": []any{
			map[string]any{"required": []any{"repoUrl"}},
			map[string]any{"required": []any{"remoteUrl"}},
		}, "properties": map[string]any{
			"repoUrl":          str("Repository location, host?owner=owner&repo=repo (RepoUrlPicker); pushed to https://host/owner/repo.git."),
			"remoteUrl":        str("Full clone URL of the remote, taking precedence over repoUrl."),
			"defaultBranch":    str("Branch to push. Defaults to main."),
			"sourcePath":       str("Path within the workspace to publish. Defaults to the workspace root."),
			"gitCommitMessage": str("Commit message. Defaults to scaffolder.defaultCommitMessage or 'initial commit'."),
			"gitAuthorName":    str("Commit author name."),
			"gitAuthorEmail":   str("Commit author e-mail."),
			"repoVisibility":   str("Accepted for compatibility with the publish:* actions."),
			"description":      str("Accepted for compatibility with the publish:* actions."),
		}},
		Output: obj(nil, map[string]any{
			"remoteUrl":       str("A URL to the repository with the provider."),
			"repoContentsUrl": str("A URL to the root of the repository."),
			"commitHash":      str("The git commit hash of the initial commit."),
		}),
		SideEffects: true,
		Run:         runPublishGit,
	}
}

func runPublishGit(ctx context.Context, ac *ActionContext) error {
	remote := ac.str("remoteUrl")
	if remote == "" {
		r, err := ParseRepoURL(ac.str("repoUrl"))
		if err != nil {
			return err
		}
		owner := r.Owner
		if owner == "" {
			owner = r.Organization
		}
		scheme := "https"
		if isLoopback(r.Host) {
			scheme = "http" // a local server (tests, a developer's gitea); never plain http over the network
		}
		remote = scheme + "://" + r.Host + "/" + owner + "/" + r.Repo + ".git"
	}
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "publish:git: remote %q must be an http(s) URL", remote)
	}
	if ac.Deps != nil && len(ac.Deps.Publishers) > 0 && !containsHost(ac.Deps.Publishers, u.Host) {
		return greenroom.Errorf(greenroom.CodeForbidden, "publish:git: host %s is not in scaffolder.publishHosts", u.Host)
	}
	branch := ac.str("defaultBranch")
	if branch == "" {
		branch = "main"
	}
	src, err := inWorkspace(ac.Workspace, ac.str("sourcePath"))
	if err != nil {
		return err
	}
	var auth transport.AuthMethod
	if ac.Deps != nil && ac.Deps.Git != nil {
		if user, pass := ac.Deps.Git(remote); user != "" || pass != "" {
			auth = &githttp.BasicAuth{Username: user, Password: pass}
		}
	}
	// The remote must be empty of this branch: never overwrite a project.
	rem := git.NewRemote(nil, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{remote}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
	case err != nil:
		return greenroom.Errorf(greenroom.CodeUnavailable, "publish:git: cannot reach %s: %v", redactURL(remote), err)
	default:
		for _, r := range refs {
			if r.Name() == plumbing.NewBranchReferenceName(branch) {
				return greenroom.Errorf(greenroom.CodeConflict, "publish:git: %s already has a branch %s; refusing to overwrite an existing repository", redactURL(remote), branch)
			}
		}
	}
	hash, err := pushWorkspace(ctx, ac, src, remote, branch, auth)
	if err != nil {
		return err
	}
	ac.Created(fmt.Sprintf("git branch %s at %s (commit %s)", branch, redactURL(remote), hash))
	base := strings.TrimSuffix(remote, ".git")
	ac.Output("remoteUrl", remote)
	ac.Output("repoContentsUrl", base+"/blob/"+branch)
	ac.Output("commitHash", hash.String())
	return nil
}

func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func containsHost(hosts []string, h string) bool {
	for _, x := range hosts {
		if strings.EqualFold(x, h) {
			return true
		}
	}
	return false
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(remote)"
	}
	if u.User != nil {
		u.User = url.User("***")
	}
	return u.String()
}

// pushWorkspace commits the directory src as the first commit of branch
// and pushes it to remote.
func pushWorkspace(ctx context.Context, ac *ActionContext, src, remote, branch string, auth transport.AuthMethod) (plumbing.Hash, error) {
	// A fresh repository each attempt, so a retried step starts clean.
	_ = os.RemoveAll(filepath.Join(src, ".git"))
	repo, err := git.PlainInitWithOptions(src, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("publish: init: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("publish: add: %w", err)
	}
	author := Author{Name: "Scaffolder", Email: "scaffolder@greenroom.invalid"}
	msg := "initial commit"
	if ac.Deps != nil {
		if ac.Deps.DefaultAuthor.Name != "" {
			author = ac.Deps.DefaultAuthor
		}
		if ac.Deps.DefaultCommitMessage != "" {
			msg = ac.Deps.DefaultCommitMessage
		}
	}
	if v := ac.str("gitAuthorName"); v != "" {
		author.Name = v
	}
	if v := ac.str("gitAuthorEmail"); v != "" {
		author.Email = v
	}
	if v := ac.str("gitCommitMessage"); v != "" {
		msg = v
	}
	hash, err := wt.Commit(msg, &git.CommitOptions{
		AllowEmptyCommits: true,
		Author:            &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()},
	})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("publish: commit: %w", err)
	}
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{remote}}); err != nil {
		return plumbing.ZeroHash, err
	}
	spec := gitconfig.RefSpec("refs/heads/" + branch + ":refs/heads/" + branch)
	ac.Logf("Pushing %s to %s", branch, redactURL(remote))
	if err := repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []gitconfig.RefSpec{spec}, Auth: auth}); err != nil {
		return plumbing.ZeroHash, greenroom.Errorf(greenroom.CodeUnavailable, "publish: push to %s: %v", redactURL(remote), err)
	}
	return hash, nil
}
