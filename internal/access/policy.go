package access

import (
	"slices"
	"strings"
)

// Policy is the permission configuration (the permission section of
// app-config.yaml), decoded by package config and handed over by the
// composition root.
type Policy struct {
	// Enabled is permission.enabled. When false every signed-in caller may
	// do everything, as in Backstage.
	Enabled  bool
	Bindings []Binding
	// DefaultRole is what a signed-in employee no binding names gets;
	// "" gives such callers no role at all.
	DefaultRole string
	Contractors Contractors
	// Files are the extra policy files (permission.policyFiles), read.
	Files []PolicyFile
	// AuditRetentionDays bounds the age of audit events (0 keeps them);
	// contractors' events go after Contractors.Permissions.DataRetentionDays
	// when that is shorter.
	AuditRetentionDays int
}

// Binding assigns Role to Members: user or group refs ("user:default/jane",
// "group:default/platform-team"); a group's members are its members
// transitively.
type Binding struct {
	Role    string
	Members []string
}

// Contractors is permission.contractors: who counts as a contractor and
// the boundaries that apply to them (the seed's ContractorRBACPolicy).
type Contractors struct {
	Members     []string
	DefaultRole string
	Permissions ContractorPermissions
	Boundaries  AccessBoundaries
}

// ContractorPermissions is permission.contractors.permissions.
type ContractorPermissions struct {
	CanCreateServices     bool
	CanViewCostData       bool
	CanTriggerDeployments bool
	CanAccessProduction   bool
	AllowedNamespaces     []string
	DataRetentionDays     int
}

// AccessBoundaries is permission.contractors.accessBoundaries.
type AccessBoundaries struct {
	// RestrictedServices are entity refs a contractor never sees.
	RestrictedServices  []string
	AllowedIntegrations []string
	// RequiresApproval lists actions a contractor may only take through an
	// approved approval request.
	RequiresApproval []string
	// Approvers are user and group refs (a group's members transitively)
	// who may decide every approval request, besides the members of the
	// owning group (the only approvers of a resource with no owner, with
	// platform admins). Contractors among them still may not approve.
	Approvers []string
}

// PolicyFile is one Cedar policy file.
type PolicyFile struct {
	Name string
	Text []byte
}

// restricted reports whether ref (any case) is a restricted service.
func (c Contractors) restricted(ref string) bool {
	return slices.ContainsFunc(c.Boundaries.RestrictedServices, func(r string) bool { return strings.EqualFold(r, ref) })
}

// requiresApproval reports whether a contractor's action needs approval.
func (c Contractors) requiresApproval(action string) bool {
	return slices.Contains(c.Boundaries.RequiresApproval, action)
}
