package feishu

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"greenroom/internal/greenroom"
)

// Migration statuses.
const (
	StatusQueued     = "queued"
	StatusRunning    = "running"
	StatusSucceeded  = "succeeded" // every document migrated or skipped
	StatusPartial    = "partial"   // some documents failed
	StatusFailed     = "failed"    // nothing migrated
	StatusRolledBack = "rolled_back"
)

// Document statuses in a report.
const (
	DocMigrated = "migrated"
	DocPlanned  = "planned" // dry run
	DocSkipped  = "skipped"
	DocFailed   = "failed"
)

// Request says what to migrate where.
type Request struct {
	// FolderToken is the Drive folder to scan ("" with Workspace for the
	// app's whole Drive).
	FolderToken string `json:"folderToken,omitempty"`
	// Workspace scans from the root folder; FolderToken must be empty.
	Workspace bool `json:"workspace,omitempty"`
	// DocumentIDs migrates these docx documents instead of scanning.
	DocumentIDs []string `json:"documentIds,omitempty"`
	// TargetService is the entity ref of the service whose docs receive
	// the pages, e.g. component:default/payments.
	TargetService string `json:"targetService"`
	// TargetDir is the service repository's root directory (where
	// mkdocs.yml is).
	TargetDir string `json:"targetDir"`
	// DocsPath is the folder below docs_dir for the pages; default
	// "feishu".
	DocsPath string `json:"docsPath,omitempty"`
	// NavSection titles the nav section added; default "Feishu".
	NavSection string `json:"navSection,omitempty"`
	// PreserveHierarchy keeps the Drive folders as subfolders.
	PreserveHierarchy bool             `json:"preserveHierarchy"`
	Conversion        ConversionConfig `json:"conversion"`
	// DryRun converts and reports without writing anything.
	DryRun bool `json:"dryRun,omitempty"`
	// BatchSize documents are written together or not at all; default 20.
	BatchSize int `json:"batchSize,omitempty"`
	// Git, when set, commits the result on a new branch of the target
	// repository (see Publisher).
	Git *GitOutput `json:"git,omitempty"`
	// RequestedBy is who asked, for the audit trail.
	RequestedBy string `json:"requestedBy,omitempty"`
}

// GitOutput asks for the migration to be committed on Branch and, with
// PullRequest, pushed to the repository's origin with a pull request
// opened on GitHub.
type GitOutput struct {
	Branch  string `json:"branch"`
	Message string `json:"message,omitempty"`
	// PullRequest pushes Branch to origin and opens a pull request into
	// Base (default main) of Repo ("owner/name"; default: from origin's
	// URL).
	PullRequest bool   `json:"pullRequest,omitempty"`
	Repo        string `json:"repo,omitempty"`
	Base        string `json:"base,omitempty"`
}

// repoName is compiled on first use: its bounded repetitions make a large
// program, 160 kB of every process start otherwise.
var repoName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
})

// Bounds of one migration.
const (
	MaxDocuments   = 5000
	maxFolderDepth = 16
	maxFolders     = 2000
)

// Validate checks a request offline; the error names the field.
func (r *Request) Validate() error {
	var problems []string
	switch {
	case r.Workspace && r.FolderToken != "":
		problems = append(problems, "folderToken: a workspace migration scans from the root; leave folderToken empty")
	case !r.Workspace && r.FolderToken == "" && len(r.DocumentIDs) == 0:
		problems = append(problems, "folderToken: name a folder, the workspace, or documentIds")
	}
	if len(r.DocumentIDs) > MaxDocuments {
		problems = append(problems, fmt.Sprintf("documentIds: more than %d", MaxDocuments))
	}
	for i, id := range r.DocumentIDs {
		if !validToken(id) {
			problems = append(problems, fmt.Sprintf("documentIds[%d]: %q is not a document id", i, id))
		}
	}
	if r.FolderToken != "" && !validToken(r.FolderToken) {
		problems = append(problems, fmt.Sprintf("folderToken: %q is not a folder token", r.FolderToken))
	}
	if _, err := greenroom.ParseEntityRef(r.TargetService, "component", "default"); err != nil || r.TargetService == "" {
		problems = append(problems, "targetService: want an entity ref such as component:default/payments")
	}
	if r.TargetDir == "" {
		problems = append(problems, "targetDir: the service repository's directory is required")
	}
	if r.DocsPath != "" {
		if p, err := cleanRel(r.DocsPath); err != nil || p == "" {
			problems = append(problems, fmt.Sprintf("docsPath: %q must be a relative folder inside docs_dir", r.DocsPath))
		}
	}
	if r.BatchSize < 0 || r.BatchSize > MaxDocuments {
		problems = append(problems, "batchSize: want 1 to 5000")
	}
	if err := r.Conversion.Validate(); err != nil {
		problems = append(problems, "conversion: "+err.Error())
	}
	if r.Git != nil && !validBranch(r.Git.Branch) {
		problems = append(problems, fmt.Sprintf("git.branch: %q is not a branch name", r.Git.Branch))
	}
	if r.Git != nil && r.Git.Base != "" && !validBranch(r.Git.Base) {
		problems = append(problems, fmt.Sprintf("git.base: %q is not a branch name", r.Git.Base))
	}
	if r.Git != nil && r.Git.Repo != "" && !repoName().MatchString(r.Git.Repo) {
		problems = append(problems, fmt.Sprintf("git.repo: %q: want owner/name", r.Git.Repo))
	}
	if len(problems) > 0 {
		return greenroom.Errorf(greenroom.CodeInvalid, "feishu migration: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (r *Request) defaults() {
	if r.DocsPath == "" {
		r.DocsPath = "feishu"
	}
	if r.NavSection == "" {
		r.NavSection = "Feishu"
	}
	if r.BatchSize == 0 {
		r.BatchSize = 20
	}
	if r.Conversion.HandleImages == "" {
		r.Conversion = DefaultConversion()
	}
}

func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validBranch(s string) bool {
	if s == "" || len(s) > 200 || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") ||
		strings.HasSuffix(s, ".lock") || strings.Contains(s, "..") || strings.Contains(s, "//") || strings.Contains(s, "@{") {
		return false
	}
	for _, c := range s {
		if c <= ' ' || strings.ContainsRune("~^:?*[\\\x7f", c) {
			return false
		}
	}
	return true
}

// Migration is one stored migration.
type Migration struct {
	ID        string    `json:"id"`
	Request   Request   `json:"request"`
	Status    string    `json:"status"`
	Report    Report    `json:"report"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Report is the seed's MigrationResult, with what rollback needs.
type Report struct {
	MigrationID    string           `json:"migrationId"`
	SuccessCount   int              `json:"successCount"`
	FailureCount   int              `json:"failureCount"`
	SkippedCount   int              `json:"skippedCount"`
	Warnings       []string         `json:"warnings"`
	GeneratedFiles []string         `json:"generatedFiles"`
	Documents      []DocumentResult `json:"documents"`
	// Files are the files written, with their content hashes: rollback
	// removes a file only while it is unchanged.
	Files []WrittenFile `json:"files,omitempty"`
	// Dirs are the folders the migration created, deepest first.
	Dirs []string `json:"dirs,omitempty"`
	Nav  NavEdit  `json:"nav"`
	// DocsDir is the docs_dir of the target, relative to its root.
	DocsDir string `json:"docsDir,omitempty"`
	Commit  string `json:"commit,omitempty"`
	// PullRequest is the URL of the pull request opened, if any.
	PullRequest string      `json:"pullRequest,omitempty"`
	StartedAt   time.Time   `json:"startedAt,omitzero"`
	FinishedAt  time.Time   `json:"finishedAt,omitzero"`
	Rollback    *Rollback   `json:"rollback,omitempty"`
	Validation  *Validation `json:"validation,omitempty"`
}

// DocumentResult is one document's outcome.
type DocumentResult struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Status   string   `json:"status"`
	Reason   string   `json:"reason,omitempty"`
	Path     string   `json:"path,omitempty"` // relative to the target root
	Owner    string   `json:"owner,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// WrittenFile is a file the migration wrote.
type WrittenFile struct {
	Path   string `json:"path"` // relative to the target root
	SHA256 string `json:"sha256"`
}

// Rollback is the outcome of rolling a migration back.
type Rollback struct {
	At      time.Time `json:"at"`
	Removed []string  `json:"removed"`
	// Kept are files changed since the migration: not removed.
	Kept     []string `json:"kept,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Store keeps migrations; internal/store implements it. Unknown ids are
// greenroom.CodeNotFound.
type Store interface {
	CreateFeishuMigration(ctx context.Context, m Migration) error
	FeishuMigration(ctx context.Context, id string) (Migration, error)
	// FeishuMigrations returns the newest first, at most limit.
	FeishuMigrations(ctx context.Context, limit int) ([]Migration, error)
	UpdateFeishuMigration(ctx context.Context, m Migration) error
}
