// Package query is the query side of the catalog's Backstage-compatible API,
// as pure domain types: entity filters (Backstage's EntityFilter, and the
// predicate queries of catalog-client ≥ 1.16 that parse into them), field
// projection, ordering, the two pagination styles of GET /entities and
// GET (or POST) /entities/by-query with their opaque cursors, facets, and
// the flattening of an entity into the key/value rows of the search index
// that filters, orders and facets are evaluated against.
//
// Its parsing functions take url.Values or the JSON bodies of the POST
// endpoints and return greenroom.CodeInvalid errors whose messages follow
// Backstage's (a predicate's are located by JSON path), so that
// @backstage/catalog-client sees the same answers from Greenroom as from
// Backstage.
//
// It must not run SQL, import the store or a transport, or import package
// catalog (which imports it): the store translates these types into queries,
// the catalog service and the transports pass them through.
package query
