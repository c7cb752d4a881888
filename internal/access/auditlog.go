package access

import (
	"context"
	"time"
)

// AuditRecord is a stored AuditEvent with its sequence number.
type AuditRecord struct {
	ID int64 `json:"id"`
	AuditEvent
}

// AuditFilter selects audit records, newest first. Empty fields select
// everything.
type AuditFilter struct {
	Actor    string
	Action   string // exact, or a prefix ending in "." or "*" ("catalog.*")
	Resource string
	Decision string // allow, deny, or "none" for events that are not decisions
	Since    time.Time
	Until    time.Time
	// BeforeID continues a listing below that record id (paging).
	BeforeID int64
	// Limit bounds the records returned; 0 means DefaultAuditLimit, and it
	// is at most MaxAuditLimit.
	Limit int
}

// Bounds of one audit query.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 10000
)

// AuditLog is the durable audit log: append, query and age out.
type AuditLog interface {
	Auditor
	// QueryAudit returns the records f selects, newest first.
	QueryAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
	// DeleteAuditBefore deletes records older than before (only those of
	// contractors when contractorsOnly), returning how many went.
	DeleteAuditBefore(ctx context.Context, before time.Time, contractorsOnly bool) (int64, error)
}

// AuditRetentionJobKind is the job kind that ages the audit log out.
const AuditRetentionJobKind = "access.audit.retention"

// Retention deletes what the retention settings of p no longer keep, as of
// now.
func Retention(ctx context.Context, log AuditLog, p Policy, now time.Time) (int64, error) {
	var total int64
	if days := p.AuditRetentionDays; days > 0 {
		n, err := log.DeleteAuditBefore(ctx, now.AddDate(0, 0, -days), false)
		if err != nil {
			return total, err
		}
		total += n
	}
	if days := p.Contractors.Permissions.DataRetentionDays; days > 0 {
		n, err := log.DeleteAuditBefore(ctx, now.AddDate(0, 0, -days), true)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}
