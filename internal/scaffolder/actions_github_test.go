package scaffolder_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"greenroom/internal/integration/gitsource/gittest"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

// githubAPI is a small fake of the GitHub REST endpoints publish:github and
// the github:* actions call; pushes go to a real git server.
type githubAPI struct {
	mu      sync.Mutex
	git     *gittest.Server
	repos   map[string]bool
	calls   []string
	secrets map[string]string
	pub     *[32]byte
	priv    *[32]byte
}

func newGitHubAPI(t *testing.T) (*githubAPI, *httptest.Server) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g := &githubAPI{git: gittest.NewServer(t), repos: map[string]bool{}, secrets: map[string]string{}, pub: pub, priv: priv}
	mux := http.NewServeMux()
	record := func(r *http.Request) map[string]any {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		g.mu.Lock()
		g.calls = append(g.calls, r.Method+" "+r.URL.Path)
		g.mu.Unlock()
		return body
	}
	mux.HandleFunc("GET /users/{owner}", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		json.NewEncoder(w).Encode(map[string]any{"login": r.PathValue("owner"), "type": "Organization"})
	})
	mux.HandleFunc("POST /orgs/{org}/repos", func(w http.ResponseWriter, r *http.Request) {
		body := record(r)
		name := r.PathValue("org") + "/" + body["name"].(string)
		g.mu.Lock()
		exists := g.repos[name]
		g.repos[name] = true
		g.mu.Unlock()
		if exists {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"message":"Repository creation failed.","errors":[{"message":"name already exists on this account"}]}`)
			return
		}
		g.git.CreateRepo(name)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"clone_url": g.git.RepoURL(name), "html_url": "https://github.com/" + name})
	})
	mux.HandleFunc("GET /repos/{o}/{r}/actions/secrets/public-key", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		json.NewEncoder(w).Encode(map[string]any{"key_id": "k1", "key": base64.StdEncoding.EncodeToString(g.pub[:])})
	})
	mux.HandleFunc("PUT /repos/{o}/{r}/actions/secrets/{name}", func(w http.ResponseWriter, r *http.Request) {
		body := record(r)
		sealed, _ := base64.StdEncoding.DecodeString(body["encrypted_value"].(string))
		plain, ok := box.OpenAnonymous(nil, sealed, g.pub, g.priv)
		if !ok || body["key_id"] != "k1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.secrets[r.PathValue("name")] = string(plain)
		g.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /repos/{o}/{r}", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		name := r.PathValue("o") + "/" + r.PathValue("r")
		json.NewEncoder(w).Encode(map[string]any{"default_branch": "main", "clone_url": g.git.RepoURL(name)})
	})
	mux.HandleFunc("POST /repos/{o}/{r}/pulls", func(w http.ResponseWriter, r *http.Request) {
		body := record(r)
		if body["head"] != "add-docs" || body["base"] != "main" || body["title"] != "Add docs" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"number": 7, "html_url": "https://github.com/" + r.PathValue("o") + "/" + r.PathValue("r") + "/pull/7"})
	})
	for _, p := range []string{"POST /repos/{o}/{r}/pulls/{n}/requested_reviewers", "PUT /repos/{o}/{r}/topics", "PUT /repos/{o}/{r}/branches/{b}/protection", "PUT /repos/{o}/{r}/collaborators/{u}",
		"POST /repos/{o}/{r}/hooks", "POST /repos/{o}/{r}/actions/workflows/{id}/dispatches"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			record(r)
			if r.Header.Get("Authorization") != "Bearer ghp_test" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "{}")
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return g, srv
}

const githubTemplate = `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: gh}
spec:
  parameters:
    properties:
      repoUrl: {type: string}
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: svc}}
    - id: publish
      action: publish:github
      input:
        repoUrl: ${{ parameters.repoUrl }}
        defaultBranch: main
        topics: [go, golden-path]
        collaborators: [{user: jdoe, access: push}]
        secrets: {SENTRY_DSN: https://key@sentry.example/1}
    - id: hook
      action: github:webhook
      input: {repoUrl: '${{ parameters.repoUrl }}', webhookUrl: https://greenroom.example/api/github/events}
    - id: ci
      action: github:actions:dispatch
      input: {repoUrl: '${{ parameters.repoUrl }}', workflowId: ci.yaml, branchOrTagName: main}
  output:
    links:
      - {title: Repository, url: '${{ steps.publish.output.remoteUrl }}'}
`

func TestPublishGitHub(t *testing.T) {
	gh, srv := newGitHubAPI(t)
	st := storetest.SQLite(t)
	cat := &fakeCatalog{entities: map[string]json.RawMessage{"template:default/gh": yamlToJSON(t, githubTemplate)}}
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: cat, Files: staticFiles{skeleton}, DataDir: t.TempDir(),
		Deps: &scaffolder.Deps{GitHub: func(host string) (string, string, bool) { return srv.URL, "ghp_test", host == "github.com" }}})
	ctx := t.Context()
	run := func() scaffolder.Task {
		id, err := svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/gh", Values: map[string]any{"repoUrl": "github.com?owner=acme&repo=svc"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.RunTask(ctx, id); err != nil {
			t.Fatal(err)
		}
		task, _ := svc.Task(ctx, id)
		return task
	}
	task := run()
	if task.Status != scaffolder.StatusCompleted {
		t.Fatalf("task %s: %s", task.Status, task.Error)
	}
	out := gh.git.Git("", "ls-remote", gh.git.RepoURL("acme/svc"))
	if !strings.Contains(out, "refs/heads/main") {
		t.Errorf("nothing pushed to main: %s", out)
	}
	calls := strings.Join(gh.calls, "\n")
	for _, want := range []string{"POST /orgs/acme/repos", "PUT /repos/acme/svc/topics", "PUT /repos/acme/svc/collaborators/jdoe",
		"PUT /repos/acme/svc/branches/main/protection", "POST /repos/acme/svc/hooks", "POST /repos/acme/svc/actions/workflows/ci.yaml/dispatches"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no call %s; calls:\n%s", want, calls)
		}
	}
	if gh.secrets["SENTRY_DSN"] != "https://key@sentry.example/1" {
		t.Errorf("secret not sealed to the repository key: %v", gh.secrets)
	}
	links, _ := task.Output["links"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["url"] != "https://github.com/acme/svc" {
		t.Errorf("links = %v", links)
	}
	// The same repository again: a clear conflict, nothing pushed.
	task = run()
	if task.Status != scaffolder.StatusFailed || !strings.Contains(task.Error, "already exists") {
		t.Errorf("second run: %s %q", task.Status, task.Error)
	}
}

const prTemplate = `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: pr}
spec:
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: docs}}
    - id: pr
      action: publish:github:pull-request
      input:
        repoUrl: github.com?owner=acme&repo=existing
        branchName: add-docs
        title: Add docs
        description: Generated by Greenroom
        targetPath: generated
        reviewers: [jdoe]
  output:
    links:
      - {title: Pull request, url: '${{ steps.pr.output.remoteUrl }}'}
    number: '${{ steps.pr.output.pullRequestNumber }}'
`

func TestPublishGitHubPullRequest(t *testing.T) {
	gh, srv := newGitHubAPI(t)
	gh.git.CreateRepo("acme/existing")
	gh.git.Commit("acme/existing", "main", map[string]string{"README.md": "# existing\n"}, "init")
	st := storetest.SQLite(t)
	cat := &fakeCatalog{entities: map[string]json.RawMessage{"template:default/pr": yamlToJSON(t, prTemplate)}}
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: cat, Files: staticFiles{skeleton}, DataDir: t.TempDir(),
		Deps: &scaffolder.Deps{GitHub: func(string) (string, string, bool) { return srv.URL, "ghp_test", true }}})
	ctx := t.Context()
	id, err := svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/pr"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RunTask(ctx, id); err != nil {
		t.Fatal(err)
	}
	task, _ := svc.Task(ctx, id)
	if task.Status != scaffolder.StatusCompleted {
		t.Fatalf("%s: %s", task.Status, task.Error)
	}
	if task.Output["number"] != float64(7) && task.Output["number"] != 7 {
		t.Errorf("output number = %#v", task.Output["number"])
	}
	clone := t.TempDir()
	gh.git.Git("", "clone", "--quiet", "--branch", "add-docs", gh.git.RepoURL("acme/existing"), clone)
	for _, f := range []string{"README.md", "generated/README.md", "generated/docs/app.go"} {
		if _, err := os.Stat(clone + "/" + f); err != nil {
			t.Errorf("branch add-docs lacks %s: %v", f, err)
		}
	}
	if !strings.Contains(strings.Join(gh.calls, "\n"), "POST /repos/acme/existing/pulls/7/requested_reviewers") {
		t.Errorf("reviewers not requested: %v", gh.calls)
	}
}
