// Package authn is sign-in: it establishes who a request acts for and puts
// that access.Principal into the request context. It runs the OAuth 2.0 /
// OpenID Connect sign-in flows of Backstage's github and oidc providers
// (and the guest provider of local mode) on Backstage's routes, resolves
// the signed-in identity to a User entity of the catalog with Backstage's
// sign-in resolvers, keeps browser sessions (only hashes of their ids are
// stored), issues personal access and service tokens, checks CSRF on
// cookie-authenticated writes and applies per-user, per-team and per-client
// rate limits.
//
// It decides who the caller is, never what they may do: roles, contractor
// boundaries and policies belong to the authorization engine, which
// enriches the Principal through the Enricher interface. It must not import
// the store, the web or API transports or any provider package: storage is
// reached through the small interfaces of store.go.
package authn
