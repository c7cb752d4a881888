package web

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
	"greenroom/internal/techdocs"
)

// docsFixture is the portal with the docs pages, and the service testdata
// project of the builder published as the ledger service's docs.
func docsFixture(t *testing.T, status string) (*fixture, techdocs.EntityName) {
	t.Helper()
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	pub := &techdocs.LocalPublisher{Dir: t.TempDir()}
	svc := techdocs.NewService(techdocs.ServiceOptions{Publisher: pub, Status: st})
	docs := f.h.DocsPages(svc)
	docs.Routes(f.mux)
	f.h.Register(docs.Section())
	n := techdocs.EntityName{Namespace: "default", Kind: "component", Name: "ledger-service"}
	site := filepath.Join(t.TempDir(), "site")
	if _, err := techdocs.Build(context.Background(), filepath.Join("..", "techdocs", "testdata", "projects", "service"), site, techdocs.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), n, site); err != nil {
		t.Fatal(err)
	}
	rec := techdocs.BuildRecord{Entity: n.String(), Status: status, LastSuccessAt: time.Now().Add(-time.Hour), FinishedAt: time.Now(),
		Log: "Built 15 pages\n", Warnings: []techdocs.Warning{{File: "docs/guides/local-development.md", Line: 23, Message: "broken link"}}}
	if status == techdocs.StatusFailed {
		rec.Error = "mkdocs.yml:3: nav must be a list"
	}
	if err := st.SaveBuildRecord(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return f, n
}

func TestDocsPages(t *testing.T) {
	f, _ := docsFixture(t, techdocs.StatusSuccess)
	r := f.get(t, "/docs")
	if r.Code != http.StatusOK || !strings.Contains(r.body, `href="/docs/default/component/ledger-service/"`) || !strings.Contains(r.body, "success") {
		t.Fatalf("index: %d\n%s", r.Code, r.body)
	}
	if r := f.get(t, "/docs?status=failed"); strings.Contains(r.body, "/docs/default/component/ledger-service/") {
		t.Errorf("status filter kept a successful build")
	}
	if r := f.get(t, "/docs?text=ledger"); !strings.Contains(r.body, "/docs/default/component/ledger-service/") {
		t.Errorf("text filter lost the ledger service")
	}

	for _, p := range []string{"/docs", "/docs/default/component/ledger-service/guides/install/", "/docs/default/component/ledger-service/reference/api/",
		"/docs/default/component/payment-gateway/", "/catalog/default/component/ledger-service/docs"} {
		r := f.get(t, p)
		if r.doc == nil {
			t.Fatalf("%s: not HTML", p)
		}
		if probs := markupProblems(r.doc); len(probs) > 0 {
			t.Errorf("%s: %v", p, probs)
		}
	}
	r = f.get(t, "/docs/default/component/ledger-service/guides/install/")
	for _, want := range []string{
		`<a href="/docs/default/component/ledger-service/guides/install/" aria-current="page">Installation</a>`, // site nav
		`<a href="#troubleshooting">Troubleshooting</a>`,                                                        // page TOC
		`rel="prev">← Home</a>`, `rel="next">Configuration →</a>`,
		`href="https://github.com/acme/payments/edit/main/docs/guides/install.md">Edit this page</a>`,
		`<div class="admonition warning">`, "Build log (1 warnings)", "Last successful build",
	} {
		if !strings.Contains(r.body, want) {
			i := strings.Index(r.body, "docs-pager")
			t.Errorf("reader lacks %q; pager: %.300s", want, r.body[max(i, 0):])
		}
	}
	if r.Code != http.StatusOK || strings.Contains(r.body, "The latest build of these docs failed") {
		t.Errorf("reader: %d", r.Code)
	}
	if r := f.get(t, "/docs/default/component/ledger-service/img/overview.png"); r.Code != 200 || r.Header().Get("Content-Type") != "image/png" {
		t.Errorf("asset: %d %v", r.Code, r.Header())
	}
	if r := f.get(t, "/docs/default/component/ledger-service"); r.Code != http.StatusMovedPermanently {
		t.Errorf("no trailing slash: %d", r.Code)
	}
	if r := f.get(t, "/docs/default/component/ledger-service/nope/"); r.Code != http.StatusNotFound {
		t.Errorf("missing page: %d", r.Code)
	}
	if r := f.get(t, "/docs/default/component/no-such-entity/"); r.Code != http.StatusNotFound {
		t.Errorf("missing entity: %d", r.Code)
	}
	if r := f.get(t, "/catalog/default/component/ledger-service/docs"); r.Code != 200 || !strings.Contains(r.body, `href="/docs/default/component/ledger-service/">Read the docs</a>`) {
		t.Errorf("docs section: %d\n%s", r.Code, r.body)
	}
}

func TestDocsReaderAfterFailure(t *testing.T) {
	f, _ := docsFixture(t, techdocs.StatusFailed)
	r := f.get(t, "/docs/default/component/ledger-service/")
	if r.Code != 200 || !strings.Contains(r.body, "this is the last good version") || !strings.Contains(r.body, "mkdocs.yml:3: nav must be a list") ||
		!strings.Contains(r.body, "Payments Service") {
		t.Errorf("reader after a failed build: %d\n%s", r.Code, r.body)
	}
	if r := f.get(t, "/catalog/default/component/ledger-service/docs"); !strings.Contains(r.body, "The last build failed.") {
		t.Errorf("section after a failure:\n%s", r.body)
	}
	// An entity never built says so.
	if r := f.get(t, "/docs/default/component/payment-gateway/"); r.Code != http.StatusNotFound || !strings.Contains(r.body, "have not been built yet") {
		t.Errorf("never built: %d", r.Code)
	}
	_ = greenroom.CodeNotFound
}

func TestDocsReaderEncodedPaths(t *testing.T) {
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	pub := &techdocs.LocalPublisher{Dir: t.TempDir()}
	docs := f.h.DocsPages(techdocs.NewService(techdocs.ServiceOptions{Publisher: pub, Status: st}))
	docs.Routes(f.mux)
	n := techdocs.EntityName{Namespace: "default", Kind: "component", Name: "ledger-service"}
	site := filepath.Join(t.TempDir(), "site")
	if _, err := techdocs.Build(context.Background(), filepath.Join("..", "techdocs", "testdata", "projects", "edge"), site, techdocs.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), n, site); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"/docs/default/component/ledger-service/":                                                             "Welcome",
		"/docs/default/component/ledger-service/%C3%9Cber%20uns.html":                                         "Über uns",
		"/docs/default/component/ledger-service/how%20to/first%20step.html":                                   "custom-id",
		"/docs/default/component/ledger-service/%E4%B8%AD%E6%96%87/%E5%AE%89%E8%A3%85%E6%8C%87%E5%8D%97.html": "配置",
	} {
		r := f.get(t, p)
		if r.Code != 200 || !strings.Contains(r.body, want) {
			t.Errorf("%s: %d, want %q", p, r.Code, want)
		}
	}
	if r := f.get(t, "/docs/default/component/ledger-service/img/my%20logo.png"); r.Code != 200 {
		t.Errorf("asset with a space: %d", r.Code)
	}
}
