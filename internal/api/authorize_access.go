package api

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// AuditReader is what the audit routes need of the audit log.
type AuditReader interface {
	QueryAudit(ctx context.Context, f access.AuditFilter) ([]access.AuditRecord, error)
}

// ApprovalService is what the approval routes need of the workflow.
type ApprovalService interface {
	Pending(ctx context.Context, limit int) ([]access.Approval, error)
	Get(ctx context.Context, id string) (access.Approval, error)
	Decide(ctx context.Context, id string, approve bool, comment string) (access.Approval, error)
	CanDecide(ctx context.Context, ap access.Approval) access.Decision
}

// RoleLookup resolves the effective roles of a user (GET /api/access/roles).
type RoleLookup interface {
	Enrich(ctx context.Context, p *access.Principal) error
}

// AccessHandler serves /api/access: the audit log (query and JSON lines
// export), approval requests, and effective roles. The Authorize middleware
// has decided each route before it runs.
type AccessHandler struct {
	audit     AuditReader
	approvals ApprovalService
	roles     RoleLookup
	errors    ErrorWriter
}

// NewAccess returns the /api/access handler.
func NewAccess(audit AuditReader, approvals ApprovalService, roles RoleLookup, logger *slog.Logger) *AccessHandler {
	return &AccessHandler{audit: audit, approvals: approvals, roles: roles, errors: ErrorWriter{Logger: logger}}
}

// Routes registers the routes on mux.
func (h *AccessHandler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/access/audit", h.handle(h.queryAudit))
	mux.Handle("GET /api/access/audit/export", h.handle(h.exportAudit))
	mux.Handle("GET /api/access/approvals", h.handle(h.listApprovals))
	mux.Handle("GET /api/access/approvals/{id}", h.handle(h.getApproval))
	mux.Handle("POST /api/access/approvals/{id}/decision", h.handle(h.decideApproval))
	mux.Handle("GET /api/access/roles", h.handle(h.effectiveRoles))
}

func (h *AccessHandler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.errors.Write(w, r, err)
		}
	})
}

// ParseAuditFilter reads actor, action, resource, decision, since, until
// (RFC 3339), before (an id) and limit from query parameters.
func ParseAuditFilter(q map[string][]string) (access.AuditFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := access.AuditFilter{Actor: get("actor"), Action: get("action"), Resource: get("resource"), Decision: get("decision")}
	switch f.Decision {
	case "", access.DecisionAllow, access.DecisionDeny, "none":
	default:
		return f, greenroom.Errorf(greenroom.CodeInvalid, "decision must be allow, deny or none, got %q", f.Decision)
	}
	for _, t := range []struct {
		key string
		dst *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if s := get(t.key); s != "" {
			v, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return f, greenroom.Errorf(greenroom.CodeInvalid, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", t.key, s)
			}
			*t.dst = v
		}
	}
	for _, n := range []struct {
		key string
		max int64
		dst func(int64)
	}{{"before", 1 << 62, func(v int64) { f.BeforeID = v }}, {"limit", access.MaxAuditLimit, func(v int64) { f.Limit = int(v) }}} {
		if s := get(n.key); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < 1 || v > n.max {
				return f, greenroom.Errorf(greenroom.CodeInvalid, "%s must be an integer between 1 and %d, got %q", n.key, n.max, s)
			}
			n.dst(v)
		}
	}
	return f, nil
}

type auditPage struct {
	Items []access.AuditRecord `json:"items"`
	// Next is the before parameter of the next page, 0 at the end.
	Next int64 `json:"next,omitempty"`
}

func (h *AccessHandler) queryAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseAuditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = access.DefaultAuditLimit
	}
	recs, err := h.audit.QueryAudit(r.Context(), f)
	if err != nil {
		return err
	}
	page := auditPage{Items: recs}
	if page.Items == nil {
		page.Items = []access.AuditRecord{}
	}
	if len(recs) == f.Limit {
		page.Next = recs[len(recs)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// exportAudit streams every matching record as JSON lines, newest first,
// in pages so that memory stays bounded.
func (h *AccessHandler) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := ParseAuditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	f.Limit = 1000
	first, err := h.audit.QueryAudit(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="greenroom-audit.jsonl"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for recs := first; len(recs) > 0; {
		for _, rec := range recs {
			if err := enc.Encode(rec); err != nil {
				return nil // the client went away; the status is sent
			}
		}
		if len(recs) < f.Limit {
			break
		}
		f.BeforeID = recs[len(recs)-1].ID
		if recs, err = h.audit.QueryAudit(r.Context(), f); err != nil {
			h.errors.Logger.Error("audit export failed", "request_id", greenroom.RequestID(r.Context()), "err", err)
			break // mid-stream: the truncated file is the signal
		}
	}
	_ = bw.Flush()
	return nil
}

type approvalView struct {
	access.Approval
	CanDecide bool   `json:"canDecide"`
	Why       string `json:"canDecideReason"`
}

// listApprovals lists the pending requests the caller made or may decide.
func (h *AccessHandler) listApprovals(w http.ResponseWriter, r *http.Request) error {
	aps, err := h.approvals.Pending(r.Context(), 1000)
	if err != nil {
		return err
	}
	me := ""
	if p := access.FromContext(r.Context()); p != nil {
		me = p.UserRef
	}
	out := []approvalView{}
	for _, ap := range aps {
		d := h.approvals.CanDecide(r.Context(), ap)
		if d.Allowed || ap.Requester == me || me == "" {
			out = append(out, approvalView{Approval: ap, CanDecide: d.Allowed, Why: d.Reason})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (h *AccessHandler) getApproval(w http.ResponseWriter, r *http.Request) error {
	ap, err := h.approvals.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d := h.approvals.CanDecide(r.Context(), ap)
	if p := access.FromContext(r.Context()); p != nil && !d.Allowed && ap.Requester != p.UserRef {
		return greenroom.Errorf(greenroom.CodeNotFound, "no approval request %s", ap.ID)
	}
	writeJSON(w, http.StatusOK, approvalView{Approval: ap, CanDecide: d.Allowed, Why: d.Reason})
	return nil
}

type decisionRequest struct {
	Approve *bool  `json:"approve"`
	Comment string `json:"comment"`
}

func (h *AccessHandler) decideApproval(w http.ResponseWriter, r *http.Request) error {
	var req decisionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || req.Approve == nil {
		return greenroom.Errorf(greenroom.CodeInvalid, `the body must be {"approve": true|false, "comment": "…"}`)
	}
	if access.FromContext(r.Context()) == nil {
		return greenroom.Errorf(greenroom.CodeUnauthorized, "sign in to decide approval requests")
	}
	ap, err := h.approvals.Decide(r.Context(), r.PathValue("id"), *req.Approve, req.Comment)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ap)
	return nil
}

type rolesView struct {
	UserRef       string            `json:"userRef"`
	OwnershipRefs []string          `json:"ownershipEntityRefs"`
	Roles         []string          `json:"roles"`
	Contractor    bool              `json:"contractor"`
	Attributes    map[string]string `json:"attributes"`
}

// effectiveRoles resolves ?user=<ref> as sign-in would.
func (h *AccessHandler) effectiveRoles(w http.ResponseWriter, r *http.Request) error {
	v, err := EffectiveRoles(r.Context(), h.roles, r.URL.Query().Get("user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// EffectiveRoles resolves the roles of the user a ref names.
func EffectiveRoles(ctx context.Context, roles RoleLookup, user string) (rolesView, error) {
	ref, err := greenroom.ParseEntityRef(user, "user", "default")
	if err != nil {
		return rolesView{}, greenroom.Errorf(greenroom.CodeInvalid, "user must be a user ref such as user:default/jane")
	}
	p := &access.Principal{Kind: access.KindUser, UserRef: ref.String(), OwnershipRefs: []string{ref.String()}}
	if err := roles.Enrich(ctx, p); err != nil {
		return rolesView{}, err
	}
	return rolesView{UserRef: p.UserRef, OwnershipRefs: p.OwnershipRefs, Roles: p.Roles, Contractor: p.Contractor, Attributes: p.Attributes}, nil
}
