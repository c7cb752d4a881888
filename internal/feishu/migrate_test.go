package feishu_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
	client "greenroom/internal/integration/feishu"
	"greenroom/internal/integration/feishu/feishufake"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

const samplesDir = "../integration/feishu/feishufake/testdata/public"

const originalMkdocs = `site_name: Payments
# a comment the migration must keep
nav:
  - Home: index.md
  - Guides:
      - guides/setup.md

theme:
  name: material
markdown_extensions:
  - toc:
      permalink: true
`

type env struct {
	fake    *feishufake.Server
	svc     *feishu.Service
	st      *store.Store
	dir     string
	dumps   []feishu.Dump
	denied  string
	broken  string
	conv    *feishu.Converter
	preFile string
}

// newEnv serves the public samples from a fake Feishu (seven blocks a page,
// so trees cross page boundaries) in folder fld: sample 1 at the top,
// samples 2 and 3 in subfolder "Team B", plus a sheet, a document the app
// may not read and, when withBroken, one whose blocks always fail.
func newEnv(t *testing.T, withBroken bool) *env {
	t.Helper()
	fake := feishufake.New()
	t.Cleanup(fake.Close)
	fake.BlockPageSize = 7
	dumps, err := feishufake.LoadDumps(samplesDir)
	if err != nil || len(dumps) < 3 {
		t.Fatalf("samples: %v", err)
	}
	fake.AddFolder("", "fld", "Handbook")
	fake.AddDocument("fld", dumps[0])
	fake.AddFolder("fld", "fldB", "Team B")
	fake.AddDocument("fldB", dumps[1])
	fake.AddDocument("fldB", dumps[2])
	fake.AddFile("fldB", feishu.File{Token: "shtX", Name: "Budget", Type: "sheet"})
	denied := dumps[2]
	denied.Document.DocumentID, denied.Document.Title = "doxDENIED", "Secret plans"
	fake.AddDocument("fld", denied)
	fake.Deny("doxDENIED")
	e := &env{fake: fake, dumps: dumps, denied: "doxDENIED"}
	if withBroken {
		broken := dumps[2]
		broken.Document.DocumentID, broken.Document.Title = "doxBROKEN", "Broken"
		fake.AddDocument("fld", broken)
		fake.Break("doxBROKEN")
		e.broken = "doxBROKEN"
	}
	for _, b := range dumps[0].Blocks {
		if b.Image != nil {
			fake.AddMedia(b.Image.Token, feishu.Media{Data: []byte("PNG " + b.Image.Token), ContentType: "image/png"})
		}
	}
	fake.SetMembers(dumps[0].Document.DocumentID, []feishu.Member{{MemberType: "openchat", MemberID: "oc_pay", Perm: "full_access"}})
	fake.SetMembers(dumps[1].Document.DocumentID, []feishu.Member{{MemberType: "openid", MemberID: "ou_x", Perm: "view"}})
	fake.Inject(feishufake.Fault429, feishufake.FaultRateCode)

	c, err := client.New(client.Options{BaseURL: fake.URL, AppID: feishufake.AppID, AppSecret: feishufake.AppSecret,
		InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		// One broken document must not open the breaker for the others.
		MaxRetries: 2, BreakerFailures: 20}, client.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	e.st = storetest.SQLite(t)
	e.svc = feishu.NewService(c, e.st, nil)
	e.svc.SetPermissionMapping([]feishu.PermissionRule{
		{FeishuMember: "oc_pay", FeishuRole: "edit", Owner: "group:default/payments"},
		{FeishuMember: "ou_x", FeishuRole: "edit", Owner: "group:default/never"},
	})
	e.dir = t.TempDir()
	write(t, filepath.Join(e.dir, "mkdocs.yml"), originalMkdocs)
	write(t, filepath.Join(e.dir, "docs/index.md"), "# Payments\n\nSee [setup](guides/setup.md).\n")
	write(t, filepath.Join(e.dir, "docs/guides/setup.md"), "# Setup\n")
	// A page already where sample 1 would go: it must not be overwritten.
	e.preFile = filepath.Join(e.dir, "docs/feishu", feishu.Slug(dumps[0].Document.Title)+".md")
	write(t, e.preFile, "# Mine\n")
	e.conv, _ = feishu.NewConverter(feishu.DefaultConversion(), nil)
	return e
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) request() feishu.Request {
	conv := feishu.DefaultConversion()
	conv.HandleImages = feishu.ImagesDownload
	return feishu.Request{FolderToken: "fld", TargetService: "component:default/payments", TargetDir: e.dir,
		PreserveHierarchy: true, Conversion: conv}
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func docByID(r feishu.Report, id string) feishu.DocumentResult {
	for _, d := range r.Documents {
		if d.ID == id {
			return d
		}
	}
	return feishu.DocumentResult{}
}

func TestMigrateValidateRollback(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	before := snapshot(t, e.dir)

	m, err := e.svc.Start(ctx, e.request())
	if err != nil {
		t.Fatal(err)
	}
	r := m.Report
	if m.Status != feishu.StatusSucceeded || r.SuccessCount != 3 || r.FailureCount != 0 || r.SkippedCount != 2 {
		t.Fatalf("status %s, report %+v", m.Status, r)
	}
	// The denied document and the sheet are reported and skipped.
	if d := docByID(r, e.denied); d.Status != feishu.DocSkipped || !strings.Contains(d.Reason, "permission") {
		t.Errorf("denied document: %+v", d)
	}
	if d := docByID(r, "shtX"); d.Status != feishu.DocSkipped {
		t.Errorf("sheet: %+v", d)
	}
	// Sample 1 did not overwrite the page already there.
	d1 := docByID(r, e.dumps[0].Document.DocumentID)
	if d1.Status != feishu.DocMigrated || !strings.HasSuffix(d1.Path, "-2.md") || d1.Owner != "group:default/payments" {
		t.Errorf("sample 1: %+v", d1)
	}
	if got, _ := os.ReadFile(e.preFile); string(got) != "# Mine\n" {
		t.Errorf("existing page changed: %q", got)
	}
	// Permission mapping: view access does not satisfy an edit rule.
	if d := docByID(r, e.dumps[1].Document.DocumentID); d.Owner != "" || !strings.HasPrefix(d.Path, "docs/feishu/team-b/") {
		t.Errorf("sample 2: %+v", d)
	}
	// Pages are the converter's output, images downloaded beside them.
	page, err := os.ReadFile(filepath.Join(e.dir, d1.Path))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "![](assets/boxcnbK20aJ9pePyziodIvjXTce.png)") {
		t.Errorf("sample 1 page does not link its downloaded image")
	}
	img, err := os.ReadFile(filepath.Join(e.dir, filepath.Dir(d1.Path), "assets/boxcnbK20aJ9pePyziodIvjXTce.png"))
	if err != nil || string(img) != "PNG boxcnbK20aJ9pePyziodIvjXTce" {
		t.Errorf("image: %q, %v", img, err)
	}
	d3 := docByID(r, e.dumps[2].Document.DocumentID)
	page3, _ := os.ReadFile(filepath.Join(e.dir, d3.Path))
	want3, _ := e.conv.Convert(ctx, e.dumps[2].Blocks)
	if string(page3) != want3.Markdown {
		t.Errorf("sample 3 page differs from the conversion:\n%s", cmp.Diff(want3.Markdown, string(page3)))
	}
	// mkdocs.yml keeps every original byte, plus the nav section.
	mk, _ := os.ReadFile(filepath.Join(e.dir, "mkdocs.yml"))
	if !strings.HasPrefix(string(mk), originalMkdocs[:strings.Index(originalMkdocs, "\ntheme:")]) ||
		!strings.HasSuffix(string(mk), originalMkdocs[strings.Index(originalMkdocs, "\ntheme:"):]) {
		t.Errorf("mkdocs.yml lost original content:\n%s", mk)
	}
	var parsed struct {
		Nav []any `yaml:"nav"`
	}
	if err := yaml.Unmarshal(mk, &parsed); err != nil || len(parsed.Nav) != 3 {
		t.Fatalf("mkdocs.yml nav: %d entries, %v\n%s", len(parsed.Nav), err, mk)
	}
	navJSON, _ := json.Marshal(parsed.Nav[2])
	for _, want := range []string{`"Feishu"`, `"Team B"`, strings.TrimPrefix(d1.Path, "docs/"), strings.TrimPrefix(d3.Path, "docs/")} {
		if !strings.Contains(string(navJSON), want) {
			t.Errorf("nav section %s lacks %s", navJSON, want)
		}
	}
	if !slices.Contains(r.GeneratedFiles, d1.Path) || !slices.Contains(r.GeneratedFiles, "mkdocs.yml") {
		t.Errorf("generatedFiles = %v", r.GeneratedFiles)
	}

	// The stored report is what Start returned.
	stored, err := e.svc.Migration(ctx, m.ID)
	if err != nil || stored.Report.SuccessCount != 3 {
		t.Fatalf("stored: %+v, %v", stored.Report, err)
	}

	v, err := e.svc.Validate(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.Pages != 3 {
		t.Errorf("validation = %+v", v)
	}

	// A page that a human edited after the migration survives rollback.
	d2 := docByID(r, e.dumps[1].Document.DocumentID)
	edited := filepath.Join(e.dir, d2.Path)
	write(t, edited, "# edited by hand\n")

	rb, err := e.svc.Rollback(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Status != feishu.StatusRolledBack || !slices.Equal(rb.Report.Rollback.Kept, []string{d2.Path}) {
		t.Errorf("rollback: %s, kept %v", rb.Status, rb.Report.Rollback.Kept)
	}
	after := snapshot(t, e.dir)
	want := maps(before)
	want[d2.Path] = "# edited by hand\n"
	want[filepath.Dir(d2.Path)+"/"] = ""
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("after rollback (-want +got):\n%s", diff)
	}
	if _, err := e.svc.Rollback(ctx, m.ID); greenroom.ErrorCode(err) != greenroom.CodeConflict {
		t.Errorf("second rollback: %v", err)
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestFailedBatchWritesNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("one batch", func(t *testing.T) {
		e := newEnv(t, true)
		before := snapshot(t, e.dir)
		m, err := e.svc.Start(ctx, e.request())
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != feishu.StatusFailed || m.Report.SuccessCount != 0 || m.Report.FailureCount != 4 {
			t.Errorf("status %s, %d ok, %d failed", m.Status, m.Report.SuccessCount, m.Report.FailureCount)
		}
		if d := docByID(m.Report, e.dumps[0].Document.DocumentID); !strings.Contains(d.Reason, "batch rolled back") {
			t.Errorf("sample 1: %+v", d)
		}
		if diff := cmp.Diff(before, snapshot(t, e.dir)); diff != "" {
			t.Errorf("a failed batch changed the target (-before +after):\n%s", diff)
		}
	})
	t.Run("batches of one", func(t *testing.T) {
		e := newEnv(t, true)
		req := e.request()
		req.BatchSize = 1
		m, err := e.svc.Start(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != feishu.StatusPartial || m.Report.SuccessCount != 3 || m.Report.FailureCount != 1 {
			t.Errorf("status %s, %d ok, %d failed", m.Status, m.Report.SuccessCount, m.Report.FailureCount)
		}
		if d := docByID(m.Report, e.broken); d.Status != feishu.DocFailed {
			t.Errorf("broken: %+v", d)
		}
	})
}

func TestDryRun(t *testing.T) {
	e := newEnv(t, false)
	before := snapshot(t, e.dir)
	req := e.request()
	req.DryRun = true
	m, err := e.svc.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Report.SuccessCount != 3 || docByID(m.Report, e.dumps[2].Document.DocumentID).Status != feishu.DocPlanned {
		t.Errorf("dry run report: %+v", m.Report)
	}
	if len(m.Report.GeneratedFiles) == 0 {
		t.Error("dry run lists no files it would write")
	}
	if diff := cmp.Diff(before, snapshot(t, e.dir)); diff != "" {
		t.Errorf("a dry run changed the target:\n%s", diff)
	}
}

func TestValidateFindsBrokenLinks(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	req := e.request()
	req.Conversion = feishu.DefaultConversion() // images linked by token: no such files
	m, err := e.svc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.Validate(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	d1 := docByID(m.Report, e.dumps[0].Document.DocumentID)
	rel := strings.TrimPrefix(d1.Path, "docs/")
	found := 0
	for _, p := range v.Problems {
		if p.File == rel && p.Line > 0 && strings.Contains(p.Message, "boxcn") {
			found++
		}
	}
	if v.OK || found != 4 {
		t.Errorf("validation found %d broken image links in %s, want 4: %+v", found, rel, v.Problems)
	}
}

func TestRequestValidation(t *testing.T) {
	e := newEnv(t, false)
	bad := []feishu.Request{
		{TargetService: "component:default/x", TargetDir: e.dir},
		{FolderToken: "fld", TargetDir: e.dir},
		{FolderToken: "fld", TargetService: "component:default/x"},
		{FolderToken: "../etc", TargetService: "component:default/x", TargetDir: e.dir},
		{FolderToken: "fld", TargetService: "component:default/x", TargetDir: e.dir, DocsPath: "../up"},
		{FolderToken: "fld", TargetService: "component:default/x", TargetDir: e.dir, Conversion: feishu.ConversionConfig{HandleImages: "x"}},
		{Workspace: true, FolderToken: "fld", TargetService: "component:default/x", TargetDir: e.dir},
		{FolderToken: "fld", TargetService: "component:default/x", TargetDir: e.dir, Git: &feishu.GitOutput{Branch: "a..b"}},
	}
	for i, r := range bad {
		if _, err := e.svc.Start(context.Background(), r); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("request %d: %v, want invalid", i, err)
		}
	}
}

// TestMigrationIsADurableJob runs a migration through the jobs pool.
func TestMigrationIsADurableJob(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	pool := jobs.New(e.st, jobs.Options{PollInterval: 10 * time.Millisecond, Workers: 1})
	pool.Register(feishu.MigrateJobKind, func(ctx context.Context, job store.Job) error {
		return e.svc.RunJob(ctx, job.Payload)
	})
	e.svc.SetEnqueuer(func(ctx context.Context, kind string, payload any) error {
		_, err := pool.Enqueue(ctx, kind, payload)
		return err
	})
	pool.Start(ctx)
	defer func() { _ = pool.Shutdown(ctx) }()
	m, err := e.svc.Start(ctx, e.request())
	if err != nil || m.Status != feishu.StatusQueued {
		t.Fatalf("Start = %s, %v", m.Status, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got, err := e.svc.Migration(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == feishu.StatusSucceeded {
			if got.Report.SuccessCount != 3 {
				t.Errorf("report: %+v", got.Report)
			}
			// Running the finished job again changes nothing.
			if err := e.svc.Run(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			again, _ := e.svc.Migration(ctx, m.ID)
			if !again.UpdatedAt.Equal(got.UpdatedAt) {
				t.Error("a finished migration was run again")
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the migration job did not finish")
}

// ownersMap is a catalog of service owners.
type ownersMap map[string]string

func (o ownersMap) Owner(_ context.Context, ref string) (string, error) {
	if v, ok := o[ref]; ok {
		return v, nil
	}
	return "", greenroom.Errorf(greenroom.CodeNotFound, "no entity %s", ref)
}

func TestOwnerComparedWithCatalog(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.svc.SetPermissionMapping([]feishu.PermissionRule{{FeishuMember: "oc_pay", Owner: "payments"}, {Owner: "group:default/other"}})
	e.svc.SetOwners(ownersMap{"component:default/payments": "group:default/payments"})
	req := e.request()
	req.DryRun = true
	m, err := e.svc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	d1 := docByID(m.Report, e.dumps[0].Document.DocumentID)
	d2 := docByID(m.Report, e.dumps[1].Document.DocumentID)
	if d1.Owner != "payments" || len(d1.Warnings) != 0 {
		t.Errorf("sample 1 (owner matches the service's): %+v", d1)
	}
	if d2.Owner != "group:default/other" || !slices.ContainsFunc(d2.Warnings, func(w string) bool {
		return strings.Contains(w, "owned by group:default/payments")
	}) {
		t.Errorf("sample 2 (owner differs): %+v", d2)
	}
	req.TargetService = "component:default/ghost"
	m, err = e.svc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(m.Report.Warnings, func(w string) bool { return strings.Contains(w, "not in the catalog") }) {
		t.Errorf("warnings = %v", m.Report.Warnings)
	}
}

func TestCommentsPreserved(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	d := e.dumps[2]
	d.Document.DocumentID, d.Document.Title = "doxCOMMENTED", "Commented"
	d.Blocks = append([]feishu.Block(nil), d.Blocks...)
	for i := range d.Blocks {
		if d.Blocks[i].BlockType == feishu.TypeBullet {
			d.Blocks[i].CommentIDs = []string{"c1"}
			break
		}
	}
	e.fake.AddDocument("", d)
	e.fake.AddComment("doxCOMMENTED", "c1", "is this -- still true?")
	req := e.request()
	req.FolderToken, req.DocumentIDs = "", []string{"doxCOMMENTED"}
	req.Conversion.PreserveComments = true
	m, err := e.svc.Start(ctx, req)
	if err != nil || m.Status != feishu.StatusSucceeded {
		t.Fatalf("%v %+v", err, m)
	}
	page, err := os.ReadFile(filepath.Join(e.dir, docByID(m.Report, "doxCOMMENTED").Path))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "<!-- comment: is this - - still true? -->") {
		t.Errorf("comment not preserved:\n%s", page)
	}
}

func TestGitOutputWithPullRequest(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	bare := t.TempDir()
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInit(e.dir, false)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{bare}})
	wt, _ := repo.Worktree()
	_ = wt.AddGlob(".")
	if _, err := wt.Commit("init", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@x", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	pulls := 0
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pulls++
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"html_url":"https://github.com/acme/pay/pull/1"}`))
	}))
	defer api.Close()
	e.svc.SetPublisher(client.GitPublisher{GitHub: func(string) (string, string, bool) { return api.URL, "tok", true }})
	req := e.request()
	req.Git = &feishu.GitOutput{Branch: "docs/feishu", PullRequest: true, Repo: "acme/pay", Base: "master"}
	m, err := e.svc.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Report.Commit == "" || m.Report.PullRequest != "https://github.com/acme/pay/pull/1" || pulls != 1 {
		t.Fatalf("commit %q, pull request %q (%d calls), warnings %v", m.Report.Commit, m.Report.PullRequest, pulls, m.Report.Warnings)
	}
	remote, _ := git.PlainOpen(bare)
	ref, err := remote.Reference("refs/heads/docs/feishu", false)
	if err != nil || ref.Hash().String() != m.Report.Commit {
		t.Errorf("pushed branch: %v %v", ref, err)
	}
	c, _ := remote.CommitObject(ref.Hash())
	if _, err := c.File("mkdocs.yml"); err != nil {
		t.Errorf("the commit lacks mkdocs.yml: %v", err)
	}
}
