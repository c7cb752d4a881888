package search

import "context"

// Engine stores documents and answers queries. The embedded bleve index
// (NewBleve) is the default; another engine (OpenSearch) implements the
// same methods. Every query method applies the Visibility inside the
// engine's own query: nothing the searcher may not read is counted.
type Engine interface {
	// Index adds or replaces documents (by Key).
	Index(ctx context.Context, docs []Document) error
	// Delete removes documents by Key; unknown keys are ignored.
	Delete(ctx context.Context, keys []string) error
	// Search runs a validated query.
	Search(ctx context.Context, q Query, vis Visibility) (Result, error)
	// Suggest completes a prefix as the user types.
	Suggest(ctx context.Context, prefix string, types []string, vis Visibility, limit int) ([]Suggestion, error)
	// Count returns how many documents the engine holds.
	Count() (uint64, error)
	Close() error
}
