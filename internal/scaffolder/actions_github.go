package scaffolder

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/crypto/nacl/box"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"greenroom/internal/greenroom"
)

func githubActions() []*Action {
	return []*Action{publishGitHub(), publishGitHubPullRequest(), githubActionsDispatch(), githubWebhook()}
}

// githubTarget resolves a repoUrl to the REST API of its GitHub host.
type githubTarget struct {
	api, token, host, owner, repo string
}

func (ac *ActionContext) github(repoURL, token string) (githubTarget, error) {
	r, err := ParseRepoURL(repoURL)
	if err != nil {
		return githubTarget{}, err
	}
	if r.Owner == "" {
		return githubTarget{}, greenroom.Errorf(greenroom.CodeInvalid, "repoUrl %q: missing owner", repoURL)
	}
	t := githubTarget{host: r.Host, owner: r.Owner, repo: r.Repo, token: token}
	if ac.Deps == nil || ac.Deps.GitHub == nil {
		return t, greenroom.Errorf(greenroom.CodeUnavailable, "no integrations.github entry for %s", r.Host)
	}
	api, tok, ok := ac.Deps.GitHub(r.Host)
	if !ok {
		return t, greenroom.Errorf(greenroom.CodeInvalid, "no integrations.github entry for %s", r.Host)
	}
	t.api = strings.TrimSuffix(api, "/")
	if t.token == "" {
		t.token = tok
	}
	if t.token == "" {
		return t, greenroom.Errorf(greenroom.CodeUnavailable, "integrations.github for %s has no token to create repositories with", r.Host)
	}
	return t, nil
}

func (t githubTarget) call(ctx context.Context, ac *ActionContext, method, path string, body, out any) error {
	return callJSON(ctx, ac.Deps.HTTP, method, t.api+path, t.token, body, out)
}

func (t githubTarget) repoPath() string {
	return "/repos/" + url.PathEscape(t.owner) + "/" + url.PathEscape(t.repo)
}

func publishGitHub() *Action {
	return &Action{
		ID:          "publish:github",
		Description: "Initializes a git repository of the workspace, and publishes it to GitHub.",
		Input: obj([]string{"repoUrl"}, map[string]any{
			"repoUrl":                        str("Repository location, github.com?owner=owner&repo=repo."),
			"description":                    str("Repository description."),
			"homepageUrl":                    str("Repository homepage URL."),
			"access":                         str("Sets an admin collaborator on the repository: user or org/team."),
			"repoVisibility":                 map[string]any{"type": "string", "enum": []any{"private", "public", "internal"}},
			"defaultBranch":                  str("Sets the default branch on the repository. Defaults to master."),
			"protectDefaultBranch":           boolean("Protect the default branch after creating the repository. Defaults to true."),
			"protectEnforceAdmins":           boolean("Enforce branch protection for admins too. Defaults to true."),
			"requireCodeOwnerReviews":        boolean("Require an approved review from code owners."),
			"requiredApprovingReviewCount":   map[string]any{"type": "number"},
			"requiredStatusCheckContexts":    strList("Status checks that must pass before merging."),
			"requireBranchesToBeUpToDate":    boolean("Require branches to be up to date before merging. Defaults to true."),
			"requiredConversationResolution": boolean("Require conversations to be resolved before merging."),
			"deleteBranchOnMerge":            boolean("Delete the branch after merging the PR."),
			"allowMergeCommit":               boolean("Allow merge commits."),
			"allowSquashMerge":               boolean("Allow squash merges."),
			"allowRebaseMerge":               boolean("Allow rebase merges."),
			"gitCommitMessage":               str("Commit message. Defaults to initial commit."),
			"gitAuthorName":                  str("Commit author name."),
			"gitAuthorEmail":                 str("Commit author e-mail."),
			"sourcePath":                     str("Path within the workspace to publish. Defaults to the workspace root."),
			"collaborators": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []any{"access"},
				"properties": map[string]any{"user": str("GitHub user."), "team": str("Team slug."), "access": str("pull, triage, push, maintain or admin.")}}},
			"hasProjects": boolean("Enable projects."), "hasWiki": boolean("Enable the wiki."), "hasIssues": boolean("Enable issues."),
			"token":   str("Token to use instead of the integration's."),
			"topics":  strList("Repository topics."),
			"secrets": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": "GitHub Actions secrets to set."},
		}),
		Output: obj(nil, map[string]any{
			"remoteUrl": str("A URL to the repository with the provider."), "repoContentsUrl": str("A URL to the root of the repository."),
			"commitHash": str("The git commit hash of the initial commit."),
		}),
		SideEffects: true,
		Run:         runPublishGitHub,
	}
}

func runPublishGitHub(ctx context.Context, ac *ActionContext) error {
	gh, err := ac.github(ac.str("repoUrl"), ac.str("token"))
	if err != nil {
		return fmt.Errorf("publish:github: %w", err)
	}
	src, err := inWorkspace(ac.Workspace, ac.str("sourcePath"))
	if err != nil {
		return err
	}
	var owner struct {
		Type string `json:"type"`
	}
	if err := gh.call(ctx, ac, http.MethodGet, "/users/"+url.PathEscape(gh.owner), nil, &owner); err != nil {
		return fmt.Errorf("publish:github: owner %s: %w", gh.owner, err)
	}
	create := map[string]any{"name": gh.repo, "private": ac.str("repoVisibility") != "public", "description": ac.str("description")}
	if v := ac.str("repoVisibility"); v != "" {
		create["visibility"] = v
	}
	if v := ac.str("homepageUrl"); v != "" {
		create["homepage"] = v
	}
	for in, out := range map[string]string{"deleteBranchOnMerge": "delete_branch_on_merge", "allowMergeCommit": "allow_merge_commit",
		"allowSquashMerge": "allow_squash_merge", "allowRebaseMerge": "allow_rebase_merge", "hasProjects": "has_projects", "hasWiki": "has_wiki", "hasIssues": "has_issues"} {
		if v, ok := ac.Input[in].(bool); ok {
			create[out] = v
		}
	}
	path := "/orgs/" + url.PathEscape(gh.owner) + "/repos"
	if owner.Type == "User" {
		path = "/user/repos"
	}
	var repo struct {
		CloneURL string `json:"clone_url"`
		HTMLURL  string `json:"html_url"`
	}
	if err := gh.call(ctx, ac, http.MethodPost, path, create, &repo); err != nil {
		if greenroom.ErrorCode(err) == greenroom.CodeUnavailable && strings.Contains(err.Error(), "HTTP 422") {
			return greenroom.Errorf(greenroom.CodeConflict, "publish:github: repository %s/%s already exists on %s; choose another name", gh.owner, gh.repo, gh.host)
		}
		return fmt.Errorf("publish:github: create repository: %w", err)
	}
	ac.Created("GitHub repository " + repo.HTMLURL)
	ac.Logf("Created repository %s", repo.HTMLURL)
	branch := or(ac.str("defaultBranch"), "master")
	hash, err := pushWorkspace(ctx, ac, src, repo.CloneURL, branch, &githttp.BasicAuth{Username: "x-access-token", Password: gh.token})
	if err != nil {
		return err
	}
	// Settings after the push: topics, collaborators, protection, secrets.
	if topics := ac.strings("topics"); len(topics) > 0 {
		if err := gh.call(ctx, ac, http.MethodPut, gh.repoPath()+"/topics", map[string]any{"names": topics}, nil); err != nil {
			return fmt.Errorf("publish:github: topics: %w", err)
		}
	}
	collabs, _ := ac.Input["collaborators"].([]any)
	if a := ac.str("access"); a != "" {
		if org, team, ok := strings.Cut(a, "/"); ok && org == gh.owner {
			collabs = append(collabs, map[string]any{"team": team, "access": "admin"})
		} else if !ok {
			collabs = append(collabs, map[string]any{"user": a, "access": "admin"})
		}
	}
	for _, c := range collabs {
		m, _ := c.(map[string]any)
		access, _ := m["access"].(string)
		if u, _ := m["user"].(string); u != "" {
			err = gh.call(ctx, ac, http.MethodPut, gh.repoPath()+"/collaborators/"+url.PathEscape(u), map[string]any{"permission": access}, nil)
		} else if t, _ := m["team"].(string); t != "" {
			err = gh.call(ctx, ac, http.MethodPut, "/orgs/"+url.PathEscape(gh.owner)+"/teams/"+url.PathEscape(t)+"/repos/"+url.PathEscape(gh.owner)+"/"+url.PathEscape(gh.repo), map[string]any{"permission": access}, nil)
		}
		if err != nil {
			return fmt.Errorf("publish:github: collaborator: %w", err)
		}
	}
	if v, ok := ac.Input["protectDefaultBranch"].(bool); !ok || v {
		if err := gh.call(ctx, ac, http.MethodPut, gh.repoPath()+"/branches/"+url.PathEscape(branch)+"/protection", branchProtection(ac), nil); err != nil {
			return fmt.Errorf("publish:github: protect %s: %w", branch, err)
		}
		ac.Logf("Protected branch %s", branch)
	}
	if secrets, ok := ac.Input["secrets"].(map[string]any); ok && len(secrets) > 0 {
		if err := setSecrets(ctx, ac, gh, secrets); err != nil {
			return err
		}
	}
	ac.Output("remoteUrl", repo.HTMLURL)
	ac.Output("repoContentsUrl", repo.HTMLURL+"/blob/"+branch)
	ac.Output("commitHash", hash.String())
	return nil
}

func branchProtection(ac *ActionContext) map[string]any {
	enforce := true
	if v, ok := ac.Input["protectEnforceAdmins"].(bool); ok {
		enforce = v
	}
	strict := true
	if v, ok := ac.Input["requireBranchesToBeUpToDate"].(bool); ok {
		strict = v
	}
	count := 1.0
	if v, ok := ac.Input["requiredApprovingReviewCount"].(float64); ok {
		count = v
	}
	var checks any
	if cs := ac.strings("requiredStatusCheckContexts"); len(cs) > 0 {
		checks = map[string]any{"strict": strict, "contexts": cs}
	}
	return map[string]any{
		"required_status_checks": checks,
		"enforce_admins":         enforce,
		"required_pull_request_reviews": map[string]any{
			"require_code_owner_reviews": ac.boolean("requireCodeOwnerReviews"), "required_approving_review_count": count,
		},
		"restrictions":                     nil,
		"required_conversation_resolution": ac.boolean("requiredConversationResolution"),
	}
}

// setSecrets stores GitHub Actions secrets sealed with the repository's
// public key (libsodium sealed boxes, as GitHub requires).
func setSecrets(ctx context.Context, ac *ActionContext, gh githubTarget, secrets map[string]any) error {
	var key struct {
		KeyID string `json:"key_id"`
		Key   string `json:"key"`
	}
	if err := gh.call(ctx, ac, http.MethodGet, gh.repoPath()+"/actions/secrets/public-key", nil, &key); err != nil {
		return fmt.Errorf("publish:github: secrets public key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(key.Key)
	if err != nil || len(raw) != 32 {
		return greenroom.Errorf(greenroom.CodeUnavailable, "publish:github: the repository's public key is malformed")
	}
	var pub [32]byte
	copy(pub[:], raw)
	for name, v := range secrets {
		s, _ := v.(string)
		sealed, err := box.SealAnonymous(nil, []byte(s), &pub, rand.Reader)
		if err != nil {
			return err
		}
		body := map[string]any{"encrypted_value": base64.StdEncoding.EncodeToString(sealed), "key_id": key.KeyID}
		if err := gh.call(ctx, ac, http.MethodPut, gh.repoPath()+"/actions/secrets/"+url.PathEscape(name), body, nil); err != nil {
			return fmt.Errorf("publish:github: secret %s: %w", name, err)
		}
		ac.Logf("Set secret %s", name)
	}
	return nil
}

func githubActionsDispatch() *Action {
	return &Action{
		ID:          "github:actions:dispatch",
		Description: "Dispatches a GitHub Action workflow for a given branch or tag.",
		Input: obj([]string{"repoUrl", "workflowId", "branchOrTagName"}, map[string]any{
			"repoUrl": str("Repository location."), "workflowId": str("The GitHub Action Workflow filename."),
			"branchOrTagName": str("The git branch or tag name used to dispatch the workflow."),
			"workflowInputs":  map[string]any{"type": "object", "description": "Inputs keys and values to send to the workflow."},
			"token":           str("Token to use instead of the integration's."),
		}),
		SideEffects: true,
		Run: func(ctx context.Context, ac *ActionContext) error {
			gh, err := ac.github(ac.str("repoUrl"), ac.str("token"))
			if err != nil {
				return fmt.Errorf("github:actions:dispatch: %w", err)
			}
			body := map[string]any{"ref": ac.str("branchOrTagName")}
			if in, ok := ac.Input["workflowInputs"].(map[string]any); ok {
				body["inputs"] = in
			}
			if err := gh.call(ctx, ac, http.MethodPost, gh.repoPath()+"/actions/workflows/"+url.PathEscape(ac.str("workflowId"))+"/dispatches", body, nil); err != nil {
				return fmt.Errorf("github:actions:dispatch: %w", err)
			}
			ac.Logf("Dispatched workflow %s on %s", ac.str("workflowId"), ac.str("branchOrTagName"))
			return nil
		},
	}
}

func githubWebhook() *Action {
	return &Action{
		ID:          "github:webhook",
		Description: "Creates a webhook for a repository on GitHub.",
		Input: obj([]string{"repoUrl", "webhookUrl"}, map[string]any{
			"repoUrl": str("Repository location."), "webhookUrl": str("Target URL to which the payloads will be delivered."),
			"webhookSecret": str("Webhook secret value."), "events": strList("Events that trigger the webhook. Defaults to push."),
			"active": boolean("Deliver events. Defaults to true."), "contentType": map[string]any{"type": "string", "enum": []any{"form", "json"}},
			"insecureSsl": boolean("Skip TLS verification of deliveries."), "token": str("Token to use instead of the integration's."),
		}),
		SideEffects: true,
		Run: func(ctx context.Context, ac *ActionContext) error {
			gh, err := ac.github(ac.str("repoUrl"), ac.str("token"))
			if err != nil {
				return fmt.Errorf("github:webhook: %w", err)
			}
			events := ac.strings("events")
			if len(events) == 0 {
				events = []string{"push"}
			}
			active := true
			if v, ok := ac.Input["active"].(bool); ok {
				active = v
			}
			insecure := "0"
			if ac.boolean("insecureSsl") {
				insecure = "1"
			}
			cfg := map[string]any{"url": ac.str("webhookUrl"), "content_type": or(ac.str("contentType"), "form"), "insecure_ssl": insecure}
			if s := ac.str("webhookSecret"); s != "" {
				cfg["secret"] = s
			}
			body := map[string]any{"name": "web", "active": active, "events": events, "config": cfg}
			if err := gh.call(ctx, ac, http.MethodPost, gh.repoPath()+"/hooks", body, nil); err != nil {
				return fmt.Errorf("github:webhook: %w", err)
			}
			ac.Created("GitHub webhook on " + gh.owner + "/" + gh.repo)
			ac.Logf("Created webhook %s", ac.str("webhookUrl"))
			return nil
		},
	}
}
