package access

import "slices"

// The actions the permission layer decides. Policies name them as
// Action::"<name>"; Action::"read" also covers list, Action::"write" every
// action that changes something.
const (
	ActionRead             = "read"
	ActionList             = "list"
	ActionCreate           = "create"
	ActionUpdate           = "update"
	ActionDelete           = "delete"
	ActionRefresh          = "refresh"
	ActionSync             = "sync"
	ActionCostView         = "cost.view"
	ActionApprove          = "approve"
	ActionScaffolderCreate = "scaffolder.task.create"
	ActionDeploymentSync   = "deployment.sync"
	ActionAdmin            = "admin"
	ActionAuditRead        = "audit.read"
)

// Actions lists every action, in a stable order.
var Actions = []string{
	ActionRead, ActionList, ActionCreate, ActionUpdate, ActionDelete, ActionRefresh, ActionSync,
	ActionCostView, ActionApprove, ActionScaffolderCreate, ActionDeploymentSync, ActionAdmin, ActionAuditRead,
}

// readActions only read; every other action is a write, audited whatever
// the decision.
var readActions = []string{ActionRead, ActionList, ActionCostView, ActionAuditRead}

// IsWrite reports whether action changes something (and so is audited).
func IsWrite(action string) bool { return !slices.Contains(readActions, action) }

// KnownAction reports whether action is one of Actions.
func KnownAction(action string) bool { return slices.Contains(Actions, action) }

// The default roles. Policy files may use others; bindings may only name
// roles some policy mentions (see Engine.Roles).
const (
	RolePlatformAdmin       = "platform_admin"
	RoleDeveloper           = "developer"
	RoleViewer              = "viewer"
	RoleCostManager         = "cost_manager"
	RoleContractorViewer    = "contractor-viewer"
	RoleContractorDeveloper = "contractor-developer"
)

// DefaultRoles lists the roles the default policies define.
var DefaultRoles = []string{RolePlatformAdmin, RoleDeveloper, RoleViewer, RoleCostManager, RoleContractorViewer, RoleContractorDeveloper}
