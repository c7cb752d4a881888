package access_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/store/storetest"
)

func TestTokenScopes(t *testing.T) {
	authz, err := access.NewAuthorizer(access.Policy{Enabled: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := access.Resource{Type: "locations"}
	tests := []struct {
		scopes []string
		action string
		want   bool
	}{
		{nil, access.ActionDelete, true},
		{[]string{"read"}, access.ActionList, true},
		{[]string{"read"}, access.ActionCreate, false},
		{[]string{"write"}, access.ActionCreate, true},
		{[]string{"write"}, access.ActionRead, false},
		{[]string{"refresh"}, access.ActionRefresh, true},
		{[]string{"*"}, access.ActionAdmin, true},
	}
	for _, tt := range tests {
		p := &access.Principal{Kind: access.KindService, UserRef: "service:ci", Roles: []string{access.RolePlatformAdmin}, Scopes: tt.scopes}
		d := authz.Check(access.NewContext(context.Background(), p), tt.action, res)
		if d.Allowed != tt.want {
			t.Errorf("scopes %v %s: %+v", tt.scopes, tt.action, d)
		}
		if !d.Allowed && !strings.Contains(d.Reason, "scopes") {
			t.Errorf("reason %q does not name the scopes", d.Reason)
		}
	}
	// A token without read sees nothing of the catalog.
	p := &access.Principal{Kind: access.KindService, UserRef: "service:ci", Roles: []string{access.RolePlatformAdmin}, Scopes: []string{"refresh"}}
	sc, err := authz.ReadScope(access.NewContext(context.Background(), p))
	if err != nil || sc.Visible == nil || sc.Visible("component:default/x") {
		t.Errorf("refresh-only token scope: %+v %v", sc, err)
	}
}

func TestRetention(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, ev := range []access.AuditEvent{
		{Time: now.AddDate(0, 0, -400), Actor: "user:default/old", Action: "delete"},
		{Time: now.AddDate(0, 0, -100), Actor: "user:default/emp", Action: "delete"},
		{Time: now.AddDate(0, 0, -100), Actor: "user:default/cy", Contractor: true, Action: "delete"},
		{Time: now.AddDate(0, 0, -10), Actor: "user:default/cy", Contractor: true, Action: "update"},
	} {
		if err := st.Audit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	p := access.Policy{AuditRetentionDays: 365, Contractors: access.Contractors{Permissions: access.ContractorPermissions{DataRetentionDays: 90}}}
	n, err := access.Retention(ctx, st, p, now)
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	left, err := st.QueryAudit(ctx, access.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range left {
		got = append(got, r.Actor+"/"+r.Action)
	}
	if strings.Join(got, " ") != "user:default/cy/update user:default/emp/delete" {
		t.Errorf("kept %v", got)
	}
	if n, _ := access.Retention(ctx, st, access.Policy{}, now); n != 0 {
		t.Errorf("retention off deleted %d", n)
	}
}
