// Package feishu moves documents from Feishu (Lark) into docs-as-code: it
// converts docx block trees to Markdown following the project's
// conventions (../shared/fixtures/feishu/CONVENTIONS.md), and runs
// migrations that scan a Drive folder, convert every docx document, map
// Feishu permissions to catalog ownership and write the pages into a
// service's docs/ with mkdocs.yml nav entries, with a stored report,
// validation and rollback.
//
// The package must not talk HTTP, SQL or git itself: the Feishu Open API
// client, the store and the output writers implement the small interfaces
// declared here (Source, Store, DocsBuilder), and are wired in cli.
package feishu
