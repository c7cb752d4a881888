// Package search finds every service, API, doc page, team and person from
// one box: typo-tolerant, prefix and in-word matching, Chinese text,
// English stemming, field boosts, ranking that weighs recent activity and
// the searcher's own teams, filtered by what the searcher may read inside
// the engine's query (results, counts, facets and suggestions alike).
//
// Documents come from Sources (collators, in Backstage's words): the
// catalog (every kind, API definitions read through internal/apidocs),
// and any later capability (TechDocs pages split by section, deployments,
// incidents…) that implements Source, and Feed for real-time changes,
// without a change here. The Service keeps an Engine — the embedded bleve
// index in the data dir by default — rebuilt aside and swapped in at start
// when it is missing, of an older schema version or corrupted, and on
// demand, so queries never wait for a rebuild.
//
// The package knows documents and queries only: it must not import the
// store or any transport; the catalog and apidocs are domain packages of
// the same layer.
package search
