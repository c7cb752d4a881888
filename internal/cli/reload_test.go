package cli

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/jobs"
	"greenroom/internal/store/storetest"
	"greenroom/internal/web"
)

const reloadBase = `permission:
  enabled: true
  defaultRole: viewer
`

const reloadAdmin = `permission:
  enabled: true
  defaultRole: viewer
  bindings:
    - {role: platform_admin, members: [user:default/jane]}
`

// reloadHarness wires the permission layer as serve does over a config
// file, behind an authentication stand-in, with a reloader on that file.
type reloadHarness struct {
	file   string
	env    *wireEnv
	r      *reloader
	h      http.Handler
	logged *syncBuffer
}

func newReloadHarness(t *testing.T, initial string) *reloadHarness {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	file := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(file, []byte(initial), 0o644); err != nil {
		t.Fatal(err)
	}
	load := config.LoadOptions{Files: []string{file}}
	cfg, _, err := config.Load(load)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.SQLite(t)
	logged := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logged, nil))
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(authzFixture)}}
	cat, err := catalog.NewService(st, []catalog.Source{{Name: "fixture", FS: fsys, Root: "all.yaml"}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	pages, err := web.New("Test", cat, logger)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(cat, logger).Routes(mux)
	pages.Routes(mux)
	env := &wireEnv{cfg: cfg, store: st, pool: jobs.New(st, jobs.Options{}), catalog: cat, pages: pages, mux: mux, logger: logger}
	if err := wireAuthz(ctx, env); err != nil {
		t.Fatal(err)
	}
	signIn := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := r.Header.Get("X-Test-User")
			r = r.WithContext(access.NewContext(r.Context(), &access.Principal{Kind: access.KindUser, UserRef: u, OwnershipRefs: []string{u}}))
			next.ServeHTTP(w, r)
		})
	}
	return &reloadHarness{file: file, env: env, r: newReloader(load, cfg, env.permission, st, logger), h: signIn(env.handler(mux)), logged: logged}
}

// auditStatus is jane's answer on an admin-only route.
func (h *reloadHarness) auditStatus() int {
	req := httptest.NewRequest("GET", "/api/access/audit", nil)
	req.Header.Set("X-Test-User", "user:default/jane")
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec.Code
}

func (h *reloadHarness) write(t *testing.T, s string) {
	t.Helper()
	if err := os.WriteFile(h.file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *reloadHarness) audits(t *testing.T, decision string) []access.AuditRecord {
	t.Helper()
	recs, err := h.env.store.QueryAudit(t.Context(), access.AuditFilter{Action: ActionConfigReload, Decision: decision})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// auditsAfterFlip waits for the reload's audit record: the new policy is
// swapped in just before the record is written, so a test that sees the
// decision flip may look a moment before the record lands.
func (h *reloadHarness) auditsAfterFlip(t *testing.T, decision string, want int) []access.AuditRecord {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := h.audits(t, decision)
		if len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Freshness: rewriting the config file flips a decision within 5 s, with
// no signal, through the file poll.
func TestReloadFileChangeFlipsDecisionWithin5s(t *testing.T) {
	h := newReloadHarness(t, reloadBase)
	if got := h.auditStatus(); got != http.StatusForbidden {
		t.Fatalf("viewer on the audit log: %d, want 403", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); h.r.run(ctx, nil) }()
	defer func() { cancel(); <-done }()

	h.write(t, reloadAdmin)
	written := time.Now()
	for h.auditStatus() != http.StatusOK {
		if time.Since(written) > 5*time.Second {
			t.Fatalf("decision did not flip within 5 s of the rewrite; log:\n%s", h.logged)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("decision flipped %v after the rewrite", time.Since(written).Round(time.Millisecond))
	if got := h.auditsAfterFlip(t, access.DecisionAllow, 1); len(got) != 1 || got[0].Actor != "system:config" || got[0].Details["trigger"] != "file changed" {
		t.Errorf("reload audit records: %+v", got)
	}
	// And back: removing the binding takes the right away again.
	h.write(t, reloadBase)
	written = time.Now()
	for h.auditStatus() != http.StatusForbidden {
		if time.Since(written) > 5*time.Second {
			t.Fatalf("revocation not applied within 5 s; log:\n%s", h.logged)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An invalid configuration is refused with its location logged and
// audited, and the running policy is kept; SIGHUP reloads at once.
func TestReloadInvalidKeepsRunningAndSIGHUP(t *testing.T) {
	h := newReloadHarness(t, reloadAdmin)
	if got := h.auditStatus(); got != http.StatusOK {
		t.Fatalf("admin on the audit log: %d, want 200", got)
	}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	h.r.every = time.Hour // only the signal triggers here
	go func() { defer close(done); h.r.run(ctx, hup) }()
	defer func() { cancel(); <-done }()

	h.write(t, `permission:
  enabled: true
  bindings:
    - {role: no-such-role, members: [user:default/jane]}
`)
	if err := h.r.reload(t.Context(), "test"); err == nil {
		t.Fatal("an unknown role was accepted")
	}
	if got := h.auditStatus(); got != http.StatusOK {
		t.Errorf("after a refused reload: %d, want the old policy's 200", got)
	}
	if log := h.logged.String(); !strings.Contains(log, "config reload refused") || !strings.Contains(log, h.file+":4:") ||
		!strings.Contains(log, "no-such-role") {
		t.Errorf("refusal not logged with its location:\n%s", log)
	}
	deny := h.audits(t, access.DecisionDeny)
	if len(deny) != 1 || !strings.Contains(deny[0].Reason, "no-such-role") {
		t.Errorf("refusal audit: %+v", deny)
	}

	// A valid change with a section that cannot change live.
	h.write(t, "backend:\n  listen: {port: 7999}\n"+reloadBase)
	hup <- syscall.SIGHUP
	deadline := time.Now().Add(5 * time.Second)
	for h.auditStatus() != http.StatusForbidden {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP reload not applied within 5 s; log:\n%s", h.logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if log := h.logged.String(); !strings.Contains(log, "restart needed") || !strings.Contains(log, "backend.listen") {
		t.Errorf("restart-needed sections not logged:\n%s", log)
	}
	if got := h.auditsAfterFlip(t, access.DecisionAllow, 1); len(got) != 1 || got[0].Details["trigger"] != "SIGHUP" {
		t.Errorf("SIGHUP reload audit: %+v", got)
	}
}

// A real `greenroom serve` applies a permission change on SIGHUP (or its
// file poll) within 5 s, refuses an invalid file with its location, and
// says that a changed listen address needs a restart.
func TestServeReloadsPermission(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	viewer := "greenroom:\n  demo: false\npermission:\n  enabled: true\n  defaultRole: viewer\n"
	admin := viewer + "  bindings:\n    - {role: platform_admin, members: [user:development/guest]}\n"
	cfg := writeConfig(t, dir, viewer)
	p := serve(t, dir, nil, "--config", cfg)
	audit := func() int { return get(http.DefaultClient, p.base+"/api/access/audit") }
	if got := audit(); got != http.StatusForbidden {
		t.Fatalf("guest as viewer on the audit log: %d, want 403", got)
	}
	writeConfig(t, dir, admin)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	for audit() != http.StatusOK {
		if time.Since(sent) > 5*time.Second {
			t.Fatalf("permission not reloaded within 5 s:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	writeConfig(t, dir, "backend:\n  listen: {port: 7999}\n"+strings.Replace(admin, "platform_admin", "no_such_role", 1))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "config reload refused") {
		if time.Now().After(deadline) {
			t.Fatalf("invalid config not refused within 5 s:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if log := p.stderr.String(); !strings.Contains(log, "app-config.yaml:9:") || !strings.Contains(log, "no_such_role") {
		t.Errorf("refusal not located:\n%s", log)
	}
	if got := audit(); got != http.StatusOK {
		t.Errorf("after a refused reload: %d, want the running policy's 200", got)
	}
	writeConfig(t, dir, "backend:\n  listen: {port: 7999}\n"+viewer)
	deadline = time.Now().Add(5 * time.Second)
	for audit() != http.StatusForbidden {
		if time.Now().After(deadline) {
			t.Fatalf("valid config after a refused one not applied within 5 s:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if log := p.stderr.String(); !strings.Contains(log, "restart needed") || !strings.Contains(log, "backend.listen") {
		t.Errorf("restart-needed not logged:\n%s", log)
	}
}
