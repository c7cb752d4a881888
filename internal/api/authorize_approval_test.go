package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

// approvalRig is a server whose POST /api/catalog/locations needs approval
// for contractors: the handler counts what it executes.
type approvalRig struct {
	mux       *http.ServeMux
	h         http.Handler
	approvals *access.Approvals
	audit     *memAudit

	mu       sync.Mutex
	executed []string // the requester of every execution
	// lost marks requesters who lost their roles since requesting (what
	// the rig's enrichment then resolves), revoked the revoked token ids.
	lost    map[string]bool
	revoked map[string]bool
}

// enrich resolves a replayed requester as sign-in would now: the
// contractor keeps their role unless they lost it.
func (rig *approvalRig) enrich(_ context.Context, p *access.Principal) error {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if p.UserRef == contractorP.UserRef {
		p.Contractor, p.OwnershipRefs = true, contractorP.OwnershipRefs
		if !rig.lost[p.UserRef] {
			p.Roles = contractorP.Roles
		}
	}
	return nil
}

func (rig *approvalRig) tokenValid(_ context.Context, id string) error {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if rig.revoked[id] {
		return greenroom.Errorf(greenroom.CodeUnauthorized, "token %s is revoked", id)
	}
	return nil
}

func (rig *approvalRig) setLost(ref string, lost bool) {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	rig.lost[ref] = lost
}

func newApprovalRig(t *testing.T) *approvalRig {
	t.Helper()
	policy := matrixPolicy()
	policy.Bindings = []access.Binding{{Role: access.RolePlatformAdmin, Members: []string{"group:default/admins"}}}
	policy.Contractors.DefaultRole = access.RoleContractorDeveloper
	policy.Contractors.Boundaries.RequiresApproval = append(policy.Contractors.Boundaries.RequiresApproval, access.ActionCreate)
	rig := &approvalRig{mux: http.NewServeMux(), audit: &memAudit{}, lost: map[string]bool{}, revoked: map[string]bool{}}
	authz, err := access.NewAuthorizer(policy, rig.audit, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.SQLite(t)
	rig.approvals = access.NewApprovals(st, authz, rig.audit)
	rig.mux.HandleFunc("POST /api/catalog/locations", func(w http.ResponseWriter, r *http.Request) {
		rig.mu.Lock()
		rig.executed = append(rig.executed, access.FromContext(r.Context()).UserRef)
		rig.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	mw := &Authorize{Mux: rig.mux, Authz: authz, Lookup: fakeLookup{}, Approvals: rig.approvals}
	rig.h = mw.Wrap(rig.mux)
	rig.approvals.Register(ReplayExecutor, Replay(rig.h, rig.enrich, rig.tokenValid))
	return rig
}

var (
	contractorP = &access.Principal{Kind: access.KindUser, UserRef: "user:default/cy", Contractor: true,
		OwnershipRefs: []string{"group:default/contractors"}, Roles: []string{access.RoleContractorDeveloper}}
	adminP     = &access.Principal{Kind: access.KindUser, UserRef: "user:default/ada", OwnershipRefs: []string{"group:default/admins"}, Roles: []string{access.RolePlatformAdmin}}
	developerP = &access.Principal{Kind: access.KindUser, UserRef: "user:default/dev", Roles: []string{access.RoleDeveloper}}
)

func (rig *approvalRig) post(p *access.Principal) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/api/catalog/locations", strings.NewReader(`{"type":"url","target":"https://x/catalog-info.yaml"}`))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(access.NewContext(req.Context(), p))
	rec := httptest.NewRecorder()
	rig.h.ServeHTTP(rec, req)
	return rec
}

func TestApprovalFlow(t *testing.T) {
	rig := newApprovalRig(t)
	ctx := t.Context()
	if rec := rig.post(developerP); rec.Code != http.StatusCreated {
		t.Fatalf("developer create: %d %s", rec.Code, rec.Body)
	}
	rec := rig.post(contractorP)
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"approvalId"`) {
		t.Fatalf("contractor create: %d %s", rec.Code, rec.Body)
	}
	if len(rig.executed) != 1 {
		t.Fatalf("executed before approval: %v", rig.executed)
	}
	pending, err := rig.approvals.Pending(ctx, 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %v %v", pending, err)
	}
	id := pending[0].ID
	if !strings.Contains(rec.Header().Get("Location"), id) {
		t.Errorf("Location %q", rec.Header().Get("Location"))
	}
	// A developer owns nothing here and cannot decide; the contractor may
	// not decide their own.
	for _, p := range []*access.Principal{developerP, contractorP} {
		if _, err := rig.approvals.Decide(access.NewContext(ctx, p), id, true, ""); greenroom.ErrorCode(err) != greenroom.CodeForbidden {
			t.Errorf("%s decided: %v", p.UserRef, err)
		}
	}
	ap, err := rig.approvals.Decide(access.NewContext(ctx, adminP), id, true, "ok")
	if err != nil || ap.State != access.ApprovalExecuted {
		t.Fatalf("approve: %+v %v", ap, err)
	}
	if len(rig.executed) != 2 || rig.executed[1] != contractorP.UserRef {
		t.Fatalf("executed %v", rig.executed)
	}
	if _, err := rig.approvals.Decide(access.NewContext(ctx, adminP), id, true, ""); greenroom.ErrorCode(err) != greenroom.CodeConflict {
		t.Errorf("second approval: %v", err)
	}
	var actions []string
	for _, ev := range rig.audit.events() {
		if ev.Action == "create" && ev.Source != "192.0.2.1" {
			t.Errorf("audit source %q, want the client address", ev.Source)
		}
		actions = append(actions, ev.Action+"/"+ev.Decision)
	}
	want := "create/allow create/deny approval.request/ approval.decide/deny approval.decide/deny approval.decide/allow approval.approved/ create/allow approval.executed/ approval.decide/allow"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
}

// Property: approval gate. Approval-required actions never execute
// without an approval record: whatever requests, decisions and losses of
// the requester's rights come in whatever order, every execution of a
// contractor's create is matched by one approval request that a permitted
// approver (never the requester) approved while the requester still had
// the right; an approval given after they lost it fails and runs nothing;
// each approval executes at most once.
func TestApprovalRequiredNeverExecutesUnapproved(t *testing.T) {
	rig := newApprovalRig(t)
	ctx := t.Context()
	deciders := []*access.Principal{adminP, developerP, contractorP}
	rapid.Check(t, func(rt *rapid.T) {
		rig.mu.Lock()
		rig.executed = nil
		rig.mu.Unlock()
		before, err := rig.approvals.Pending(ctx, 1000)
		if err != nil {
			rt.Fatal(err)
		}
		known := map[string]bool{}
		for _, ap := range before {
			known[ap.ID] = true
		}
		var mine []string
		approvedByAllowed, failedForLostRights := 0, 0
		lost := false
		rig.setLost(contractorP.UserRef, false)
		for i := range rapid.IntRange(1, 12).Draw(rt, "steps") {
			switch rapid.IntRange(0, 3).Draw(rt, fmt.Sprint("op", i)) {
			case 3: // the requester loses (or gets back) their role
				lost = !lost
				rig.setLost(contractorP.UserRef, lost)
				continue
			case 0:
				if lost {
					continue // they could not even ask
				}
				if rec := rig.post(contractorP); rec.Code != http.StatusAccepted {
					rt.Fatalf("request: %d %s", rec.Code, rec.Body)
				}
				pend, _ := rig.approvals.Pending(ctx, 1000)
				for _, ap := range pend {
					if !known[ap.ID] {
						known[ap.ID] = true
						mine = append(mine, ap.ID)
					}
				}
			default:
				if len(mine) == 0 {
					continue
				}
				id := rapid.SampledFrom(mine).Draw(rt, "id")
				who := rapid.SampledFrom(deciders).Draw(rt, "who")
				approve := rapid.Bool().Draw(rt, "approve")
				cur, err := rig.approvals.Get(ctx, id)
				if err != nil {
					rt.Fatal(err)
				}
				ap, err := rig.approvals.Decide(access.NewContext(ctx, who), id, approve, "")
				switch {
				case who != adminP:
					if greenroom.ErrorCode(err) != greenroom.CodeForbidden {
						rt.Fatalf("%s decided: %+v %v", who.UserRef, ap, err)
					}
				case cur.State != access.ApprovalPending:
					if greenroom.ErrorCode(err) != greenroom.CodeConflict {
						rt.Fatalf("decided twice: %+v %v", ap, err)
					}
				case err != nil:
					rt.Fatal(err)
				case approve && lost:
					if ap.State != access.ApprovalFailed || !strings.Contains(ap.Result, "may no longer") {
						rt.Fatalf("approved while the requester lost the right: %+v", ap)
					}
					failedForLostRights++
				case approve:
					approvedByAllowed++
				}
			}
			rig.mu.Lock()
			n := len(rig.executed)
			rig.mu.Unlock()
			if n != approvedByAllowed {
				rt.Fatalf("%d executions, %d approvals", n, approvedByAllowed)
			}
		}
		executedRecords, failedRecords := 0, 0
		for _, id := range mine {
			ap, err := rig.approvals.Get(ctx, id)
			if err != nil {
				rt.Fatal(err)
			}
			switch ap.State {
			case access.ApprovalExecuted:
				executedRecords++
				if ap.DecidedBy == ap.Requester || ap.DecidedBy != adminP.UserRef {
					rt.Fatalf("executed approval decided by %s for %s", ap.DecidedBy, ap.Requester)
				}
			case access.ApprovalFailed:
				failedRecords++
			case access.ApprovalApproved:
				rt.Fatalf("approval %s left %s", id, ap.State)
			}
		}
		if executedRecords != len(rig.executed) || failedRecords != failedForLostRights {
			rt.Fatalf("%d executed records, %d executions; %d failed, %d approved after the right was lost",
				executedRecords, len(rig.executed), failedRecords, failedForLostRights)
		}
		for _, who := range rig.executed {
			if who != contractorP.UserRef {
				rt.Fatalf("executed as %s", who)
			}
		}
	})
}

// An approved action does not run when the requester lost the right, or
// their token, in between: the approval fails with the reason, audited.
func TestApprovalRechecksTheRequester(t *testing.T) {
	rig := newApprovalRig(t)
	ctx := t.Context()
	withToken := *contractorP
	withToken.TokenID, withToken.Scopes = "tok-1", []string{"write"}
	for _, tc := range []struct {
		name   string
		p      *access.Principal
		before func()
		want   string
	}{
		{"role gone", contractorP, func() { rig.setLost(contractorP.UserRef, true) }, "the requester may no longer create: no policy permits create"},
		{"token revoked", &withToken, func() { rig.mu.Lock(); rig.revoked["tok-1"] = true; rig.mu.Unlock() }, "token tok-1 is no longer valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig.setLost(contractorP.UserRef, false)
			if rec := rig.post(tc.p); rec.Code != http.StatusAccepted {
				t.Fatalf("request: %d %s", rec.Code, rec.Body)
			}
			pending, err := rig.approvals.Pending(ctx, 10)
			if err != nil || len(pending) != 1 {
				t.Fatalf("pending %v %v", pending, err)
			}
			tc.before()
			n := len(rig.executed)
			ap, err := rig.approvals.Decide(access.NewContext(ctx, adminP), pending[0].ID, true, "ok")
			if err != nil {
				t.Fatal(err)
			}
			if ap.State != access.ApprovalFailed || !strings.Contains(ap.Result, tc.want) {
				t.Fatalf("approval %s: %q, want failed with %q", ap.State, ap.Result, tc.want)
			}
			if len(rig.executed) != n {
				t.Fatalf("executed: %v", rig.executed)
			}
			stored, err := rig.approvals.Get(ctx, ap.ID)
			if err != nil || stored.State != access.ApprovalFailed || stored.Result != ap.Result {
				t.Fatalf("stored %+v %v", stored, err)
			}
			evs := rig.audit.events()
			last := evs[len(evs)-1]
			if last.Action != "approval.failed" || !strings.Contains(last.Reason, tc.want) {
				t.Errorf("last audit event %+v", last)
			}
		})
	}
	// The re-check itself is audited with the approval it ran for.
	found := false
	for _, ev := range rig.audit.events() {
		if ev.Action == access.ActionCreate && ev.Decision == access.DecisionDeny && ev.Details["recheck"] == "true" && ev.Details["approval"] != "" {
			found = true
		}
	}
	if !found {
		t.Error("the re-check's denial is not audited")
	}
}

// The approvals API lists and shows a request only to its requester and
// to those who may decide it, and decides through the workflow.
func TestApprovalsAPI(t *testing.T) {
	rig := newApprovalRig(t)
	if rec := rig.post(contractorP); rec.Code != http.StatusAccepted {
		t.Fatalf("request: %d", rec.Code)
	}
	mux := http.NewServeMux()
	NewAccess(nil, rig.approvals, nil, nil).Routes(mux)
	call := func(p *access.Principal, method, target, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req.WithContext(access.NewContext(req.Context(), p)))
		return rec
	}
	var list struct {
		Items []struct {
			ID        string `json:"id"`
			CanDecide bool   `json:"canDecide"`
		} `json:"items"`
	}
	for _, tc := range []struct {
		p         *access.Principal
		n         int
		canDecide bool
	}{{contractorP, 1, false}, {adminP, 1, true}, {developerP, 0, false}} {
		rec := call(tc.p, "GET", "/api/access/approvals", "")
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != tc.n || (tc.n == 1 && list.Items[0].CanDecide != tc.canDecide) {
			t.Errorf("%s sees %+v", tc.p.UserRef, list.Items)
		}
	}
	pend, _ := rig.approvals.Pending(t.Context(), 10)
	id := pend[0].ID
	if rec := call(developerP, "GET", "/api/access/approvals/"+id, ""); rec.Code != http.StatusNotFound {
		t.Errorf("developer reads the request: %d", rec.Code)
	}
	if rec := call(adminP, "POST", "/api/access/approvals/"+id+"/decision", `{"comment":"x"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("decision without approve: %d", rec.Code)
	}
	if rec := call(contractorP, "POST", "/api/access/approvals/"+id+"/decision", `{"approve":true}`); rec.Code != http.StatusForbidden {
		t.Errorf("self-approval: %d %s", rec.Code, rec.Body)
	}
	rec := call(adminP, "POST", "/api/access/approvals/"+id+"/decision", `{"approve":false,"comment":"no"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"state":"denied"`) {
		t.Fatalf("deny: %d %s", rec.Code, rec.Body)
	}
	if len(rig.executed) != 0 {
		t.Errorf("denied request executed")
	}
}
