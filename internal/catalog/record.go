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
	// that source replaces or deletes it.
	Source string
	// Hash identifies the content: a record whose hash is unchanged is not
	// rewritten.
	Hash      string
	Body      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReplaceResult counts what ReplaceSourceEntities did.
type ReplaceResult struct {
	Inserted, Updated, Unchanged, Deleted int
	// Conflicts lists refs that another source already owns; they were
	// left untouched.
	Conflicts []string
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
	// source, in one transaction.
	ReplaceSourceEntities(ctx context.Context, source string, recs []Record) (ReplaceResult, error)
	ListEntities(ctx context.Context, q Query) ([]Record, error)
	EntityByRef(ctx context.Context, ref string) (Record, error)
	// ApplySource does, in one transaction, what ReplaceSourceEntities
	// does, makes rels the complete set of relations emitted by source's
	// entities, and rewrites the final form (uid, etag, relations) of every
	// entity that may have changed.
	ApplySource(ctx context.Context, source string, recs []Record, rels []StoredRelation) (ReplaceResult, error)
	// SourceState returns a source's last refresh, code not_found when
	// there was none.
	SourceState(ctx context.Context, name string) (SourceState, error)
	SaveSourceState(ctx context.Context, st SourceState) error
}

// StoredRelation is one directed relation as stored: the emitting source's
// entity made source_ref relate to target_ref. Refs are lowercased.
type StoredRelation struct {
	SourceRef, Type, TargetRef string
}

// SourceState is what the catalog remembers of a source's last refresh.
type SourceState struct {
	Name        string
	Hash        string // over every record hash and relation the source supplied
	EntityCount int
	Problems    []string
	RefreshedAt time.Time
}
