package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

type fakeAdminAuthz struct{ allow map[string]bool }

func (f fakeAdminAuthz) Check(_ context.Context, action string, _ access.Resource) access.Decision {
	if f.allow[action] {
		return access.Decision{Allowed: true, Reason: "permitted by test"}
	}
	return access.Decision{Reason: "no policy permits " + action}
}
func (fakeAdminAuthz) Enabled() bool { return true }
func (fakeAdminAuthz) Policy() access.Policy {
	return access.Policy{Enabled: true, DefaultRole: "developer",
		Bindings: []access.Binding{{Role: "platform_admin", Members: []string{"group:default/platform-team"}}},
		Contractors: access.Contractors{Members: []string{"group:default/contractors"}, DefaultRole: "contractor-viewer",
			Boundaries: access.AccessBoundaries{RestrictedServices: []string{"component:default/payments-core"}}}}
}

type fakeAdminAudit struct{ got access.AuditFilter }

func (f *fakeAdminAudit) QueryAudit(_ context.Context, flt access.AuditFilter) ([]access.AuditRecord, error) {
	f.got = flt
	return []access.AuditRecord{{ID: 7, AuditEvent: access.AuditEvent{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Actor: "user:default/jane", Action: "delete", Resource: "component:default/x", Decision: "deny", Reason: "no policy permits delete <b>"}}}, nil
}

type fakeAdminApprovals struct{ decided []string }

func (f *fakeAdminApprovals) Pending(context.Context, int) ([]access.Approval, error) {
	return []access.Approval{
		{ID: "ap-1", Action: "deployment.sync", Resource: "component:default/x", Requester: "user:default/cy", State: "pending", CreatedAt: time.Now()},
		{ID: "ap-2", Action: "create", Resource: "locations", Requester: "user:default/cy", State: "pending", CreatedAt: time.Now()},
	}, nil
}
func (f *fakeAdminApprovals) Decide(_ context.Context, id string, approve bool, comment string) (access.Approval, error) {
	f.decided = append(f.decided, id+"/"+map[bool]string{true: "approve", false: "deny"}[approve]+"/"+comment)
	return access.Approval{ID: id, State: "executed"}, nil
}
func (f *fakeAdminApprovals) CanDecide(_ context.Context, ap access.Approval) access.Decision {
	if ap.ID == "ap-1" {
		return access.Decision{Allowed: true}
	}
	return access.Decision{Reason: "you are not in the owning group"}
}

type fakeRoles struct{}

func (fakeRoles) Enrich(_ context.Context, p *access.Principal) error {
	if p.UserRef == "user:default/jane" {
		p.Roles = []string{"developer"}
	}
	return nil
}

func newAdminFixture(t *testing.T, allow map[string]bool) (*http.ServeMux, *fakeAdminApprovals, *fakeAdminAudit) {
	t.Helper()
	svc, err := catalog.NewService(storetest.SQLite(t), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New("Acme", svc, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	aps, audit := &fakeAdminApprovals{}, &fakeAdminAudit{}
	parse := func(q url.Values) (access.AuditFilter, error) {
		if d := q.Get("decision"); d != "" && d != "allow" && d != "deny" && d != "none" {
			return access.AuditFilter{}, greenroom.Errorf(greenroom.CodeInvalid, "decision must be allow, deny or none")
		}
		return access.AuditFilter{Actor: q.Get("actor"), Decision: q.Get("decision")}, nil
	}
	mux := http.NewServeMux()
	h.AdminPages(fakeAdminAuthz{allow: allow}, audit, aps, fakeRoles{}, parse).Routes(mux)
	h.Routes(mux)
	return mux, aps, audit
}

func serve(mux *http.ServeMux, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestAdminOverviewSaysWhatIsNotAllowed(t *testing.T) {
	mux, _, _ := newAdminFixture(t, map[string]bool{"list": true})
	rec := serve(mux, httptest.NewRequest("GET", "/admin", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<a href="/admin/approvals">Pending approvals</a>`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
	if strings.Contains(body, `href="/admin/audit"`) || !strings.Contains(body, "You cannot open this page: no policy permits audit.read") {
		t.Errorf("audit link not disabled with its reason: %s", body)
	}
	if !strings.Contains(body, `aria-current`) && !strings.Contains(body, `href="/admin"`) {
		t.Errorf("no Admin navigation item")
	}
}

func TestAdminBindingsAndLookup(t *testing.T) {
	mux, _, _ := newAdminFixture(t, nil)
	body := serve(mux, httptest.NewRequest("GET", "/admin/bindings?user=jane", nil)).Body.String()
	for _, want := range []string{"<code>platform_admin</code>", "<code>group:default/platform-team</code>", "<code>component:default/payments-core</code>",
		"<dt>Roles</dt><dd><code>developer</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("bindings page lacks %q", want)
		}
	}
	body = serve(mux, httptest.NewRequest("GET", "/admin/bindings?user=a:/c", nil)).Body.String()
	if !strings.Contains(body, `role="alert"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("bad user ref not flagged: %s", body)
	}
}

func TestAdminApprovalsCSRFAndDecide(t *testing.T) {
	mux, aps, _ := newAdminFixture(t, nil)
	rec := serve(mux, httptest.NewRequest("GET", "/admin/approvals", nil))
	body := rec.Body.String()
	if !strings.Contains(body, `action="/admin/approvals/ap-1"`) || strings.Contains(body, `action="/admin/approvals/ap-2"`) ||
		!strings.Contains(body, "You cannot decide this request: you are not in the owning group") {
		t.Fatalf("approvals page: %s", body)
	}
	var csrf *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == csrfCookie {
			csrf = c
		}
	}
	post := func(form url.Values, withCookie bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/admin/approvals/ap-1", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if withCookie {
			req.AddCookie(csrf)
		}
		return serve(mux, req)
	}
	if rec := post(url.Values{"decision": {"approve"}, "csrf": {csrf.Value}}, false); rec.Code != http.StatusForbidden {
		t.Errorf("without the CSRF cookie: %d", rec.Code)
	}
	if rec := post(url.Values{"decision": {"approve"}, "csrf": {"wrong"}}, true); rec.Code != http.StatusForbidden {
		t.Errorf("with a wrong token: %d", rec.Code)
	}
	if len(aps.decided) != 0 {
		t.Fatalf("decided without CSRF: %v", aps.decided)
	}
	rec = post(url.Values{"decision": {"approve"}, "csrf": {csrf.Value}, "comment": {"looks fine"}}, true)
	if rec.Code != http.StatusSeeOther || len(aps.decided) != 1 || aps.decided[0] != "ap-1/approve/looks fine" {
		t.Fatalf("decide: %d %v", rec.Code, aps.decided)
	}
}

func TestAdminAuditSearch(t *testing.T) {
	mux, _, audit := newAdminFixture(t, nil)
	body := serve(mux, httptest.NewRequest("GET", "/admin/audit?actor=user:default/jane&decision=deny", nil)).Body.String()
	if audit.got.Actor != "user:default/jane" || audit.got.Decision != "deny" {
		t.Errorf("filter %+v", audit.got)
	}
	for _, want := range []string{"<code>component:default/x</code>", "no policy permits delete &lt;b&gt;", `href="/api/access/audit/export?actor=user%3Adefault%2Fjane&amp;decision=deny"`,
		`<option value="deny" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("audit page lacks %q:\n%s", want, body)
		}
	}
	body = serve(mux, httptest.NewRequest("GET", "/admin/audit?decision=maybe", nil)).Body.String()
	if !strings.Contains(body, "decision must be allow, deny or none") {
		t.Errorf("bad filter not reported: %s", body)
	}
}
