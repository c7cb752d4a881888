// This directory is a Node.js project, not Go. The file only makes it a
// module of its own so that the greenroom module's ./... (go vet, go test,
// the layering test) skips node_modules, where some npm packages ship Go
// sources (flatted does).
module greenroom.invalid/bench/backstage

go 1.26
