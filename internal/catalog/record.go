package catalog

import (
	"context"
	"time"
)

// Record is an entity as the Store keeps it: its identity, where it came
// from, a content hash for skipping unchanged input, and its JSON body.
// Body holds the entity without metadata.uid and metadata.etag, which are
// the UID and Hash columns and are added when the entity is served.
type Record struct {
	// Ref is the lowercased "kind:namespace/name"; lookups by ref are
	// case-insensitive.
	Ref string
	// UID is a stable unique id, kept across updates. When empty on insert
	// the store generates a UUID.
	UID       string
	Kind      string
	Namespace string
	Name      string
	// Source names the location or provider that supplied the entity; only
	// that source replaces or deletes it, unless it is an orphan.
	Source string
	// Hash identifies the content: a record whose hash is unchanged is not
	// rewritten.
	Hash string
	Body []byte
	// Errors are the problems of the entity's latest processing, served as
	// status.items; empty when it processed cleanly. An entity with errors
	// keeps the body of its last good processing. Only ApplySource writes
	// them, and only SourceEntities reads them back.
	Errors    []EntityError
	CreatedAt time.Time
	UpdatedAt time.Time
}

// EntityError is one processing problem recorded on an entity, in the
// shape of Backstage's SerializedError (@backstage/errors): the name of the
// error class (InputError, NotAllowedError, NotFoundError…) and its
// message.
type EntityError struct {
	Name    string       `json:"name"`
	Message string       `json:"message"`
	Cause   *EntityError `json:"cause,omitempty"`
}

// ProcessingStatusType is the type of the status.items entries that carry
// an entity's processing errors, as in Backstage
// (ENTITY_STATUS_CATALOG_PROCESSING_TYPE).
const ProcessingStatusType = "backstage.io/catalog-processing"

// Bounds on what one entity's errors may hold, so that a file with a
// thousand problems in one entity cannot make its status huge.
const (
	maxEntityErrors       = 20
	maxEntityErrorMessage = 2000
)

// ReplaceResult counts what ReplaceSourceEntities or ApplySource did.
type ReplaceResult struct {
	Inserted, Updated, Unchanged, Deleted int
	// Orphaned counts the entities the source no longer supplies that
	// ApplySource (or RetireSource) kept as orphans.
	Orphaned int
	// Conflicts lists refs that another source already owns (and that are
	// not orphans); they were left untouched.
	Conflicts []string
	// Changes lists every entity whose served form changed, as the events
	// to publish once the transaction has committed (At is left zero).
	// ApplySource, RetireSource and DeleteOrphans fill it;
	// ReplaceSourceEntities, which does not stitch, does not.
	Changes []Event
}

// BatchResult is what ApplySourceBatch did.
type BatchResult struct {
	ReplaceResult
	// Restitch lists entities outside the batch whose final form may have
	// changed, for FinishSource.
	Restitch []string
}

// Query selects stored entities.
type Query struct {
	Kind   string // case-insensitive; "" selects all kinds
	Limit  int    // 0 means no limit
	Offset int    // skips that many results in ref order
}

// Store keeps entities. Implementations return an error with code
// not_found from EntityByRef when the ref is unknown, never a zero Record
// and nil.
type Store interface {
	// ReplaceSourceEntities makes recs the complete set of entities of
	// source, in one transaction, deleting the source's entities missing
	// from recs at once. It is the raw write, without orphans or
	// stitching; processing uses ApplySource.
	ReplaceSourceEntities(ctx context.Context, source string, recs []Record) (ReplaceResult, error)
	ListEntities(ctx context.Context, q Query) ([]Record, error)
	EntityByRef(ctx context.Context, ref string) (Record, error)
	// ApplySource stores one refresh of source in one transaction: recs
	// become its entities (an orphan among them, of any source, is
	// claimed), the source's entities missing from recs become orphans
	// (data and emitted relations kept, backstage.io/orphan set), rels
	// become the relations emitted by its entities, and every entity whose
	// final form (uid, etag, relations, status, orphan annotation) may have
	// changed is stitched. Relations whose OriginRef lost a conflict are
	// dropped.
	ApplySource(ctx context.Context, source string, recs []Record, rels []StoredRelation) (ReplaceResult, error)
	// ApplySourceBatch stores one batch of a source too large for one
	// transaction, in one transaction: as ApplySource for recs and the
	// relations their entities emit (rels), except that the source's
	// entities missing from recs are left as they are, and that entities
	// outside the batch whose final form may have changed are returned in
	// Restitch instead of being stitched. FinishSource ends the source.
	ApplySourceBatch(ctx context.Context, source string, recs []Record, rels []StoredRelation) (BatchResult, error)
	// EndBulkLoad completes what the batches of a first load leave to
	// the end (the search key indexes), before the last batch of the
	// source, or of the full refresh whose first load it is.
	EndBulkLoad(ctx context.Context) error
	// FinishBulkLoad builds, once a first load's sources are complete,
	// what only speeds queries up and so need not hold them back (SQLite's
	// trigram table for full-text filters); a no-op when there is none to
	// build.
	FinishBulkLoad(ctx context.Context) error
	// FinishSource ends a source written by ApplySourceBatch, once every
	// batch is stored: unless keepMissing, the source's entities not in
	// seen (lowercased refs) become orphans; relations of the source no
	// entity of it emits go; the new orphans, the entities those relations
	// reached and restitch are stitched. Unchanged counts the entities
	// kept as they were with keepMissing.
	FinishSource(ctx context.Context, source string, seen map[string]bool, keepMissing bool, restitch []string) (ReplaceResult, error)
	// Restitch stitches refs (lowercased; unknown ones are ignored), a few
	// thousand per transaction, and returns an EventUpdated for each entity
	// whose served form changed: what FinishSource does with its restitch,
	// for the entities a full refresh's first load left to its end.
	Restitch(ctx context.Context, refs []string) ([]Event, error)
	// SourceEntities returns the entities source supplies now (not its
	// orphans), with their recorded errors, in ref order.
	SourceEntities(ctx context.Context, source string) ([]Record, error)
	// KnownSources returns, sorted, the names of the sources that have a
	// refresh state or supply an entity that is not an orphan.
	KnownSources(ctx context.Context) ([]string, error)
	// RetireSource makes every entity of a source that is gone an orphan,
	// keeping its relations, and forgets the source's refresh state, in
	// one transaction.
	RetireSource(ctx context.Context, source string) (ReplaceResult, error)
	// DeleteOrphans deletes every orphan, with its search rows and the
	// relations it emitted, and restitches the entities those relations
	// reached.
	DeleteOrphans(ctx context.Context) (ReplaceResult, error)
	// SourceState returns a source's last refresh, code not_found when
	// there was none.
	SourceState(ctx context.Context, name string) (SourceState, error)
	SaveSourceState(ctx context.Context, st SourceState) error
	// MarkSourceRefreshed moves a source's RefreshedAt to now and leaves
	// the rest of its state as it is: a refresh that found the source's
	// inputs unchanged (rawinputs.go). A source without state keeps none.
	MarkSourceRefreshed(ctx context.Context, name string) error
}

// StoredRelation is one directed relation as stored: the emitting source's
// entity made source_ref relate to target_ref. Refs are lowercased.
type StoredRelation struct {
	SourceRef, Type, TargetRef string
	// OriginRef is the entity whose processing emitted the relation (one
	// of SourceRef and TargetRef): the relation lives and dies with it, so
	// an orphan keeps the relations it emitted and loses them when it is
	// deleted or claimed. Empty for relations not tied to an entity.
	OriginRef string
}

// SourceState is what the catalog remembers of a source's last refresh.
type SourceState struct {
	Name        string
	Hash        string // over every record hash and relation the source supplied
	EntityCount int
	Problems    []string
	RefreshedAt time.Time
	// Inputs records the raw inputs the refresh's output was made from
	// (rawinputs.go), so that the next refresh skips the source without
	// parsing it when they are unchanged; empty when it must not.
	Inputs string
}
