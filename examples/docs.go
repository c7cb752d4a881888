package examples

import "embed"

// DocsFS holds the MkDocs projects of some of the demo company's services,
// at docs/<repository>/ (mkdocs.yml and docs/), standing for what their
// GitHub repositories (github.com/acme-ledger/<repository>) would hold, so
// that the demo shows TechDocs without any repository to fetch.
//
//go:embed docs
var DocsFS embed.FS
