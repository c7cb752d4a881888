// Package urlread reads the bytes of one http(s) URL for the catalog's url
// locations, the way Backstage's UrlReaderService does for them: GitHub and
// GitLab file URLs (…/blob/<ref>/<path>) are rewritten to the contents or
// raw endpoints of the configured integrations and sent with their tokens;
// every other URL is read as it is.
//
// Reading must degrade, never break: transient failures are retried with
// exponential backoff and jitter (honouring Retry-After and GitHub's rate
// limit reset), a per-host circuit breaker stops hammering a host that keeps
// failing, and an in-memory cache revalidated with ETag/Last-Modified serves
// the last good bytes, with their age, while the source is down.
//
// It is also a network boundary: it refuses to connect to loopback,
// private, link-local and other non-public addresses (checked on the
// resolved address at dial time, so redirects and DNS answers are covered)
// unless the URL is allowed by backend.reading.allow or belongs to a
// configured integration; it follows at most 5 redirects, bounds every
// response and times every request out.
//
// It reads files only: it knows nothing of entities, stores or jobs, does
// not parse what it reads, and holds no state beyond its cache and its
// per-host health.
package urlread
