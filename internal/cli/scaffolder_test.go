package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"greenroom/internal/integration/gitsource"
	"greenroom/internal/integration/gitsource/gittest"
	"greenroom/internal/scaffolder"
)

type taskView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
	Output struct {
		Links []struct {
			Title, URL, EntityRef string
		} `json:"links"`
	} `json:"output"`
}

func postJSON(t *testing.T, url string, body any, into any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		_ = json.NewDecoder(resp.Body).Decode(into)
	}
	return resp.StatusCode
}

// TestServeScaffolderPublishGit runs the shipped Go golden path end to end:
// greenroom serve with the bundled templates, a task created through the
// Backstage API, publish:git to a real git server on loopback, the pushed
// content checked with git, the events streamed, and the new component
// found in the catalog.
func TestServeScaffolderPublishGit(t *testing.T) {
	t.Parallel()
	git := gittest.NewServer(t)
	git.CreateRepo("acme-ledger/billing-api")
	host := strings.TrimPrefix(git.URL, "http://")
	p := serve(t, t.TempDir(), nil)
	waitEntities(t, p.base, "?filter=kind=template", 4)

	var schema struct {
		Title string
		Steps []struct{ Title string }
	}
	if code := getJSON(t, p.base+"/api/scaffolder/v2/templates/default/template/go-service/parameter-schema", &schema); code != 200 || len(schema.Steps) != 3 {
		t.Fatalf("parameter-schema: %d %+v", code, schema)
	}
	var created struct{ ID string }
	start := time.Now()
	code := postJSON(t, p.base+"/api/scaffolder/v2/tasks", map[string]any{
		"templateRef": "template:default/go-service",
		"values": map[string]any{
			"name": "billing-api", "owner": "group:default/team-payments",
			"repoUrl": host + "?owner=acme-ledger&repo=billing-api",
		},
	}, &created)
	if code != http.StatusCreated || created.ID == "" {
		t.Fatalf("POST tasks: %d %+v", code, created)
	}
	// The event stream ends with the completion event.
	resp, err := http.Get(p.base + "/api/scaffolder/v2/tasks/" + created.ID + "/eventstream")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			types = append(types, ev)
		}
	}
	resp.Body.Close()
	if len(types) == 0 || types[len(types)-1] != "completion" {
		t.Fatalf("event stream types %v, want it to end with completion", types)
	}
	var task taskView
	getJSON(t, p.base+"/api/scaffolder/v2/tasks/"+created.ID, &task)
	if task.Status != "completed" {
		t.Fatalf("task %s: %s", task.Status, task.Error)
	}
	t.Logf("full run to the local git remote took %s", time.Since(start))

	clone := filepath.Join(t.TempDir(), "clone")
	git.Git("", "clone", "--quiet", git.RepoURL("acme-ledger/billing-api"), clone)
	for _, f := range []string{"main.go", "main_test.go", "go.mod", "catalog-info.yaml", "chart/templates/deployment.yaml", "argocd/billing-api-production.yaml", "datadog/service.datadog.yaml", ".github/workflows/ci.yaml"} {
		if _, err := os.Stat(filepath.Join(clone, f)); err != nil {
			t.Errorf("pushed repository lacks %s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(clone, "go.mod"))
	if !strings.Contains(string(b), "module "+host+"/acme-ledger/billing-api") {
		t.Errorf("go.mod = %q", b)
	}
	var comp entity
	if code := getJSON(t, p.base+"/api/catalog/entities/by-name/component/default/billing-api", &comp); code != 200 || comp.Metadata.Name != "billing-api" {
		t.Errorf("new component not in the catalog: %d %+v", code, comp)
	}
	var entityRef string
	for _, l := range task.Output.Links {
		if l.EntityRef != "" {
			entityRef = l.EntityRef
		}
	}
	if entityRef != "component:default/billing-api" {
		t.Errorf("output links %+v, want the entity ref", task.Output.Links)
	}

	// greenroom create runs a task from the command line and follows it.
	git.CreateRepo("acme-ledger/billing-worker")
	code, out := run(t, t.TempDir(), nil, "create", "go-service", "--server", p.base,
		"--set", "name=billing-worker", "--set", "owner=group:default/team-payments",
		"--set", "repoUrl="+host+"?owner=acme-ledger&repo=billing-worker")
	if code != 0 || !strings.Contains(out, "Run completed with status: completed") {
		t.Errorf("greenroom create: %d\n%s", code, out)
	}

	// Publishing again to the same repository fails with a clear error.
	code = postJSON(t, p.base+"/api/scaffolder/v2/tasks", map[string]any{
		"templateRef": "template:default/go-service",
		"values":      map[string]any{"name": "billing-api", "owner": "group:default/team-payments", "repoUrl": host + "?owner=acme-ledger&repo=billing-api"},
	}, &created)
	if code != http.StatusCreated {
		t.Fatalf("second POST: %d", code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		getJSON(t, p.base+"/api/scaffolder/v2/tasks/"+created.ID, &task)
		if task.Status == "failed" || task.Status == "completed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if task.Status != "failed" || !strings.Contains(task.Error, "already has a branch main") {
		t.Errorf("second publish: %s %q, want failed: already has a branch main", task.Status, task.Error)
	}
}

func TestTemplateCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	golden, err := filepath.Abs("../../templates/go-service/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, dir, nil, "template", "validate", golden); code != 0 || !strings.Contains(out, "is valid") {
		t.Errorf("validate golden: %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: bad}\nspec:\n  steps:\n    - {id: a, action: publish:nowhere}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := run(t, dir, nil, "template", "validate", bad); code != 1 || !strings.Contains(out, `unknown action "publish:nowhere"`) {
		t.Errorf("validate bad: %d\n%s", code, out)
	}
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte("name: ledger-sync\nowner: group:default/team-payments\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, log := run(t, dir, nil, "template", "dry-run", golden, "--values", values, "--set", "repoUrl=github.com?owner=acme&repo=ledger-sync", "--out", out)
	if code != 0 {
		t.Fatalf("dry-run: %d\n%s", code, log)
	}
	b, err := os.ReadFile(filepath.Join(out, "catalog-info.yaml"))
	if err != nil || !strings.Contains(string(b), "name: ledger-sync") {
		t.Errorf("dry-run catalog-info.yaml = %q, %v", b, err)
	}
	if !strings.Contains(log, "Dry run: skipping publish:git") {
		t.Errorf("dry-run log does not say publish was skipped:\n%s", log)
	}
	if code, log := run(t, dir, nil, "template", "dry-run", golden, "--values", values, "--out", out); code != 2 || !strings.Contains(log, "not empty") {
		t.Errorf("dry-run into a non-empty dir: %d\n%s", code, log)
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestServeCreatePages walks the portal's golden-path pages without
// JavaScript: list, form, validation messages, review, create, task page.
func TestServeCreatePages(t *testing.T) {
	t.Parallel()
	p := serve(t, t.TempDir(), nil)
	waitEntities(t, p.base, "?filter=kind=template", 4)
	waitEntities(t, p.base, "?filter=kind=group", 5)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := c.Get(p.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", p.base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	code, body := get("/create?tag=go")
	if code != 200 || !strings.Contains(body, "Go service (net/http)") || strings.Contains(body, "Java service") {
		t.Fatalf("GET /create?tag=go: %d, Go listed and Java filtered out? %s", code, body)
	}
	code, body = get("/create/templates/default/go-service")
	if code != 200 || !strings.Contains(body, `<label for="p-name">Name <span class="required">(required)</span></label>`) ||
		!strings.Contains(body, `list="p-owner-list"`) || !strings.Contains(body, `option value="group:default/team-payments"`) ||
		!strings.Contains(body, `name="p.repoUrl.owner"`) {
		t.Fatalf("form page lacks the generated fields: %d\n%s", code, body)
	}
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf token in the form")
	}
	form := url.Values{"csrf": {m[1]}, "action": {"review"}, "p.name": {"Bad Name"}, "p.repoUrl.host": {"github.com"}}
	resp, body := post("/create/templates/default/go-service", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, `href="#p-owner"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("invalid form: %d\n%s", resp.StatusCode, body)
	}
	form.Set("p.name", "ledger-ui")
	form.Set("p.owner", "group:default/team-payments")
	form.Set("p.repoUrl.owner", "acme-ledger")
	form.Set("p.repoUrl.repo", "ledger-ui")
	resp, body = post("/create/templates/default/go-service", form)
	if resp.StatusCode != 200 || !strings.Contains(body, "<h2>Review</h2>") || !strings.Contains(body, "github.com?owner=acme-ledger&amp;repo=ledger-ui") {
		t.Fatalf("review: %d\n%s", resp.StatusCode, body)
	}
	form.Set("action", "edit")
	resp, body = post("/create/templates/default/go-service", form)
	if resp.StatusCode != 200 || !strings.Contains(body, `value="ledger-ui"`) || strings.Contains(body, "<h2>Review</h2>") {
		t.Fatalf("back to the form: %d\n%s", resp.StatusCode, body)
	}
	form.Set("action", "create")
	resp, _ = post("/create/templates/default/go-service", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/create/tasks/") {
		t.Fatalf("create: %d Location %q", resp.StatusCode, loc)
	}
	code, body = get(loc)
	if code != 200 || !strings.Contains(body, `aria-live="polite"`) || !strings.Contains(body, "Generate the project") {
		t.Fatalf("task page: %d\n%s", code, body)
	}
	code, body = get("/create/edit?template=template:default/go-service")
	if code != 200 || !strings.Contains(body, "scaffolder.backstage.io/v1beta3") {
		t.Fatalf("editor: %d", code)
	}
}

// TestRemoteTemplateFiles: a template registered at a url: location of a
// git host has its skeleton fetched from the repository (one copy per
// commit), and symlinks there are refused by fetch:template.
func TestRemoteTemplateFiles(t *testing.T) {
	t.Parallel()
	git := gittest.NewServer(t)
	git.CreateRepo("acme/templates")
	git.Commit("acme/templates", "main", map[string]string{
		"svc/template.yaml":          "unused: the entity comes from the catalog\n",
		"svc/skeleton/README.md":     "# ${{ values.name }}\n",
		"svc/skeleton/src/main.txt":  "main of ${{ values.name }}\n",
		"other/skeleton/ignored.txt": "x",
	}, "templates")
	cache, err := gitsource.NewCache(t.TempDir(), gitsource.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local := scaffolder.NewResolver()
	files := &remoteFiles{local: local, cache: cache, dir: t.TempDir()}
	ent := map[string]any{"metadata": map[string]any{"annotations": map[string]any{
		"backstage.io/managed-by-location": "url:" + git.URL + "/acme/templates/blob/main/svc/template.yaml"}}}
	fsys, err := files.TemplateFiles(t.Context(), ent)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(fsys, "skeleton/src/main.txt")
	if err != nil || string(b) != "main of ${{ values.name }}\n" {
		t.Fatalf("skeleton file = %q, %v", b, err)
	}
	if _, err := fs.Stat(fsys, "other"); err == nil {
		t.Error("files outside the template's directory were copied")
	}
	svc := scaffolder.NewService(scaffolder.Options{})
	tmpl := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"svc"},"spec":{"steps":[{"id":"f","action":"fetch:template","input":{"url":"./skeleton","values":{"name":"remote"}}}]}}`
	res, err := svc.DryRun(t.Context(), scaffolder.DryRunRequest{Template: json.RawMessage(tmpl)}, fsys)
	if err != nil || res.Status != scaffolder.StatusCompleted || len(res.DirectoryContents) != 2 {
		t.Fatalf("dry-run with remote files: %v %+v", err, res)
	}
	tree, err := files.FetchTree(t.Context(), git.URL+"/acme/templates/tree/main/svc/skeleton")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(tree, "README.md"); err != nil || string(b) != "# ${{ values.name }}\n" {
		t.Errorf("FetchTree README.md = %q, %v", b, err)
	}
	for _, bad := range []string{"https://github.com/acme", "ftp://x/y/blob/main/t.yaml", "https://github.com/acme/repo/commits/main"} {
		if _, _, err := parseBlobURL(bad); err == nil {
			t.Errorf("parseBlobURL(%q) accepted", bad)
		}
	}
	if r, dir, err := parseBlobURL("https://gitlab.acme.dev/group/sub/proj/-/blob/dev/tpl/template.yaml"); err != nil || r.URL != "https://gitlab.acme.dev/group/sub/proj.git" || r.Branch != "dev" || dir != "tpl/template.yaml" {
		t.Errorf("GitLab URL: %+v %q %v", r, dir, err)
	}
}
