// Package gitsource reads catalog files from any git repository (GitLab,
// Bitbucket, Gitea, self-hosted) and from local directory trees: the
// primitives of the generic git and local directory discovery providers.
//
// A Cache keeps one shallow, single-branch bare clone per repository URL,
// fetched with go-git (pure Go, no git binary) over https with a token or
// over ssh with a key, and updated incrementally; Sync returns the branch's
// commit and whether it changed, and Snapshot exposes that commit's tree
// as an io/fs.FS read straight from git objects. Glob matches catalogPath
// patterns (/catalog-info.yaml, /**/catalog-info.yaml,
// /services/*/catalog-info.yaml) with the minimatch semantics Backstage
// uses. DirSource applies the same patterns to a directory on disk.
//
// Every size is bounded: a Sync by its timeout and the pack bytes one
// fetch may write, a clone by the number of packs kept, a file read by
// MaxFileBytes, a Glob by matches, entries visited and depth. Credentials
// never reach logs or error text.
//
// The package does no scheduling and knows nothing of entities: it must not
// import the catalog, the store or the jobs queue; providers built on it do
// the wiring. The gittest subpackage serves real repositories over HTTP for
// tests.
package gitsource
