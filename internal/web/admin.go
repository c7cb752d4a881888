package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

func init() { registerNav(navItem{ID: "admin", Label: "Admin", Path: "/admin", Order: 95}) }

// AdminAuthz is what the admin pages ask of the permission layer: whether
// the viewer may take an action (to hide or disable what they cannot do),
// the policy shown read-only, and effective roles.
type AdminAuthz interface {
	Check(ctx context.Context, action string, res access.Resource) access.Decision
	Policy() access.Policy
	Enabled() bool
}

// AdminAudit reads the audit log.
type AdminAudit interface {
	QueryAudit(ctx context.Context, f access.AuditFilter) ([]access.AuditRecord, error)
}

// AdminApprovals is the approval workflow.
type AdminApprovals interface {
	Pending(ctx context.Context, limit int) ([]access.Approval, error)
	Decide(ctx context.Context, id string, approve bool, comment string) (access.Approval, error)
	CanDecide(ctx context.Context, ap access.Approval) access.Decision
}

// AdminRoles resolves a user's effective roles as sign-in does.
type AdminRoles interface {
	Enrich(ctx context.Context, p *access.Principal) error
}

// AdminPages serves /admin: role bindings (read-only, from config) with an
// effective-roles lookup, pending approvals with approve and deny forms,
// and audit search. Every user sees the Admin item; each page says what
// the viewer may not do and why instead of offering dead ends.
type AdminPages struct {
	h         *Handler
	authz     AdminAuthz
	audit     AdminAudit
	approvals AdminApprovals
	roles     AdminRoles
	tokens    AdminTokens // nil: no sign-in tokens (SetTokens)
	// ParseAuditFilter reads the audit filters (the API's parser).
	parseFilter func(url.Values) (access.AuditFilter, error)
}

// AdminPages returns the admin pages.
func (h *Handler) AdminPages(authz AdminAuthz, audit AdminAudit, approvals AdminApprovals, roles AdminRoles,
	parseFilter func(url.Values) (access.AuditFilter, error)) *AdminPages {
	return &AdminPages{h: h, authz: authz, audit: audit, approvals: approvals, roles: roles, parseFilter: parseFilter}
}

// Routes registers the admin pages on mux.
func (a *AdminPages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /admin", a.h.handle(a.overview))
	mux.Handle("GET /admin/bindings", a.h.handle(a.bindings))
	mux.Handle("GET /admin/approvals", a.h.handle(a.approvalsPage))
	mux.Handle("POST /admin/approvals/{id}", a.h.handle(a.decide))
	mux.Handle("GET /admin/audit", a.h.handle(a.auditPage))
	mux.Handle("GET /admin/tokens", a.h.handle(a.tokensPage))
	mux.Handle("POST /admin/tokens/{id}/revoke", a.h.handle(a.revokeToken))
}

// RenderError renders err as the portal's error page (for the permission
// middleware's denials of page routes).
func (a *AdminPages) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	a.h.renderError(w, r, err)
}

// adminLink is one admin area with whether the viewer may use it.
type adminLink struct {
	Path, Label, About string
	Allowed            bool
	Why                string
}

func (a *AdminPages) overview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	links := []adminLink{
		{Path: "/admin/bindings", Label: "Role bindings", About: "Who has which role, from permission.bindings; look up a user's effective roles.",
			Allowed: true},
		{Path: "/admin/approvals", Label: "Pending approvals", About: "Requests for actions that need approval; approve or deny them."},
		{Path: "/admin/audit", Label: "Audit log", About: "Every sign-in, permission decision on a write, approval and admin change."},
		{Path: "/admin/tokens", Label: "Tokens", About: "Every user's personal access and service tokens: owner, scopes, last use; revoke any of them."},
	}
	for i, act := range []string{access.ActionAdmin, access.ActionList, access.ActionAuditRead, access.ActionAdmin} {
		res := access.Resource{Type: []string{"admin", "approvals", "audit", "admin"}[i]}
		d := a.authz.Check(ctx, act, res)
		links[i].Allowed, links[i].Why = d.Allowed, d.Reason
	}
	return a.h.render(w, r, http.StatusOK, "admin_overview", &page{Title: "Admin", Nav: "admin", Data: struct {
		Links   []adminLink
		Enabled bool
	}{links, a.authz.Enabled()}})
}

type bindingsView struct {
	Enabled     bool
	Policy      access.Policy
	User        string
	Effective   *access.Principal
	LookupError string
}

func (a *AdminPages) bindings(w http.ResponseWriter, r *http.Request) error {
	v := bindingsView{Enabled: a.authz.Enabled(), Policy: a.authz.Policy(), User: strings.TrimSpace(r.URL.Query().Get("user"))}
	if v.User != "" {
		ref, err := greenroom.ParseEntityRef(v.User, "user", "default")
		if err != nil {
			v.LookupError = "Enter a user ref such as user:default/jane or just jane."
		} else {
			p := &access.Principal{Kind: access.KindUser, UserRef: strings.ToLower(ref.String()), OwnershipRefs: []string{strings.ToLower(ref.String())}}
			if err := a.roles.Enrich(r.Context(), p); err != nil {
				return err
			}
			v.Effective = p
		}
	}
	return a.h.render(w, r, http.StatusOK, "admin_bindings", &page{Title: "Role bindings", Nav: "admin", Data: v})
}

type approvalRow struct {
	access.Approval
	CanDecide bool
	Why       string
}

func (a *AdminPages) approvalsPage(w http.ResponseWriter, r *http.Request) error {
	aps, err := a.approvals.Pending(r.Context(), 1000)
	if err != nil {
		return err
	}
	me := a.h.viewer(r).UserRef
	if p := access.FromContext(r.Context()); p != nil {
		me = p.UserRef
	}
	var rows []approvalRow
	for _, ap := range aps {
		d := a.approvals.CanDecide(r.Context(), ap)
		if d.Allowed || ap.Requester == me || access.FromContext(r.Context()) == nil {
			rows = append(rows, approvalRow{Approval: ap, CanDecide: d.Allowed, Why: d.Reason})
		}
	}
	return a.h.render(w, r, http.StatusOK, "admin_approvals", &page{Title: "Pending approvals", Nav: "admin", Data: struct {
		Rows []approvalRow
		Done string
	}{rows, r.URL.Query().Get("done")}})
}

func (a *AdminPages) decide(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read.")
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	approve := r.PostFormValue("decision") == "approve"
	if !approve && r.PostFormValue("decision") != "deny" {
		return greenroom.Errorf(greenroom.CodeInvalid, "Choose approve or deny.")
	}
	ap, err := a.approvals.Decide(r.Context(), r.PathValue("id"), approve, clip(r.PostFormValue("comment"), 500))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/approvals?done="+url.QueryEscape(ap.ID+" "+ap.State), http.StatusSeeOther)
	return nil
}

type auditView struct {
	Query     url.Values
	Records   []access.AuditRecord
	Error     string
	Export    string
	Next      string
	Decisions []string
}

func (a *AdminPages) auditPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := auditView{Query: q, Decisions: []string{"", access.DecisionAllow, access.DecisionDeny, "none"}}
	f, err := a.parseFilter(q)
	if err != nil {
		v.Error = greenroom.ErrorMessage(err)
	} else {
		if f.Limit == 0 {
			f.Limit = 100
		}
		if v.Records, err = a.audit.QueryAudit(r.Context(), f); err != nil {
			return err
		}
		if len(v.Records) == f.Limit {
			nq := url.Values{}
			for k, vs := range q {
				nq[k] = vs
			}
			nq.Set("before", strconv.FormatInt(v.Records[len(v.Records)-1].ID, 10))
			v.Next = "/admin/audit?" + nq.Encode()
		}
	}
	eq := url.Values{}
	for k, vs := range q {
		if k != "before" && k != "limit" {
			eq[k] = vs
		}
	}
	v.Export = "/api/access/audit/export?" + eq.Encode()
	return a.h.render(w, r, http.StatusOK, "admin_audit", &page{Title: "Audit log", Nav: "admin", Data: v})
}

// refVisibility is the catalog's VisibleRefs: what of refs learnt from
// change events and refresh problems the viewer may see.
type refVisibility interface {
	VisibleRefs(ctx context.Context, refs []string) ([]string, error)
}

// visibleOnly drops the changes and problems that name entities the
// viewer may not see (a contractor's restricted services), which the home
// page would otherwise list by name.
func (h *Handler) visibleOnly(ctx context.Context, changes []change, problems []*catalog.ProcessingError) ([]change, []*catalog.ProcessingError, error) {
	rv, ok := h.catalog.(refVisibility)
	if !ok {
		return changes, problems, nil
	}
	var refs []string
	for _, c := range changes {
		refs = append(refs, c.Ref)
	}
	for _, p := range problems {
		refs = append(refs, p.Ref)
	}
	vis, err := rv.VisibleRefs(ctx, refs)
	if err != nil {
		return nil, nil, err
	}
	if len(vis) == len(refs) {
		return changes, problems, nil
	}
	keep := map[string]bool{}
	for _, r := range vis {
		keep[r] = true
	}
	var cs []change
	for _, c := range changes {
		if keep[c.Ref] {
			cs = append(cs, c)
		}
	}
	var ps []*catalog.ProcessingError
	for _, p := range problems {
		if keep[p.Ref] {
			ps = append(ps, p)
		}
	}
	return cs, ps, nil
}
