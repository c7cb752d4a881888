// Package access is identity and authorization: who a request acts for
// (Principal), what they may do (roles, contractor boundaries, policies
// evaluated by an embedded policy engine), approvals and the audit log.
package access
