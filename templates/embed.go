// Package templates holds Greenroom's four golden-path templates (Go,
// Java, React, React Native), Backstage scaffolder.backstage.io/v1beta3
// Template entities, each with its skeleton/. Root is a Location listing
// them, as the catalog reads any location. Source files in skeletons end
// in .njk (fetch:template's templateFileExtension), so that the Go
// toolchain never mistakes them for part of this module, and files
// without it (GitHub workflows, Helm templates) are copied verbatim.
package templates

import "embed"

// Root is the path, within FS, of the Location entity listing the templates.
const Root = "all.yaml"

// FS holds the templates and their skeletons.
//
//go:embed all.yaml all:go-service all:java-service all:react-app all:react-native-app
var FS embed.FS
