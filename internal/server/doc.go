// Package server runs Greenroom's HTTP server: its lifecycle (listen, serve,
// graceful shutdown) and the middleware every request passes through
// (request id, access log, metrics, panic recovery, timeouts, body limits,
// compression).
//
// It knows nothing of the domain: routes come from the transports (api, web)
// as an http.Handler, and readiness from a function the caller supplies.
package server
