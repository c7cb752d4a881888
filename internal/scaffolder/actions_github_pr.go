package scaffolder

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"greenroom/internal/greenroom"
)

func publishGitHubPullRequest() *Action {
	return &Action{
		ID:          "publish:github:pull-request",
		Description: "Creates a pull request on an existing GitHub repository with the workspace's files.",
		Input: obj([]string{"repoUrl", "branchName", "title", "description"}, map[string]any{
			"repoUrl":          str("Repository location, github.com?owner=owner&repo=repo."),
			"branchName":       str("The name for the branch."),
			"targetBranchName": str("The target branch name of the pull request. Defaults to the repository's default branch."),
			"title":            str("The name for the pull request."),
			"description":      str("The description of the pull request."),
			"draft":            boolean("Create a draft pull request."),
			"sourcePath":       str("Subdirectory of the workspace to copy. Defaults to the workspace root."),
			"targetPath":       str("Subdirectory of the repository to copy into. Defaults to the repository root."),
			"token":            str("Token to use instead of the integration's."),
			"reviewers":        strList("Users to request reviews from."),
			"teamReviewers":    strList("Teams to request reviews from."),
			"commitMessage":    str("The commit message. Defaults to the title."),
			"gitAuthorName":    str("Commit author name."),
			"gitAuthorEmail":   str("Commit author e-mail."),
		}),
		Output: obj(nil, map[string]any{
			"targetBranchName":  str("Target branch name of the pull request."),
			"remoteUrl":         str("Link to the pull request."),
			"pullRequestNumber": map[string]any{"type": "number", "description": "The pull request number."},
		}),
		SideEffects: true,
		Run:         runPublishGitHubPR,
	}
}

func runPublishGitHubPR(ctx context.Context, ac *ActionContext) error {
	gh, err := ac.github(ac.str("repoUrl"), ac.str("token"))
	if err != nil {
		return fmt.Errorf("publish:github:pull-request: %w", err)
	}
	src, err := inWorkspace(ac.Workspace, ac.str("sourcePath"))
	if err != nil {
		return err
	}
	var repo struct {
		DefaultBranch string `json:"default_branch"`
		CloneURL      string `json:"clone_url"`
	}
	if err := gh.call(ctx, ac, http.MethodGet, gh.repoPath(), nil, &repo); err != nil {
		return fmt.Errorf("publish:github:pull-request: repository %s/%s: %w", gh.owner, gh.repo, err)
	}
	target := or(ac.str("targetBranchName"), repo.DefaultBranch)
	branch := ac.str("branchName")
	if branch == "" || strings.ContainsAny(branch, " ~^:?*[\\") || strings.Contains(branch, "..") {
		return greenroom.Errorf(greenroom.CodeInvalid, "publish:github:pull-request: branchName %q is not a valid branch name", branch)
	}
	auth := &githttp.BasicAuth{Username: "x-access-token", Password: gh.token}
	dir, err := os.MkdirTemp("", "greenroom-pr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: repo.CloneURL, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(target), SingleBranch: true, Depth: 1})
	if err != nil {
		return greenroom.Errorf(greenroom.CodeUnavailable, "publish:github:pull-request: clone %s: %v", redactURL(repo.CloneURL), err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: true}); err != nil {
		return fmt.Errorf("publish:github:pull-request: branch %s: %w", branch, err)
	}
	dest, err := inWorkspace(dir, ac.str("targetPath"))
	if err != nil {
		return err
	}
	if err := copyDir(src, dest); err != nil {
		return fmt.Errorf("publish:github:pull-request: copy files: %w", err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return err
	}
	author := Author{Name: "Scaffolder", Email: "scaffolder@greenroom.invalid"}
	if ac.Deps != nil && ac.Deps.DefaultAuthor.Name != "" {
		author = ac.Deps.DefaultAuthor
	}
	author.Name = or(ac.str("gitAuthorName"), author.Name)
	author.Email = or(ac.str("gitAuthorEmail"), author.Email)
	hash, err := wt.Commit(or(ac.str("commitMessage"), ac.str("title")), &git.CommitOptions{
		Author: &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()},
	})
	if err != nil {
		return fmt.Errorf("publish:github:pull-request: commit: %w", err)
	}
	spec := gitconfig.RefSpec("refs/heads/" + branch + ":refs/heads/" + branch)
	ac.Logf("Pushing branch %s to %s/%s", branch, gh.owner, gh.repo)
	if err := r.PushContext(ctx, &git.PushOptions{RefSpecs: []gitconfig.RefSpec{spec}, Auth: auth}); err != nil {
		return greenroom.Errorf(greenroom.CodeUnavailable, "publish:github:pull-request: push %s: %v", branch, err)
	}
	ac.Created(fmt.Sprintf("branch %s of %s/%s (commit %s)", branch, gh.owner, gh.repo, hash))
	var pr struct {
		Number  int    `json:"number"`
		HTMLURL string `json:"html_url"`
	}
	body := map[string]any{"title": ac.str("title"), "body": ac.str("description"), "head": branch, "base": target, "draft": ac.boolean("draft")}
	if err := gh.call(ctx, ac, http.MethodPost, gh.repoPath()+"/pulls", body, &pr); err != nil {
		return fmt.Errorf("publish:github:pull-request: create: %w", err)
	}
	ac.Created("pull request " + pr.HTMLURL)
	if rv, tv := ac.strings("reviewers"), ac.strings("teamReviewers"); len(rv)+len(tv) > 0 {
		req := map[string]any{"reviewers": rv, "team_reviewers": tv}
		if err := gh.call(ctx, ac, http.MethodPost, fmt.Sprintf("%s/pulls/%d/requested_reviewers", gh.repoPath(), pr.Number), req, nil); err != nil {
			ac.Logf("Could not request reviewers: %v", err) // as Backstage: the PR stands
		}
	}
	ac.Logf("Created pull request %s", pr.HTMLURL)
	ac.Output("targetBranchName", target)
	ac.Output("remoteUrl", pr.HTMLURL)
	ac.Output("pullRequestNumber", pr.Number)
	return nil
}

// copyDir copies the regular files of src into dst (without .git),
// refusing symbolic links.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		rel, _ := filepath.Rel(src, p)
		if d.Type()&fs.ModeSymlink != 0 {
			return greenroom.Errorf(greenroom.CodeInvalid, "%s is a symbolic link", rel)
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dst, rel), b, 0o644, true)
	})
}
