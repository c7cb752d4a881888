// Package githubprovider is the GitHub entity provider of issue 5: it
// discovers catalog files in the repositories of GitHub organizations
// (catalog.providers.github) on a jittered, replica-safe schedule, follows
// GitHub's webhooks (POST /api/events/http/github) between scans, and keeps
// each provider's state for GET /api/catalog/providers.
//
// A scan lists an organization's repositories with the catalog file in the
// same GraphQL query (one query per 100 repositories) for a fixed
// catalogPath, or lists git trees only of repositories whose head moved for
// a glob. It hands the catalog the content it already fetched, as sources
// whose file tree fetches other files of the same repository on demand, so
// relative Location targets still work. A scan that fails part-way (an
// outage, an exhausted rate limit) applies nothing: the last known catalog
// stands and the job is retried with backoff.
//
// Webhook deliveries are verified (HMAC-SHA256) before anything is trusted
// and queued durably as jobs, de-duplicated by delivery id; organization,
// membership and team events go to the OrgEventHandler the org provider
// registers.
//
// The package knows GitHub through internal/integration/github and the
// catalog through the small interfaces declared here; it holds no SQL and
// renders no pages.
package githubprovider
