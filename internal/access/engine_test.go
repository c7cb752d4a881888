package access

import (
	"strings"
	"testing"
)

// examplePolicy is the example permission section.
func examplePolicy() Policy {
	return Policy{
		Enabled: true,
		Bindings: []Binding{
			{Role: RolePlatformAdmin, Members: []string{"group:default/platform-team"}},
			{Role: RoleContractorDeveloper, Members: []string{"group:default/contractors"}},
		},
		DefaultRole: RoleViewer,
		Contractors: Contractors{
			Members:     []string{"group:default/contractors"},
			DefaultRole: RoleContractorViewer,
			Permissions: ContractorPermissions{AllowedNamespaces: []string{"default"}, DataRetentionDays: 90},
			Boundaries: AccessBoundaries{
				RestrictedServices:  []string{"component:default/payments-core"},
				AllowedIntegrations: []string{"github"},
				RequiresApproval:    []string{ActionScaffolderCreate, ActionDeploymentSync},
			},
		},
	}
}

func entityResource(ref, owner string) Resource {
	kind, rest, _ := strings.Cut(ref, ":")
	ns, name, _ := strings.Cut(rest, "/")
	return Resource{Type: "entity", Ref: ref, Kind: kind, Namespace: ns, Name: name, Owner: owner}
}

func TestEngineDecisions(t *testing.T) {
	e, err := NewEngine(examplePolicy())
	if err != nil {
		t.Fatal(err)
	}
	jane := &Principal{Kind: KindUser, UserRef: "user:default/jane", OwnershipRefs: []string{"user:default/jane", "group:default/team-a"}, Roles: []string{RoleDeveloper}}
	viewer := &Principal{Kind: KindUser, UserRef: "user:default/vic", Roles: []string{RoleViewer}}
	admin := &Principal{Kind: KindUser, UserRef: "user:default/ada", Roles: []string{RolePlatformAdmin}}
	con := &Principal{Kind: KindUser, UserRef: "user:default/cy", OwnershipRefs: []string{"user:default/cy", "group:default/contractors"},
		Roles: []string{RoleContractorViewer, RoleContractorDeveloper}, Contractor: true}
	own := entityResource("component:default/svc", "group:default/team-a")
	other := entityResource("component:default/other", "group:default/team-b")
	conOwn := entityResource("component:default/cx", "group:default/contractors")
	restricted := entityResource("component:default/payments-core", "group:default/contractors")
	elsewhere := entityResource("component:secret/x", "group:default/contractors")
	tests := []struct {
		name     string
		p        *Principal
		action   string
		res      Resource
		approved bool
		want     string // allow, deny or approval
	}{
		{"developer reads", jane, ActionRead, other, false, "allow"},
		{"developer deletes own", jane, ActionDelete, own, false, "allow"},
		{"developer cannot delete others'", jane, ActionDelete, other, false, "deny"},
		{"developer syncs own", jane, ActionDeploymentSync, own, false, "allow"},
		{"developer no admin", jane, ActionAdmin, Resource{Type: "admin"}, false, "deny"},
		{"viewer reads", viewer, ActionList, Resource{Type: "catalog"}, false, "allow"},
		{"viewer cannot create", viewer, ActionCreate, Resource{Type: "locations"}, false, "deny"},
		{"admin deletes anything", admin, ActionDelete, other, false, "allow"},
		{"admin reads audit", admin, ActionAuditRead, Resource{Type: "audit"}, false, "allow"},
		{"contractor reads in namespace", con, ActionRead, other, false, "allow"},
		{"contractor never reads restricted", con, ActionRead, restricted, false, "deny"},
		{"contractor never reads restricted even approved", con, ActionRead, restricted, true, "deny"},
		{"contractor never reads other namespaces", con, ActionRead, elsewhere, false, "deny"},
		{"contractor scaffolds only with approval", con, ActionScaffolderCreate, Resource{Type: "scaffolder"}, false, "approval"},
		{"contractor scaffolds once approved", con, ActionScaffolderCreate, Resource{Type: "scaffolder"}, true, "allow"},
		{"contractor deploys own with approval", con, ActionDeploymentSync, conOwn, false, "approval"},
		{"contractor cannot deploy others'", con, ActionDeploymentSync, other, false, "deny"},
		{"contractor no cost", con, ActionCostView, conOwn, false, "deny"},
		{"contractor no audit", con, ActionAuditRead, Resource{Type: "audit"}, false, "deny"},
		{"contractor integration not allowed", con, ActionRead, Resource{Type: "integration", Integration: "argocd"}, false, "deny"},
		{"contractor integration allowed", con, ActionRead, Resource{Type: "integration", Integration: "github"}, false, "allow"},
		{"owner approves", jane, ActionApprove, own, false, "allow"},
		{"non-owner cannot approve", jane, ActionApprove, other, false, "deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(Request{Principal: tt.p, Action: tt.action, Resource: tt.res, Approved: tt.approved})
			got := "deny"
			switch {
			case d.Allowed:
				got = "allow"
			case d.NeedsApproval:
				got = "approval"
			}
			if got != tt.want {
				t.Fatalf("got %s (%s), want %s", got, d.Reason, tt.want)
			}
			if d.Reason == "" {
				t.Fatal("no reason")
			}
		})
	}
}

func TestEngineSelfApprovalForbidden(t *testing.T) {
	e, err := NewEngine(examplePolicy())
	if err != nil {
		t.Fatal(err)
	}
	admin := &Principal{Kind: KindUser, UserRef: "user:default/ada", Roles: []string{RolePlatformAdmin}}
	d := e.Decide(Request{Principal: admin, Action: ActionApprove, Resource: Resource{Type: "approvals"}, Requester: "user:default/ada"})
	if d.Allowed || !strings.Contains(d.Reason, "approve.not-self") {
		t.Fatalf("self-approval: %+v", d)
	}
}

func TestEngineExtraPolicyFile(t *testing.T) {
	p := examplePolicy()
	p.Files = []PolicyFile{{Name: "finance.cedar", Text: []byte(`
@id("finance.cost")
permit (principal, action == Action::"cost.view", resource)
when { principal.department == "finance" && resource.cost_center == principal.cost_center };
`)}}
	e, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	fin := &Principal{Kind: KindUser, UserRef: "user:default/fi", Attributes: map[string]string{"department": "finance", "cost_center": "cc1"}}
	res := entityResource("component:default/svc", "group:default/team-a")
	res.Attributes = map[string]string{"cost_center": "cc1"}
	if d := e.Decide(Request{Principal: fin, Action: ActionCostView, Resource: res}); !d.Allowed || !strings.Contains(d.Reason, "finance.cost") {
		t.Fatalf("finance cost: %+v", d)
	}
	res.Attributes["cost_center"] = "cc2"
	if d := e.Decide(Request{Principal: fin, Action: ActionCostView, Resource: res}); d.Allowed {
		t.Fatalf("other cost center allowed: %+v", d)
	}
}

func TestEngineBadPolicyFile(t *testing.T) {
	p := examplePolicy()
	p.Files = []PolicyFile{{Name: "bad.cedar", Text: []byte("permit (principal, action, resource) when { ")}}
	_, err := NewEngine(p)
	if err == nil || !strings.Contains(err.Error(), "bad.cedar") {
		t.Fatalf("err = %v", err)
	}
	p.Files = []PolicyFile{{Name: "dup.cedar", Text: []byte(`@id("viewer.read") permit (principal, action, resource);`)}}
	if _, err := NewEngine(p); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnginePolicyErrorsAreReported(t *testing.T) {
	p := examplePolicy()
	// Not a read policy (those are refused when they load, see
	// TestReadPolicyRefused): it fails when it is evaluated.
	p.Files = []PolicyFile{{Name: "typo.cedar", Text: []byte(`@id("typo") permit (principal, action == Action::"update", resource) when { resource.ownr == "x" };`)}}
	e, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Decide(Request{Principal: &Principal{Kind: KindUser, UserRef: "user:default/x"}, Action: ActionUpdate, Resource: Resource{Type: "catalog"}})
	if d.Allowed || len(d.PolicyErrors) == 0 || !strings.Contains(d.PolicyErrors[0], "typo") || !strings.Contains(d.Reason, "policy errors") {
		t.Fatalf("%+v", d)
	}
}

// Configured approvers decide every request, owned or not, besides the
// owning group's members; never their own, and never as contractors.
func TestEngineConfiguredApprovers(t *testing.T) {
	p := examplePolicy()
	p.Contractors.Boundaries.Approvers = []string{"group:default/Security", "user:default/sam"}
	e, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	owned := Resource{Type: "approvals", Ref: "a1", Owner: "group:default/team-a"}
	unowned := Resource{Type: "approvals", Ref: "a2"}
	sec := &Principal{Kind: KindUser, UserRef: "user:default/sue", OwnershipRefs: []string{"group:default/security"}, Roles: []string{RoleViewer}}
	sam := &Principal{Kind: KindUser, UserRef: "user:default/sam", Roles: []string{RoleViewer}}
	owner := &Principal{Kind: KindUser, UserRef: "user:default/jane", OwnershipRefs: []string{"group:default/team-a"}, Roles: []string{RoleDeveloper}}
	other := &Principal{Kind: KindUser, UserRef: "user:default/olly", OwnershipRefs: []string{"group:default/team-b"}, Roles: []string{RoleDeveloper}}
	contractor := &Principal{Kind: KindUser, UserRef: "user:default/cy", Contractor: true, OwnershipRefs: []string{"group:default/security"}, Roles: []string{RoleContractorViewer}}
	for _, tc := range []struct {
		name      string
		p         *Principal
		res       Resource
		requester string
		want      bool
	}{
		{"approver group member, owned", sec, owned, "user:default/x", true},
		{"approver group member, unowned", sec, unowned, "user:default/x", true},
		{"approver user", sam, unowned, "user:default/x", true},
		{"owner, owned", owner, owned, "user:default/x", true},
		{"owner of nothing here", owner, unowned, "user:default/x", false},
		{"someone else", other, owned, "user:default/x", false},
		{"approver, own request", sam, unowned, "user:default/sam", false},
		{"contractor in approver group", contractor, unowned, "user:default/x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Decide(Request{Principal: tc.p, Action: ActionApprove, Resource: tc.res, Requester: tc.requester})
			if d.Allowed != tc.want {
				t.Errorf("allowed = %v (%s), want %v", d.Allowed, d.Reason, tc.want)
			}
		})
	}
}
