// Package techdocs builds MkDocs projects (mkdocs.yml plus a docs
// directory of Markdown) into static sites in pure Go, with the page set,
// URLs, navigation, heading anchors and link targets MkDocs itself
// produces, plus the search_index.json of MkDocs' search plugin and the
// techdocs_metadata.json techdocs-cli writes, so sites it builds are served
// by Backstage's TechDocs unchanged.
//
// Build is the entry point; it reads nothing outside the project directory
// (symlinks leaving it are skipped with a warning) and writes nothing
// outside the output directory. Problems in the project that MkDocs would
// tolerate (a broken link, an unknown plugin) are warnings with file and
// line in Result.Warnings; problems that stop a build (mkdocs.yml not
// YAML, no docs directory) are errors.
//
// The package must not import the store, any transport or any provider:
// storage of built sites and build status is declared by small interfaces
// that others implement.
package techdocs
