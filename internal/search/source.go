package search

import "context"

// Source supplies documents: a collator, in Backstage's words. Every
// capability that wants its things found implements it (the catalog here;
// TechDocs pages, deployments, incidents later) and is added to the
// Service's list; nothing in this package changes.
type Source interface {
	// Name names the source in logs and status ("catalog", "techdocs").
	Name() string
	// Collect emits every document the source holds, for a full rebuild.
	// An error stops this source only; the others are still indexed.
	Collect(ctx context.Context, emit func(Document) error) error
}

// Change is what a source tells the index in real time: documents added
// or changed, and keys (Document.Key) of documents gone.
type Change struct {
	Upsert []Document
	Delete []string
}

// Feed is a Source that also pushes changes as they happen. Watch blocks
// until ctx is done, calling apply for each change; the Service runs it in
// the background.
type Feed interface {
	Watch(ctx context.Context, apply func(context.Context, Change) error) error
}
