// Package examples holds the bundled demo company, Acme Ledger: a fictional
// ~50-person B2B invoicing and payments SaaS, described as Backstage
// catalog-info.yaml files. Greenroom loads it when the user has configured
// no catalog locations of their own, so that a new portal shows a living
// catalog at once.
//
// The catalog is reached the way Backstage reaches any catalog: Root names a
// Location entity whose spec.targets are paths relative to the file that
// lists them. Following them (all.yaml → components/all.yaml → one file per
// system) reaches every entity file in FS exactly once. The files under
// apis/ are not entity files: they are API definitions that apis.yaml pulls
// in with `$text: ./apis/<file>` substitutions, also relative to the file
// that names them.
//
// Layout:
//
//	all.yaml                  Location (root)
//	org.yaml                  Groups and Users
//	domains-systems.yaml      Domains and Systems
//	resources.yaml            Resources
//	apis.yaml                 APIs (inline definitions and $text ones)
//	apis/*.yaml               API definition files
//	components/all.yaml       Location (nested)
//	components/<system>.yaml  Components, one multi-document file per System
//
// Conventions the data follows: Components of type service carry the
// github.com/project-slug, argocd/app-name, datadog/dashboard-url,
// sentry/project-slug, opencost/service-label and n8n/workflows
// annotations; mobile apps use spec.type mobile-app (Backstage leaves the
// type free-form); the GitHub organisation is acme-ledger and every e-mail
// address is under the reserved acme-ledger.example domain.
package examples

import "embed"

// Root is the path, within FS, of the top-level Location entity.
const Root = "all.yaml"

// FS holds every file of the demo catalog, at the paths listed in the
// package documentation. It is a variable only because go:embed requires
// one; an embed.FS cannot be modified, and callers must not reassign it.
//
//go:embed *.yaml components/*.yaml apis/*.yaml
var FS embed.FS
