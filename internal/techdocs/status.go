package techdocs

import (
	"context"
	"time"
)

// The states of an entity's docs build.
const (
	StatusPending  = "pending"  // queued, never built
	StatusBuilding = "building" // a build is running
	StatusSuccess  = "success"
	StatusFailed   = "failed" // the last build failed; the last good site (if any) is still served
)

// BuildRecord is the build state of one entity's docs.
type BuildRecord struct {
	// Entity is the lowercased ref "kind:namespace/name".
	Entity string `json:"entity"`
	Status string `json:"status"`
	// SourceKey identifies what was last built (the entity's etag and
	// source); a change means a rebuild is due.
	SourceKey string `json:"sourceKey,omitempty"`
	// StartedAt and FinishedAt bound the last build.
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// LastSuccessAt is when the served site was built; zero when none.
	LastSuccessAt time.Time `json:"lastSuccessAt"`
	// Error is the last failure, with file and line when the project is
	// at fault; empty after a success.
	Error string `json:"error,omitempty"`
	// Log is the last build's log (steps and warnings).
	Log string `json:"log,omitempty"`
	// Warnings of the last build.
	Warnings []Warning `json:"warnings,omitempty"`
	// NotifiedKey is the SourceKey of the failing change the owner was
	// last told about, so a failure is notified once, not on every retry.
	NotifiedKey string `json:"-"`
}

// StatusStore keeps build records. The store implements it.
type StatusStore interface {
	// BuildRecord returns the entity's record; none is an error with
	// code not_found.
	BuildRecord(ctx context.Context, entity string) (BuildRecord, error)
	// SaveBuildRecord inserts or replaces the entity's record.
	SaveBuildRecord(ctx context.Context, r BuildRecord) error
	// BuildRecords returns every record, by entity.
	BuildRecords(ctx context.Context) ([]BuildRecord, error)
}
