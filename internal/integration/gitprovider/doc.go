// Package gitprovider is the catalog's generic git entity provider
// (catalog.providers.git: GitLab, Bitbucket, Gitea or any self-hosted git
// server) and its local directory provider (catalog.providers.directory:
// a monorepo checkout or a development tree).
//
// Each configured provider runs on its schedule as a job in the jobs
// table, at the start of its slot (slots count frequencies from the Unix
// epoch) moved by up to ±10 %, deduplicated by slot, so every replica may
// schedule at start-up and one job runs per slot. A git run syncs the
// branch into the gitsource cache, and when the commit is not the one it
// last applied, globs catalogPath in the commit's tree and makes the
// matched files the provider's complete set of catalog sources
// (catalog.Service.ApplyProvider): new files are read, changed files
// re-read, deleted files retired, so their entities become orphans. A
// directory run does the same over a local tree, skipping the apply when
// the matched files' names, sizes and modification times are unchanged.
// The first run after start-up always applies. A failed run (the server
// unreachable, credentials refused) changes nothing in the catalog; the
// error is kept in the provider's State, with its last success and next
// run.
//
// The package reads repositories only through gitsource and writes only
// through the catalog service; it must not touch the store or the jobs
// table directly (the composition root gives it an enqueue function and
// registers its job handler).
package gitprovider
