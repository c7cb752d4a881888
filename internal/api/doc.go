// Package api serves Greenroom's JSON APIs, starting with the
// Backstage-compatible catalog API under /api/catalog.
//
// Handlers parse input, call one domain service method and render; they hold
// no SQL and make no outbound calls.
package api
