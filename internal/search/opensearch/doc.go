// Package opensearch is the production search engine: an index in an
// OpenSearch or Elasticsearch cluster (Backstage's search.elasticsearch),
// behind the same search.Engine interface as the embedded bleve index, with
// the same matching and ranking (typo tolerance, prefix and in-word
// matching, CJK bigrams, English stemming, field boosts, recency and
// own-team signals) and the searcher's visibility applied as a bool.filter
// clause of every query, so results, counts, facets and suggestions never
// include what the searcher may not read.
//
// Indexes are versioned (<indexPrefix>greenroom-v<schema>__<time>) behind
// one alias; a rebuild writes a new index and swaps the alias atomically,
// so queries never wait for it. A missing or unreadable index is reported
// to the search.Service, which rebuilds it with a notice.
//
// The package speaks the REST API with net/http; it must not hold search
// rules of its own (they live in package search) nor import the store or
// any transport.
package opensearch
