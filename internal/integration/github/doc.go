// Package github is Greenroom's client for the GitHub REST and GraphQL APIs
// (github.com and GitHub Enterprise Server), the layer below the GitHub
// entity provider, org provider and webhook receiver.
//
// It authenticates with a token or as a GitHub App (JWT, installation access
// tokens minted per owner, cached and refreshed before they expire), and it is
// thrifty: conditional requests with ETags (a 304 costs no rate limit), Link
// pagination, waits for the primary rate limit to reset, backs off from
// secondary limits, retries 5xx, lets webhook-driven work go before scheduled
// scans, and counts every request it sends. It also verifies webhook
// deliveries and decodes their payloads.
//
// It speaks to GitHub only: it knows nothing of catalog entities, stores or
// jobs, and it holds no configuration loading of its own (the caller maps
// integrations.github[] onto Options).
package github
