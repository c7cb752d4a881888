// Package apidocs renders the spec.definition of API entities readably:
// OpenAPI (Swagger 2.0, OpenAPI 3.0 and 3.1, YAML or JSON), AsyncAPI (2.x
// and 3.0) and GraphQL SDL are read into view models (Document) and
// rendered by embedded html/template templates into accessible HTML
// fragments: headings from a level the caller chooses, tables with scoped
// header cells, <details> for nested schemas, descriptions as sanitised
// Markdown (goldmark without raw HTML; only http, https and mailto links;
// images become links; headings moved below the fragment's own).
//
// Definitions are untrusted text from catalog files. Reading is bounded:
// at most MaxDefinitionBytes, YAML through internal/yamltree with node,
// depth and complexity bounds, JSON by encoding/json with the same node
// and depth bounds, $refs followed only within the document (cycle-safe,
// chains bounded), schema trees bounded in depth and in nodes per
// document, GraphQL through gqlparser with a token bound. A definition
// that cannot be read renders as a located error ("line 3, column 10:
// …") above the definition as text; an API type without a viewer (grpc,
// trpc…) renders as text with a notice.
//
// The package knows API definition formats only: it must not import the
// catalog, the store or any transport, and it does no I/O ($refs to other
// documents are listed, not fetched).
package apidocs
