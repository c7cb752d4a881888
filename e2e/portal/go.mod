// This go.mod keeps the npm packages under node_modules out of the greenroom
// module: some ship Go files, which `go test ./...` would otherwise build.
module greenroom.invalid/portal-e2e

go 1.26
