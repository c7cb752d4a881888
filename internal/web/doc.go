// Package web serves Greenroom's portal: server-rendered HTML pages over
// the catalog, at Backstage's routes (/catalog, /catalog/:namespace/:kind/:name,
// /api-docs, /catalog-import), so that links people already have keep
// working.
//
// Pages are html/template files embedded in the binary and parsed at
// start, so a broken template stops start-up rather than a request.
// Stylesheet, script and icon are embedded too and served under
// content-hash names with a year-long immutable cache; pages revalidate
// with an ETag. Every feature works without JavaScript (forms and links);
// the small script in static/app.js only enhances (theme switch, filters
// that apply on change, starring in place, live updates). The
// Content-Security-Policy allows no inline script or style.
//
// Live updates: Handler.Watch holds one catalog subscription and fans it
// out to Server-Sent Event streams at LivePath (live.go); entity pages
// refresh their content when their entity changes, lists offer a refresh.
//
// The entity page is a set of sections (tabs) that other packages add
// with Handler.Register; the built-in ones are the Overview, Dependencies
// and APIs lists, and placeholders for Docs, Deployments, Errors and Cost
// that say which annotation connects an entity. docs/portal.md describes
// pages, routes, sections and annotations.
//
// Handlers parse input, call the catalog through the small interfaces
// declared here (Catalog, Registrar, Health, ChangeFeed) and render a
// typed view model. The package must not run SQL, call other services
// over HTTP, or hold business rules: those live in the catalog.
package web
