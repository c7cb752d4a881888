package web

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
	golden "greenroom/templates"
)

// goldenCatalog serves the shipped templates as catalog entities.
type goldenCatalog struct {
	ents map[string]json.RawMessage
	cat  *catalog.Service
}

func newGoldenCatalog(t *testing.T, cat *catalog.Service) *goldenCatalog {
	g := &goldenCatalog{ents: map[string]json.RawMessage{}, cat: cat}
	for _, id := range []string{"go-service", "java-service", "react-app", "react-native-app"} {
		b, err := fs.ReadFile(golden.FS, id+"/template.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v)
		g.ents["template:default/"+id] = raw
	}
	return g
}

func (g *goldenCatalog) Templates(context.Context) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, e := range g.ents {
		out = append(out, e)
	}
	return out, nil
}

func (g *goldenCatalog) Entity(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if e, ok := g.ents[ref.String()]; ok {
		return e, nil
	}
	return g.cat.EntityByName(ctx, ref)
}

func (g *goldenCatalog) Entities(ctx context.Context, kind string) ([]json.RawMessage, error) {
	return g.cat.Entities(ctx, catalog.Query{Kind: kind})
}

// TestCreatePagesMarkup renders every create page and checks the markup
// rules every portal page follows (headings, labels, landmarks, ids, no
// inline script), plus the form's error handling.
func TestCreatePagesMarkup(t *testing.T) {
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	g := newGoldenCatalog(t, f.svc)
	files := scaffolder.NewResolver()
	files.SetBundled(golden.FS)
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: g, Files: files, DataDir: t.TempDir()})
	f.h.CreatePages(svc, g).Routes(f.mux)
	ck, tok := f.csrf(t)
	check := func(name string, res response, status int, want ...string) {
		t.Helper()
		if res.Code != status {
			t.Fatalf("%s: status %d, want %d\n%s", name, res.Code, status, res.body)
		}
		for _, p := range markupProblems(res.doc) {
			t.Errorf("%s: %s", name, p)
		}
		for _, w := range want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
	check("list", f.get(t, "/create?type=website"), 200, "React app (Vite &#43; TypeScript)", `aria-label="Choose React app (Vite &#43; TypeScript)"`)
	check("form", f.get(t, "/create/templates/default/react-app"), 200, `<legend><span class="step-number">Step 1 of 3:</span> Describe the website</legend>`,
		`option value="group:default/team-payments"`, `option value="system:default/payments-processing"`)
	form := url.Values{"csrf": {tok}, "action": {"review"}, "p.name": {"x"}}
	res := f.post(t, "/create/templates/default/react-app", form, ck)
	check("form with errors", res, http.StatusUnprocessableEntity, `id="form-errors"`, `href="#p-name"`, `href="#p-owner"`, `aria-invalid="true"`, "does not match pattern")
	form.Set("p.name", "web-shop")
	form.Set("p.owner", "group:default/team-payments")
	form.Set("p.repoUrl.host", "github.com")
	form.Set("p.repoUrl.owner", "acme-ledger")
	form.Set("p.repoUrl.repo", "web-shop")
	check("review", f.post(t, "/create/templates/default/react-app", form, ck), 200, "<h2>Review</h2>", "web-shop")
	form.Set("action", "create")
	res = f.post(t, "/create/templates/default/react-app", form, ck)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.Code, res.body)
	}
	loc := res.Header().Get("Location")
	check("task", f.get(t, loc), 200, `aria-live="polite"`, "Generate the project", "Cancel task", `data-stream="/api/scaffolder/v2/tasks/`)
	check("tasks", f.get(t, "/create/tasks"), 200, "<td>react-app</td>")
	check("editor", f.get(t, "/create/edit?template=template:default/go-service"), 200, "name: go-service")
	ed := url.Values{"csrf": {tok}, "values": {"name: preview-svc\nowner: group:default/team-payments\nrepoUrl: github.com?owner=a&repo=preview-svc\n"}}
	src, _ := fs.ReadFile(golden.FS, "go-service/template.yaml")
	ed.Set("template", string(src))
	check("editor preview", f.post(t, "/create/edit", ed, ck), 200, "Dry run completed", "<code>catalog-info.yaml</code>", "Dry run: skipping publish:git")
	res = f.post(t, "/create/edit", url.Values{"csrf": {tok}, "template": {"kind: [nope"}}, ck)
	check("editor error", res, http.StatusUnprocessableEntity, `role="alert"`)
}
