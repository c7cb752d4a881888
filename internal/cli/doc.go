// Package cli is Greenroom's command line and its composition root: it
// parses flags and configuration, builds the logger, store, services and
// transports, wires them together and runs them.
//
// Business rules do not live here; every command calls domain services.
package cli
