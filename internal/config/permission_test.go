package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"greenroom/internal/access"
)

func TestLoadPermission(t *testing.T) {
	c, r := mustLoad(t, LoadOptions{Files: []string{"testdata/permission/app-config.yaml"}})
	if got := lines(r, SeverityInfo); len(got) != 0 {
		t.Fatalf("problems: %q", got)
	}
	want := access.Policy{
		Enabled: true,
		Bindings: []access.Binding{
			{Role: "platform_admin", Members: []string{"group:default/platform-team"}},
			{Role: "contractor-developer", Members: []string{"group:default/contractors"}},
			{Role: "finance", Members: []string{"user:default/fiona"}},
		},
		DefaultRole:        DefaultPermissionRole,
		AuditRetentionDays: DefaultAuditRetentionDays,
		Contractors: access.Contractors{
			Members:     []string{"group:default/contractors"},
			DefaultRole: "contractor-viewer",
			Permissions: access.ContractorPermissions{AllowedNamespaces: []string{"default"}, DataRetentionDays: 90},
			Boundaries: access.AccessBoundaries{
				RestrictedServices:  []string{"component:default/payments-core"},
				AllowedIntegrations: []string{"github"},
				RequiresApproval:    []string{"scaffolder.task.create", "deployment.sync"},
				Approvers:           []string{"group:default/security", "user:default/sam"},
			},
		},
	}
	if diff := cmp.Diff(want, c.Permission.Policy, cmpopts.IgnoreFields(access.Policy{}, "Files")); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	if len(c.Permission.Policy.Files) != 1 || c.Permission.PolicyFiles[0] != filepath.Join("testdata", "permission", "finance.cedar") || !strings.Contains(string(c.Permission.Policy.Files[0].Text), "finance.cost") {
		t.Errorf("policy files: %v", c.Permission.PolicyFiles)
	}
}

func TestPermissionDefaults(t *testing.T) {
	f := writeConfig(t, "app-config.yaml", "app:\n  title: x\n")
	c, _ := mustLoad(t, LoadOptions{Files: []string{f}})
	if diff := cmp.Diff(Default().Permission, c.Permission); diff != "" {
		t.Errorf("defaults (-code +file):\n%s", diff)
	}
	if c.Permission.Policy.Enabled {
		t.Error("permission enabled by default")
	}
}

func TestPermissionProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // a problem line containing this
	}{
		{"enabled type", "permission:\n  enabled: yes-please\n", "app-config.yaml:2:3: permission.enabled: expected true or false"},
		{"unknown role", "permission:\n  bindings:\n    - { role: platform-admin, members: [group:default/x] }\n",
			`app-config.yaml:3:9: permission.bindings[0].role: unknown role "platform-admin"`},
		{"suggest role", "permission:\n  bindings:\n    - { role: platform-admin, members: [group:default/x] }\n", `did you mean "platform_admin"?`},
		{"bad member", "permission:\n  bindings:\n    - { role: viewer, members: [component:default/x] }\n",
			"permission.bindings[0].members[0]: expected a user or group ref"},
		{"missing members", "permission:\n  bindings:\n    - { role: viewer }\n", "permission.bindings[0].members: missing required key members"},
		{"contractor role", "permission:\n  contractors:\n    defaultRole: contractor\n", `permission.contractors.defaultRole: unknown role "contractor"`},
		{"restricted ref", "permission:\n  contractors:\n    accessBoundaries:\n      restrictedServices: [payments-core]\n",
			"permission.contractors.accessBoundaries.restrictedServices[0]: expected a full entity ref"},
		{"approval action", "permission:\n  contractors:\n    accessBoundaries:\n      requiresApproval: [deploy]\n",
			"permission.contractors.accessBoundaries.requiresApproval[0]: expected an action"},
		{"approver ref", "permission:\n  contractors:\n    accessBoundaries:\n      approvers: [component:default/x]\n",
			"permission.contractors.accessBoundaries.approvers[0]: expected a user or group ref"},
		{"namespace", "permission:\n  contractors:\n    permissions:\n      allowedNamespaces: [Not_A_Namespace]\n",
			"allowedNamespaces[0]: expected a namespace name"},
		{"retention", "permission:\n  contractors:\n    permissions:\n      dataRetentionDays: -1\n", "dataRetentionDays: expected a number of days"},
		{"missing policy file", "permission:\n  policyFiles: [nope.cedar]\n", "permission.policyFiles[0]: cannot read policy file"},
		{"unknown key", "permission:\n  enabeld: true\n", "permission.enabeld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeConfig(t, "app-config.yaml", tt.yaml)
			_, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			got := lines(r, SeverityWarning)
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Fatalf("problems %q lack %q", got, tt.want)
			}
		})
	}
}

func TestPermissionBadPolicyFile(t *testing.T) {
	dir := t.TempDir()
	writeAt(t, filepath.Join(dir, "bad.cedar"), "permit (principal, action, resource) when {")
	f := filepath.Join(dir, "app-config.yaml")
	writeAt(t, f, "permission:\n  policyFiles: [bad.cedar]\n")
	_, r, err := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
	if got := strings.Join(lines(r, SeverityError), "\n"); err == nil || !strings.Contains(got, "bad.cedar") || !strings.Contains(got, "app-config.yaml:2:") {
		t.Fatalf("problems %q", got)
	}
}

func writeAt(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// config check refuses a read policy that does not translate into the
// catalog's read filter, naming the file, line and policy.
func TestPermissionUntranslatableReadPolicy(t *testing.T) {
	dir := t.TempDir()
	writeAt(t, filepath.Join(dir, "reads.cedar"), "// reads\n@id(\"reads.core\")\nforbid (principal, action == Action::\"read\", resource)\nwhen { resource.name like \"*-core\" };\n")
	f := filepath.Join(dir, "app-config.yaml")
	writeAt(t, f, "permission:\n  policyFiles: [reads.cedar]\n")
	_, r, err := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
	got := strings.Join(lines(r, SeverityError), "\n")
	for _, want := range []string{"app-config.yaml:2:", "reads.cedar line 2", "reads.core", "prefix patterns"} {
		if err == nil || !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}
