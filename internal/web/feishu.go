package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"greenroom/internal/access"
	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
)

func init() {
	registerNav(navItem{ID: "feishu", Label: "Feishu migration", Path: "/feishu", Order: 80})
}

// FeishuMigrations is what the Feishu admin pages need from the migration
// service.
type FeishuMigrations interface {
	Start(ctx context.Context, req feishu.Request) (feishu.Migration, error)
	Migration(ctx context.Context, id string) (feishu.Migration, error)
	Migrations(ctx context.Context, limit int) ([]feishu.Migration, error)
	Validate(ctx context.Context, id string) (feishu.Validation, error)
	Rollback(ctx context.Context, id string) (feishu.Migration, error)
}

// FeishuPages are the admin pages of Feishu migrations: start one, list
// them, read a report, validate, roll back.
type FeishuPages struct {
	h        *Handler
	svc      FeishuMigrations
	defaults feishu.ConversionConfig
	root     string
}

// FeishuPages returns the pages over svc; root is shown as where target
// folders live.
func (h *Handler) FeishuPages(svc FeishuMigrations, defaults feishu.ConversionConfig, root string) *FeishuPages {
	return &FeishuPages{h: h, svc: svc, defaults: defaults, root: root}
}

// Routes registers the pages on mux.
func (p *FeishuPages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /feishu", p.admin(p.list))
	mux.Handle("POST /feishu/migrations", p.admin(p.start))
	mux.Handle("GET /feishu/migrations/{id}", p.admin(p.show))
	mux.Handle("POST /feishu/migrations/{id}/validate", p.admin(p.validate))
	mux.Handle("POST /feishu/migrations/{id}/rollback", p.admin(p.rollback))
}

func (p *FeishuPages) admin(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return p.h.handle(func(w http.ResponseWriter, r *http.Request) error {
		if !feishu.CanAdminister(access.FromContext(r.Context())) {
			return greenroom.Errorf(greenroom.CodeForbidden, "Feishu migrations are for administrators.")
		}
		return fn(w, r)
	})
}

// feishuListView is the list page with the start form.
type feishuListView struct {
	Migrations []feishu.Migration
	Form       feishuForm
	Error      string
	Root       string
}

type feishuForm struct {
	Source, Folder, Docs, Service, Target, DocsPath, Images string
	Flat, DryRun                                            bool
}

func (p *FeishuPages) list(w http.ResponseWriter, r *http.Request) error {
	return p.renderList(w, r, http.StatusOK, feishuForm{Source: "folder", Images: p.defaults.HandleImages, DocsPath: "feishu"}, "")
}

func (p *FeishuPages) renderList(w http.ResponseWriter, r *http.Request, status int, f feishuForm, msg string) error {
	ms, err := p.svc.Migrations(r.Context(), 50)
	if err != nil {
		return err
	}
	v := feishuListView{Migrations: ms, Form: f, Error: msg, Root: p.root}
	return p.h.render(w, r, status, "feishu_migrations", &page{Title: "Feishu migration", Nav: "feishu", Data: v})
}

func (p *FeishuPages) start(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := feishuForm{Source: get("source"), Folder: get("folder"), Docs: get("docs"), Service: get("service"),
		Target: get("target"), DocsPath: get("docsPath"), Images: get("images"), Flat: get("flat") == "on", DryRun: get("dryRun") == "on"}
	req := feishu.Request{TargetService: f.Service, TargetDir: f.Target, DocsPath: f.DocsPath, PreserveHierarchy: !f.Flat,
		DryRun: f.DryRun, Conversion: p.defaults, RequestedBy: "portal"}
	if f.Images != "" {
		req.Conversion.HandleImages = f.Images
	}
	switch f.Source {
	case "workspace":
		req.Workspace = true
	case "docs":
		req.DocumentIDs = strings.Fields(strings.ReplaceAll(f.Docs, ",", " "))
	default:
		req.FolderToken = f.Folder
	}
	if pr := access.FromContext(r.Context()); pr != nil {
		req.RequestedBy = pr.UserRef
	}
	m, err := p.svc.Start(r.Context(), req)
	if greenroom.ErrorCode(err) == greenroom.CodeInvalid {
		return p.renderList(w, r, http.StatusBadRequest, f, greenroom.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/feishu/migrations/"+m.ID, http.StatusSeeOther)
	return nil
}

// feishuShowView is one migration's report.
type feishuShowView struct {
	M        feishu.Migration
	Done     bool // finished: validate and roll back are offered
	Running  bool
	Counts   []feishuCount
	Message  string
	Problems []feishu.BuildWarning
}

type feishuCount struct {
	Label string
	N     int
}

func (p *FeishuPages) show(w http.ResponseWriter, r *http.Request) error {
	return p.renderShow(w, r, r.PathValue("id"), "")
}

func (p *FeishuPages) renderShow(w http.ResponseWriter, r *http.Request, id, msg string) error {
	m, err := p.svc.Migration(r.Context(), id)
	if err != nil {
		return err
	}
	v := feishuShowView{M: m, Message: msg,
		Running: m.Status == feishu.StatusQueued || m.Status == feishu.StatusRunning,
		Counts: []feishuCount{{"Migrated", m.Report.SuccessCount}, {"Failed", m.Report.FailureCount},
			{"Skipped", m.Report.SkippedCount}, {"Files", len(m.Report.GeneratedFiles)}}}
	v.Done = !v.Running && m.Status != feishu.StatusRolledBack
	if m.Report.Validation != nil {
		v.Problems = m.Report.Validation.Problems
	}
	return p.h.render(w, r, http.StatusOK, "feishu_migration", &page{Title: "Migration " + m.ID, Nav: "feishu", Data: v})
}

func (p *FeishuPages) action(w http.ResponseWriter, r *http.Request, run func(ctx context.Context, id string) (string, error)) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	msg, err := run(r.Context(), id)
	if code := greenroom.ErrorCode(err); code == greenroom.CodeConflict || code == greenroom.CodeInvalid {
		msg, err = greenroom.ErrorMessage(err), nil
	}
	if err != nil {
		return err
	}
	return p.renderShow(w, r, id, msg)
}

func (p *FeishuPages) validate(w http.ResponseWriter, r *http.Request) error {
	return p.action(w, r, func(ctx context.Context, id string) (string, error) {
		v, err := p.svc.Validate(ctx, id)
		if err != nil {
			return "", err
		}
		if v.OK {
			return "Validation passed: " + plural(v.Pages, "page", "pages") + " build and every link resolves.", nil
		}
		return "Validation found " + plural(len(v.Problems), "problem", "problems") + ".", nil
	})
}

func (p *FeishuPages) rollback(w http.ResponseWriter, r *http.Request) error {
	return p.action(w, r, func(ctx context.Context, id string) (string, error) {
		m, err := p.svc.Rollback(ctx, id)
		if err != nil {
			return "", err
		}
		rb := m.Report.Rollback
		msg := "Rolled back: " + strconv.Itoa(len(rb.Removed)) + " removed."
		if len(rb.Kept) > 0 {
			msg += " Kept " + strconv.Itoa(len(rb.Kept)) + " changed since the migration: " + strings.Join(rb.Kept, ", ") + "."
		}
		return msg, nil
	})
}
