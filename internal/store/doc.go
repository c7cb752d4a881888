// Package store is Greenroom's persistence: database/sql over SQLite
// (modernc.org/sqlite, pure Go, the default) and PostgreSQL (pgx), with
// versioned migrations embedded in the binary and one file per aggregate
// (entities.go, jobs.go, …).
//
// Every SQL statement of the program lives here, written once in the common
// subset of both dialects; what differs (placeholders, the current time, row
// locking) is in dialect.go. Methods take a context first, return coded
// greenroom errors where the meaning is known (a missing row is
// greenroom.CodeNotFound, never a nil result) and do multi-step writes in one
// transaction.
//
// The package must not hold business rules (those belong to the domain
// packages, which never import store), make outbound HTTP calls, or read
// configuration or environment variables itself.
package store
