package github

import "sync/atomic"

// Stats counts what a Client sent. Take two snapshots and Sub them to
// measure one piece of work.
type Stats struct {
	// Requests is every HTTP round trip, retries included.
	Requests int64
	// REST, GraphQL and App split Requests by kind: REST calls, GraphQL
	// queries, and App calls authenticated with the JWT (installations,
	// token minting).
	REST, GraphQL, App int64
	// NotModified is the 304 answers served from the ETag cache (counted in
	// REST too); GitHub does not charge them to the rate limit.
	NotModified int64
	// Retries is round trips beyond each request's first.
	Retries int64
	// RateLimitWaits counts waits for a primary limit to reset;
	// SecondaryLimits counts secondary-limit answers backed off from.
	RateLimitWaits, SecondaryLimits int64
	// TokensMinted counts installation access tokens created.
	TokensMinted int64
	// GraphQLCost sums the rateLimit.cost GitHub reported for queries.
	GraphQLCost int64
}

// Sub returns s minus before, field by field.
func (s Stats) Sub(before Stats) Stats {
	return Stats{
		Requests:        s.Requests - before.Requests,
		REST:            s.REST - before.REST,
		GraphQL:         s.GraphQL - before.GraphQL,
		App:             s.App - before.App,
		NotModified:     s.NotModified - before.NotModified,
		Retries:         s.Retries - before.Retries,
		RateLimitWaits:  s.RateLimitWaits - before.RateLimitWaits,
		SecondaryLimits: s.SecondaryLimits - before.SecondaryLimits,
		TokensMinted:    s.TokensMinted - before.TokensMinted,
		GraphQLCost:     s.GraphQLCost - before.GraphQLCost,
	}
}

type counters struct {
	requests, rest, graphql, app, notModified, retries atomic.Int64
	waits, secondary, minted, graphqlCost              atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests: c.requests.Load(), REST: c.rest.Load(), GraphQL: c.graphql.Load(), App: c.app.Load(),
		NotModified: c.notModified.Load(), Retries: c.retries.Load(), RateLimitWaits: c.waits.Load(),
		SecondaryLimits: c.secondary.Load(), TokensMinted: c.minted.Load(), GraphQLCost: c.graphqlCost.Load(),
	}
}
