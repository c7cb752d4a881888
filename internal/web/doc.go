// Package web serves Greenroom's server-rendered HTML portal.
//
// Pages are html/template files embedded in the binary and parsed at start,
// so a broken template stops start-up rather than a request. Handlers parse
// input, call one domain service method and render a typed view model.
package web
