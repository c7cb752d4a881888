package feishu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// MigrateJobKind is the durable job that runs a migration.
const MigrateJobKind = "feishu.migrate"

// PermissionRule maps Feishu collaborators to a catalog owner (the
// feishu.permissionMapping table). Empty FeishuMember or FeishuRole match
// any; a role matches that permission or a stronger one (view < edit <
// full_access). The first rule matching any collaborator wins.
type PermissionRule struct {
	FeishuMember string `json:"feishuMember,omitempty"`
	FeishuRole   string `json:"feishuRole,omitempty"`
	Owner        string `json:"owner"`
}

var permRank = map[string]int{"view": 1, "edit": 2, "full_access": 3}

// Owner returns the owner the rules give a document's members, or "".
func Owner(rules []PermissionRule, members []Member) string {
	for _, r := range rules {
		for _, m := range members {
			if r.FeishuMember != "" && r.FeishuMember != m.MemberID {
				continue
			}
			if r.FeishuRole != "" && permRank[m.Perm] < permRank[r.FeishuRole] {
				continue
			}
			return r.Owner
		}
	}
	return ""
}

// Enqueuer adds a durable job (the jobs pool implements it).
type Enqueuer func(ctx context.Context, kind string, payload any) error

// Publisher commits what a migration wrote in dir on a new branch (git
// output) and returns the commit id; the git adapter implements it.
type Publisher interface {
	Publish(ctx context.Context, dir, branch, message string, paths []string) (string, error)
	// PullRequest pushes branch to the origin of the repository in dir
	// and opens a pull request into base of repo ("" derives it from
	// origin); it returns the pull request's URL.
	PullRequest(ctx context.Context, dir, repo, branch, base, title, body string) (string, error)
}

// Owners reads who owns a catalog entity (spec.owner as an entity ref);
// an entity not in the catalog is greenroom.CodeNotFound. cli adapts the
// catalog service to it.
type Owners interface {
	Owner(ctx context.Context, entityRef string) (string, error)
}

// SetOwners makes migrations compare each page's mapped owner with the
// target service's owner and warn when they differ.
func (s *Service) SetOwners(o Owners) { s.owners = o }

// sameOwner compares two owner refs, group:default being implied.
func sameOwner(a, b string) bool {
	ra, errA := greenroom.ParseEntityRef(a, "group", "default")
	rb, errB := greenroom.ParseEntityRef(b, "group", "default")
	return errA == nil && errB == nil && ra.String() == rb.String()
}

// Service runs migrations. Build it with NewService and the setters.
type Service struct {
	source    Source
	store     Store
	enqueue   Enqueuer
	rules     []PermissionRule
	builder   DocsBuilder
	publisher Publisher
	log       *slog.Logger
	now       func() time.Time
	defaults  ConversionConfig
	root      string
	owners    Owners
}

// SetTargetRoot confines migrations to root: a request's TargetDir is then
// a path relative to it, which may not leave it. The server sets it; the
// CLI, run by the repository's owner, does not.
func (s *Service) SetTargetRoot(root string) { s.root = root }

// CanAdminister reports whether p may start, validate and roll back
// migrations, beyond the permission layer's decision on the route (the
// admin action: platform_admin when permission.enabled, everyone signed in
// otherwise, as in Backstage): never a contractor, whatever a policy says.
func CanAdminister(p *access.Principal) bool {
	return p == nil || !p.Contractor
}

// NewService returns a migration service reading source and keeping
// migrations in store.
func NewService(source Source, store Store, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{source: source, store: store, log: logger, now: time.Now, builder: DefaultBuilder{}, defaults: DefaultConversion()}
}

// SetEnqueuer makes Start run migrations as durable jobs; without one
// Start runs them at once.
func (s *Service) SetEnqueuer(e Enqueuer) { s.enqueue = e }

// SetPermissionMapping sets the feishu.permissionMapping rules.
func (s *Service) SetPermissionMapping(rules []PermissionRule) { s.rules = rules }

// SetBuilder replaces the default validation builder (the TechDocs builder
// plugs in here).
func (s *Service) SetBuilder(b DocsBuilder) { s.builder = b }

// SetPublisher enables git output.
func (s *Service) SetPublisher(p Publisher) { s.publisher = p }

// SetConversionDefaults sets the conversion used when a request has none.
func (s *Service) SetConversionDefaults(c ConversionConfig) { s.defaults = c }

// SetClock replaces time.Now, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "fm-" + hex.EncodeToString(b)
}

// Start validates req, stores a queued migration and enqueues its job (or
// runs it now without an enqueuer). It returns the stored migration.
func (s *Service) Start(ctx context.Context, req Request) (Migration, error) {
	if req.Conversion.HandleImages == "" {
		req.Conversion = s.defaults
	}
	req.defaults()
	if err := req.Validate(); err != nil {
		return Migration{}, err
	}
	if s.root != "" {
		rel, err := cleanRel(filepath.ToSlash(req.TargetDir))
		if err != nil || filepath.IsAbs(req.TargetDir) {
			return Migration{}, greenroom.Errorf(greenroom.CodeInvalid, "feishu migration: targetDir: %q must be a folder inside %s", req.TargetDir, s.root)
		}
		req.TargetDir = filepath.Join(s.root, filepath.FromSlash(rel))
	}
	if req.Git != nil && s.publisher == nil {
		return Migration{}, greenroom.Errorf(greenroom.CodeInvalid, "feishu migration: git output is not available here")
	}
	now := s.now().UTC()
	m := Migration{ID: newID(), Request: req, Status: StatusQueued, CreatedAt: now, UpdatedAt: now}
	m.Report.MigrationID = m.ID
	if err := s.store.CreateFeishuMigration(ctx, m); err != nil {
		return Migration{}, fmt.Errorf("feishu: store migration: %w", err)
	}
	if s.enqueue == nil {
		if err := s.Run(ctx, m.ID); err != nil {
			return m, err
		}
		return s.store.FeishuMigration(ctx, m.ID)
	}
	if err := s.enqueue(ctx, MigrateJobKind, jobPayload{ID: m.ID}); err != nil {
		return Migration{}, fmt.Errorf("feishu: enqueue migration: %w", err)
	}
	return m, nil
}

type jobPayload struct {
	ID string `json:"id"`
}

// RunJob runs the migration a job names.
func (s *Service) RunJob(ctx context.Context, payload json.RawMessage) error {
	var p jobPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.ID == "" {
		return fmt.Errorf("feishu: job payload %s: want {\"id\": …}", payload)
	}
	err := s.Run(ctx, p.ID)
	if greenroom.IsNotFound(err) {
		s.log.Warn("feishu migration job for an unknown migration", "migration_id", p.ID)
		return nil
	}
	return err
}

// Migration returns a stored migration.
func (s *Service) Migration(ctx context.Context, id string) (Migration, error) {
	return s.store.FeishuMigration(ctx, id)
}

// Migrations returns the newest migrations.
func (s *Service) Migrations(ctx context.Context, limit int) ([]Migration, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return s.store.FeishuMigrations(ctx, limit)
}

// Convert converts one document by id with cfg (the CLI's convert).
func (s *Service) Convert(ctx context.Context, documentID string, cfg ConversionConfig, assets Assets) (Result, error) {
	conv, err := NewConverter(cfg, assets)
	if err != nil {
		return Result{}, greenroom.Errorf(greenroom.CodeInvalid, "%w", err)
	}
	blocks, err := s.source.Blocks(ctx, documentID)
	if err != nil {
		return Result{}, err
	}
	if cfg.PreserveComments {
		var res DocumentResult
		if conv, err = s.withComments(ctx, conv, documentID, &res); err != nil {
			return Result{}, err
		}
	}
	return conv.Convert(ctx, blocks)
}

func (s *Service) save(ctx context.Context, m *Migration) error {
	m.UpdatedAt = s.now().UTC()
	if err := s.store.UpdateFeishuMigration(ctx, *m); err != nil {
		return fmt.Errorf("feishu: save migration %s: %w", m.ID, err)
	}
	return nil
}

// ConversionDefaults returns the conversion used when a request has none.
func (s *Service) ConversionDefaults() ConversionConfig { return s.defaults }
