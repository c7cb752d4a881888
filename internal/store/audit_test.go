package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestAuditRoundTripAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		evs := []access.AuditEvent{
			{Time: t0, Actor: "user:default/jane", ActorKind: access.KindUser, Action: "delete", Resource: "component:default/a",
				Decision: access.DecisionAllow, Reason: "permitted by developer.own", RequestID: "r1", Source: "10.0.0.1",
				Details: map[string]string{"k": "v"}},
			{Time: t0.Add(time.Minute), Actor: "user:default/cy", ActorKind: access.KindUser, Contractor: true, Action: "deployment.sync",
				Resource: "component:default/b", Decision: access.DecisionDeny, Reason: "requires approval"},
			{Time: t0.Add(2 * time.Minute), Actor: "user:default/jane", ActorKind: access.KindUser, Action: "approval.request",
				Resource: "approval:x"},
		}
		for _, ev := range evs {
			if err := s.Audit(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.QueryAudit(ctx, access.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[0].Action != "approval.request" || all[2].ID >= all[1].ID {
			t.Fatalf("newest first: %+v", all)
		}
		if diff := cmp.Diff(evs[0], all[2].AuditEvent); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		if !all[1].Contractor {
			t.Error("contractor flag lost")
		}
		tests := []struct {
			name string
			f    access.AuditFilter
			want []string // actions
		}{
			{"actor", access.AuditFilter{Actor: "user:default/jane"}, []string{"approval.request", "delete"}},
			{"action prefix", access.AuditFilter{Action: "approval.*"}, []string{"approval.request"}},
			{"action exact", access.AuditFilter{Action: "delete"}, []string{"delete"}},
			{"decision", access.AuditFilter{Decision: "deny"}, []string{"deployment.sync"}},
			{"no decision", access.AuditFilter{Decision: "none"}, []string{"approval.request"}},
			{"resource", access.AuditFilter{Resource: "component:default/b"}, []string{"deployment.sync"}},
			{"since", access.AuditFilter{Since: t0.Add(time.Minute)}, []string{"approval.request", "deployment.sync"}},
			{"until", access.AuditFilter{Until: t0.Add(time.Minute)}, []string{"delete"}},
			{"page", access.AuditFilter{BeforeID: all[0].ID, Limit: 1}, []string{"deployment.sync"}},
		}
		for _, tt := range tests {
			got, err := s.QueryAudit(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, r := range got {
				actions = append(actions, r.Action)
			}
			if diff := cmp.Diff(tt.want, actions); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
		// Retention: contractors' events go first.
		n, err := s.DeleteAuditBefore(ctx, t0.Add(10*time.Minute), true)
		if err != nil || n != 1 {
			t.Fatalf("contractor retention deleted %d, %v", n, err)
		}
		n, err = s.DeleteAuditBefore(ctx, t0.Add(90*time.Second), false)
		if err != nil || n != 1 {
			t.Fatalf("retention deleted %d, %v", n, err)
		}
		left, _ := s.QueryAudit(ctx, access.AuditFilter{})
		if len(left) != 1 || left[0].Action != "approval.request" {
			t.Fatalf("left %+v", left)
		}
		if err := s.Audit(ctx, access.AuditEvent{}); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("empty event: %v", err)
		}
	})
}

// The log is append-only in the database itself: an UPDATE fails.
func TestAuditAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := s.Audit(ctx, access.AuditEvent{Action: "delete", Actor: "user:default/jane"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.WriteDB().ExecContext(ctx, "UPDATE audit_events SET actor = 'user:default/mallory'")
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update: %v", err)
		}
		got, _ := s.QueryAudit(ctx, access.AuditFilter{})
		if got[0].Actor != "user:default/jane" {
			t.Fatalf("changed: %+v", got[0])
		}
	})
}

// Concurrent writers lose nothing and ids stay unique, and what was
// written survives reopening the database.
func TestAuditConcurrentAndDurable(t *testing.T) {
	storetest.EachOptions(t, func(t *testing.T, opts store.Options) {
		ctx := t.Context()
		s := storetest.Open(t, opts)
		const writers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					errs <- s.Audit(ctx, access.AuditEvent{Action: "update", Actor: fmt.Sprintf("user:default/u%d", w), Resource: fmt.Sprint(i)})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := storetest.Open(t, opts)
		got, err := s2.QueryAudit(ctx, access.AuditFilter{Limit: access.MaxAuditLimit})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		per := map[string]int{}
		for _, r := range got {
			ids[r.ID] = true
			per[r.Actor]++
		}
		if len(got) != writers*each || len(ids) != len(got) {
			t.Fatalf("%d events, %d ids", len(got), len(ids))
		}
		for a, n := range per {
			if n != each {
				t.Errorf("%s wrote %d", a, n)
			}
		}
	})
}

func TestApprovalTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		a := access.Approval{ID: "a1", Action: "deployment.sync", Resource: "component:default/x", Owner: "group:default/t",
			Requester: "user:default/cy", Executor: "deploy", Payload: []byte(`{"app":"x"}`), Reason: "requires approval", CreatedAt: now}
		if err := s.CreateApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.Approval(ctx, "a1")
		if err != nil || got.State != access.ApprovalPending || string(got.Payload) != `{"app":"x"}` || !got.CreatedAt.Equal(now) {
			t.Fatalf("got %+v, %v", got, err)
		}
		if _, err := s.Approval(ctx, "nope"); !greenroom.IsNotFound(err) {
			t.Errorf("unknown: %v", err)
		}
		if err := s.FinishApproval(ctx, "a1", access.ApprovalExecuted, "", now); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("finish pending: %v", err)
		}
		d, err := s.DecideApproval(ctx, "a1", access.ApprovalApproved, "user:default/jane", "ok", now.Add(time.Minute))
		if err != nil || d.State != access.ApprovalApproved || d.DecidedBy != "user:default/jane" {
			t.Fatalf("decide: %+v %v", d, err)
		}
		if _, err := s.DecideApproval(ctx, "a1", access.ApprovalDenied, "user:default/x", "", now); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("second decision: %v", err)
		}
		if err := s.FinishApproval(ctx, "a1", access.ApprovalExecuted, "", now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		pending, _ := s.ListApprovals(ctx, access.ApprovalPending, 0)
		all, _ := s.ListApprovals(ctx, "", 0)
		if len(pending) != 0 || len(all) != 1 || all[0].State != access.ApprovalExecuted || all[0].FinishedAt.IsZero() {
			t.Fatalf("pending %v all %+v", pending, all)
		}
	})
}
