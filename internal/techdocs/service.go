package techdocs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"greenroom/internal/greenroom"
)

// Builder modes (techdocs.builder).
const (
	BuilderLocal    = "local"    // Greenroom builds docs from the entity's source
	BuilderExternal = "external" // CI publishes; Greenroom only serves
)

// EntityDocs is what the service needs to know of an entity.
type EntityDocs struct {
	Name        EntityName
	Title       string
	Owner       string // the spec.owner ref, for notifications
	Annotations map[string]string
	// ETag is the catalog's etag of the entity: a change of the entity
	// (its annotations, its source location) means a rebuild.
	ETag string
}

// Fetcher fetches a url: docs source (a directory of a repository) into a
// local directory. etag identifies the fetched content (a commit).
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (dir, etag string, cleanup func(), err error)
}

// Notice tells an owning team that its docs failed to build.
type Notice struct {
	Entity  string
	Title   string
	Owner   string
	Error   string
	DocsURL string
}

// Notifier delivers a Notice (Slack, email).
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Builder   string // BuilderLocal (default) or BuilderExternal
	Publisher Publisher
	Status    StatusStore
	Fetcher   Fetcher  // nil: url: sources cannot be built
	Notifier  Notifier // nil: no notifications
	Logger    *slog.Logger
	Now       func() time.Time
	// PortalURL is the portal's base URL, for links in notices.
	PortalURL string
	// WorkDir holds temporary build output (default os.TempDir()).
	WorkDir string
	// URLRecheck is how often Stale asks a url: source for its etag (a
	// git fetch); default 5 minutes, so a big catalog does not hammer its
	// git host. Changes the catalog sees rebuild at once regardless.
	URLRecheck time.Duration
}

// Service builds, publishes and reports on entities' docs; the web pages,
// the Backstage API, the jobs and the CLI all go through it.
type Service struct {
	opts    ServiceOptions
	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	checked map[string]time.Time // url: sources' last Stale check
}

// NewService returns a Service.
func NewService(o ServiceOptions) *Service {
	if o.Builder == "" {
		o.Builder = BuilderLocal
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.URLRecheck <= 0 {
		o.URLRecheck = 5 * time.Minute
	}
	return &Service{opts: o, locks: map[string]*sync.Mutex{}, checked: map[string]time.Time{}}
}

// Publisher returns the storage sites are served from.
func (s *Service) Publisher() Publisher { return s.opts.Publisher }

// Builder returns the builder mode.
func (s *Service) Builder() string { return s.opts.Builder }

// Record returns the entity's build record; not_found when never built.
func (s *Service) Record(ctx context.Context, n EntityName) (BuildRecord, error) {
	return s.opts.Status.BuildRecord(ctx, n.String())
}

// Records returns every build record.
func (s *Service) Records(ctx context.Context) ([]BuildRecord, error) {
	return s.opts.Status.BuildRecords(ctx)
}

func (s *Service) lock(key string) func() {
	s.mu.Lock()
	l := s.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[key] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Sync builds and publishes the entity's docs when its source changed
// since the last build (or force), as Backstage's /sync does, calling log
// with progress lines. It reports whether a new site was published. With
// the external builder it only reports false. A failed build keeps the
// last good site, records the error (with file and line when the project
// is at fault) and notifies the owner once per failing change.
func (s *Service) Sync(ctx context.Context, e EntityDocs, force bool, log func(string)) (bool, error) {
	if log == nil {
		log = func(string) {}
	}
	if s.opts.Builder != BuilderLocal {
		return false, nil
	}
	if !e.Name.Valid() {
		return false, greenroom.Errorf(greenroom.CodeInvalid, "bad entity name %v", e.Name)
	}
	unlock := s.lock(e.Name.String())
	defer unlock()
	src, err := ResolveSource(e.Annotations)
	if err != nil {
		return false, err
	}
	rec, err := s.opts.Status.BuildRecord(ctx, e.Name.String())
	if err != nil && greenroom.ErrorCode(err) != greenroom.CodeNotFound {
		return false, err
	}
	rec.Entity = e.Name.String()

	log(fmt.Sprintf("Preparing docs for %s from %s:%s", e.Name, src.Type, src.Target))
	dir, etag, cleanup, err := s.prepare(ctx, src)
	if err != nil {
		return false, s.fail(ctx, e, rec, "", err, log)
	}
	defer cleanup()
	key := sourceKey(e.ETag, src, etag)
	if !force && rec.Status == StatusSuccess && rec.SourceKey == key {
		log("Docs are up to date")
		return false, nil
	}
	start := s.opts.Now()
	rec.Status, rec.StartedAt, rec.FinishedAt = StatusBuilding, start, time.Time{}
	if err := s.opts.Status.SaveBuildRecord(ctx, rec); err != nil {
		return false, err
	}
	out, err := os.MkdirTemp(s.opts.WorkDir, "techdocs-site-")
	if err != nil {
		return false, fmt.Errorf("techdocs: %w", err)
	}
	defer os.RemoveAll(out)
	site := filepath.Join(out, "site")
	log("Building with the Greenroom MkDocs builder")
	res, err := Build(ctx, dir, site, Options{Now: s.opts.Now, Etag: etag})
	if err != nil {
		return false, s.fail(ctx, e, rec, key, err, log)
	}
	var logb strings.Builder
	for _, w := range res.Warnings {
		log("WARNING " + w.String())
		fmt.Fprintf(&logb, "WARNING %s\n", w)
	}
	log(fmt.Sprintf("Built %d pages in %s", len(res.Pages), res.Duration.Round(time.Millisecond)))
	fmt.Fprintf(&logb, "Built %d pages in %s\n", len(res.Pages), res.Duration.Round(time.Millisecond))
	if err := s.opts.Publisher.Publish(ctx, e.Name, site); err != nil {
		return false, s.fail(ctx, e, rec, key, err, log)
	}
	log("Published")
	now := s.opts.Now()
	rec.Status, rec.SourceKey, rec.FinishedAt, rec.LastSuccessAt = StatusSuccess, key, now, now
	rec.Error, rec.Warnings, rec.NotifiedKey = "", res.Warnings, ""
	rec.Log = logb.String()
	if err := s.opts.Status.SaveBuildRecord(ctx, rec); err != nil {
		return true, err
	}
	return true, nil
}

// fail records a failed build and notifies the owner once per key.
func (s *Service) fail(ctx context.Context, e EntityDocs, rec BuildRecord, key string, cause error, log func(string)) error {
	msg := strings.TrimPrefix(cause.Error(), ErrInvalid.Error()+": ")
	log("ERROR " + msg)
	rec.Status, rec.FinishedAt, rec.Error = StatusFailed, s.opts.Now(), msg
	if rec.StartedAt.IsZero() {
		rec.StartedAt = rec.FinishedAt
	}
	rec.Log = "ERROR " + msg + "\n"
	if key == "" {
		key = "prepare:" + msg
	}
	rec.SourceKey = key
	if s.opts.Notifier != nil && rec.NotifiedKey != key {
		n := Notice{Entity: e.Name.String(), Title: e.Title, Owner: e.Owner, Error: msg}
		if s.opts.PortalURL != "" {
			n.DocsURL = strings.TrimSuffix(s.opts.PortalURL, "/") + "/docs/" + e.Name.Path() + "/"
		}
		if err := s.opts.Notifier.Notify(ctx, n); err != nil {
			s.opts.Logger.Warn("docs failure notification failed", "entity", n.Entity, "err", err)
		} else {
			rec.NotifiedKey = key
		}
	}
	if err := s.opts.Status.SaveBuildRecord(ctx, rec); err != nil {
		return errors.Join(cause, err)
	}
	if errors.Is(cause, ErrInvalid) {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: msg, Err: cause}
	}
	return cause
}

func (s *Service) prepare(ctx context.Context, src Source) (dir, etag string, cleanup func(), err error) {
	switch src.Type {
	case "dir":
		st, err := os.Stat(src.Target)
		if err != nil || !st.IsDir() {
			return "", "", nil, greenroom.Errorf(greenroom.CodeInvalid, "docs directory %s not found", src.Target)
		}
		etag, err := dirETag(src.Target)
		if err != nil {
			return "", "", nil, err
		}
		return src.Target, etag, func() {}, nil
	case "url":
		if s.opts.Fetcher == nil {
			// Not retried: nothing changes until the server is configured.
			return "", "", nil, greenroom.Errorf(greenroom.CodeInvalid, "cannot fetch %s: this server does not fetch url: docs sources (build them in CI with techdocs.builder: external, or use a file location)", src.Target)
		}
		return s.opts.Fetcher.Fetch(ctx, src.Target)
	}
	return "", "", nil, greenroom.Errorf(greenroom.CodeInvalid, "unknown source type %q", src.Type)
}

func sourceKey(entityETag string, src Source, etag string) string {
	h := sha256.Sum256([]byte(entityETag + "\x00" + src.Type + ":" + src.Target + "\x00" + etag))
	return hex.EncodeToString(h[:16])
}

// dirETag identifies a local docs project's content by its files' names,
// sizes and modification times (bounded to 50,000 files).
func dirETag(dir string) (string, error) {
	h := sha256.New()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != dir {
			return filepath.SkipDir
		}
		if n++; n > 50_000 {
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("techdocs: scan %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// ETagger is an optional Fetcher method: the current etag of a url:
// source without fetching it, so Stale can check sources cheaply.
type ETagger interface {
	ETag(ctx context.Context, rawURL string) (string, error)
}

// Stale reports whether the entity's docs source changed since its last
// build (or it was never built), cheaply: a dir: source is scanned, a url:
// source is asked for its etag when the fetcher can tell it. A source that
// cannot be read is not stale: its failure is already recorded.
func (s *Service) Stale(ctx context.Context, e EntityDocs) bool {
	if s.opts.Builder != BuilderLocal || !e.Name.Valid() {
		return false
	}
	src, err := ResolveSource(e.Annotations)
	if err != nil {
		return false
	}
	rec, err := s.opts.Status.BuildRecord(ctx, e.Name.String())
	if err != nil {
		return greenroom.ErrorCode(err) == greenroom.CodeNotFound
	}
	var etag string
	switch src.Type {
	case "dir":
		if etag, err = dirETag(src.Target); err != nil {
			return false
		}
	case "url":
		et, ok := s.opts.Fetcher.(ETagger)
		if !ok {
			return false
		}
		now := s.opts.Now()
		s.mu.Lock()
		last := s.checked[e.Name.String()]
		recent := !last.IsZero() && now.Sub(last) < s.opts.URLRecheck
		if !recent {
			s.checked[e.Name.String()] = now
		}
		s.mu.Unlock()
		if recent {
			return false
		}
		if etag, err = et.ETag(ctx, src.Target); err != nil {
			return false
		}
	}
	return rec.SourceKey != sourceKey(e.ETag, src, etag)
}
