// Package entity is Backstage's entity model in Go: the Entity envelope,
// Backstage's validation rules (entity policies, field formats and the
// per-kind JSON Schemas), entity references in the context of an entity, the
// relations Backstage's catalog derives from spec fields, and a stable hash
// for change detection.
//
// Every rule here follows Backstage's catalog-model and catalog-backend
// (FieldFormatEntityPolicy, SchemaValidEntityPolicy,
// NoForeignRootFieldsEntityPolicy, the kind schemas and
// BuiltinKindsEntityProcessor), so that any catalog-info.yaml Backstage
// accepts is accepted here and vice versa. Where this package differs —
// it reports every problem instead of stopping at the first — the type
// documentation says so.
//
// The package is pure: it reads no files, stores nothing and does no I/O.
// It must not import the store, any transport or any provider; the catalog
// domain package builds on it.
package entity
