package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"greenroom/internal/greenroom"
)

// Source is a configured place entities are read from: a file tree and
// the root file within it.
type Source struct {
	// Name names the source in the store, e.g. "file:/srv/all.yaml".
	Name string
	FS   fs.FS
	Root string // path of the root file within FS
	// AllowKinds limits the kinds the location may supply (lowercase);
	// empty allows every kind.
	AllowKinds []string
}

// FileSource returns a Source for a file on disk. Relative targets of
// its Location entities resolve against the file's directory.
func FileSource(target string, allowKinds []string) (Source, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return Source{}, fmt.Errorf("catalog: file location %s: %w", target, err)
	}
	vol := filepath.VolumeName(abs)
	rel := filepath.ToSlash(strings.TrimPrefix(abs[len(vol):], string(filepath.Separator)))
	return Source{Name: "file:" + abs, FS: os.DirFS(vol + string(filepath.Separator)), Root: rel, AllowKinds: allowKinds}, nil
}

// Service is the catalog's business logic shared by every transport.
type Service struct {
	store   Store
	sources []Source
	logger  *slog.Logger
	enqueue EnqueueFunc

	mu       sync.Mutex // serialises refreshes
	problems []error
}

// NewService returns a catalog over st reading the given sources.
func NewService(st Store, sources []Source, logger *slog.Logger) *Service {
	return &Service{store: st, sources: sources, logger: logger}
}

// Refresh reads every location and stores what it holds. A broken file is
// recorded as a problem and never blocks the others; the entities of a
// location that cannot be read at all are kept as they were.
func (s *Service) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var problems []error
	for _, loc := range s.sources {
		raw, errs := readTree(loc.FS, loc.Root)
		problems = append(problems, errs...)
		if len(raw) == 0 && len(errs) > 0 {
			continue
		}
		recs, errs := buildRecords(loc, raw)
		problems = append(problems, errs...)
		res, err := s.store.ReplaceSourceEntities(ctx, loc.Name, recs)
		if err != nil {
			return fmt.Errorf("catalog: refresh %s: %w", loc.Name, err)
		}
		for _, ref := range res.Conflicts {
			problems = append(problems, fmt.Errorf("%s: entity %s is already provided by another location", loc.Name, ref))
		}
		s.logger.Info("location refreshed", "source", loc.Name, "inserted", res.Inserted,
			"updated", res.Updated, "unchanged", res.Unchanged, "deleted", res.Deleted, "problems", len(errs))
	}
	for _, p := range problems {
		s.logger.Warn("catalog problem", "err", p)
	}
	s.problems = problems
	return nil
}

// Problems returns the problems found by the last refresh.
func (s *Service) Problems() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.problems...)
}

func buildRecords(loc Source, raw []map[string]any) ([]Record, []error) {
	var recs []Record
	var errs []error
	seen := map[string]bool{}
	for _, ent := range raw {
		rec, err := newRecord(loc, ent)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", loc.Name, err))
			continue
		}
		if seen[rec.Ref] {
			errs = append(errs, fmt.Errorf("%s: entity %s is defined twice", loc.Name, rec.Ref))
			continue
		}
		seen[rec.Ref] = true
		recs = append(recs, rec)
	}
	return recs, errs
}

func newRecord(loc Source, ent map[string]any) (Record, error) {
	apiVersion, _ := ent["apiVersion"].(string)
	kind, _ := ent["kind"].(string)
	meta, _ := ent["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return Record{}, errors.New("entity needs apiVersion, kind and metadata.name")
	}
	if len(loc.AllowKinds) > 0 && !containsFold(loc.AllowKinds, kind) {
		return Record{}, fmt.Errorf("kind %s is not allowed from this location", kind)
	}
	ns, _ := meta["namespace"].(string)
	if ns == "" {
		ns = greenroom.DefaultNamespace
		meta["namespace"] = ns
	}
	delete(meta, "uid")
	delete(meta, "etag")
	body, err := json.Marshal(ent)
	if err != nil {
		return Record{}, fmt.Errorf("entity %s: %w", name, err)
	}
	sum := sha256.Sum256(body)
	ref := greenroom.EntityRef{Kind: kind, Namespace: ns, Name: name}
	return Record{
		Ref: ref.String(), Kind: kind, Namespace: ns, Name: name,
		Source: loc.Name, Hash: hex.EncodeToString(sum[:16]), Body: body,
	}, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Entities returns stored entities in Backstage's JSON form.
func (s *Service) Entities(ctx context.Context, q Query) ([]json.RawMessage, error) {
	recs, err := s.store.ListEntities(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("catalog: list entities: %w", err)
	}
	out := make([]json.RawMessage, 0, len(recs))
	for _, rec := range recs {
		b, err := entityJSON(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// EntityByName returns one entity; its error has code not_found when the
// catalog has no such entity.
func (s *Service) EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	rec, err := s.store.EntityByRef(ctx, ref.String())
	if err != nil {
		return nil, fmt.Errorf("catalog: entity %s: %w", ref, err)
	}
	return entityJSON(rec)
}

// entityJSON adds metadata.uid and metadata.etag to the stored body.
func entityJSON(rec Record) (json.RawMessage, error) {
	var ent map[string]any
	if err := json.Unmarshal(rec.Body, &ent); err != nil {
		return nil, fmt.Errorf("catalog: entity %s: stored body: %w", rec.Ref, err)
	}
	meta, _ := ent["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		ent["metadata"] = meta
	}
	meta["uid"] = rec.UID
	meta["etag"] = rec.Hash
	b, err := json.Marshal(ent)
	if err != nil {
		return nil, fmt.Errorf("catalog: entity %s: %w", rec.Ref, err)
	}
	return b, nil
}

// EnqueueFunc durably queues background work of a kind.
type EnqueueFunc func(ctx context.Context, kind string, payload any) error

// RefreshJobKind is the job kind that runs Refresh.
const RefreshJobKind = "catalog.refresh"

// RefreshRequest is the payload of a refresh job.
type RefreshRequest struct {
	EntityRef string `json:"entityRef,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// SetEnqueuer lets RequestRefresh queue refresh jobs.
func (s *Service) SetEnqueuer(fn EnqueueFunc) { s.enqueue = fn }

// RequestRefresh durably queues a refresh; it has returned nil only once
// the job is stored. entityRef, when given, must parse.
func (s *Service) RequestRefresh(ctx context.Context, entityRef string) error {
	if entityRef != "" {
		if _, err := greenroom.ParseEntityRef(entityRef, "", ""); err != nil {
			return err
		}
	}
	if s.enqueue == nil {
		return greenroom.Errorf(greenroom.CodeUnavailable, "background refresh is not running")
	}
	req := RefreshRequest{EntityRef: entityRef, RequestID: greenroom.RequestID(ctx)}
	if err := s.enqueue(ctx, RefreshJobKind, req); err != nil {
		return fmt.Errorf("catalog: queue refresh: %w", err)
	}
	return nil
}
