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

	"greenroom/internal/catalog/entity"
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
	proc    *processor
	querier Querier

	mu       sync.Mutex // serialises refreshes
	problems []error
}

// StoreQuerier is a Store that also answers the read API's queries.
type StoreQuerier interface {
	Store
	Querier
}

// NewService returns a catalog over st reading the given sources.
// Custom kinds extend the built-in ones with JSON Schemas.
func NewService(st StoreQuerier, sources []Source, logger *slog.Logger, custom ...entity.CustomKind) (*Service, error) {
	v, err := entity.NewValidator(custom...)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return &Service{store: st, querier: st, sources: sources, logger: logger, proc: &processor{validator: v}}, nil
}

// Refresh reads every source and stores what it holds. A broken file or
// entity is recorded as a problem and never blocks the others; an entity
// that stops validating keeps its last good version; a source that cannot
// be read at all keeps what it supplied before.
func (s *Service) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var problems []error
	for _, src := range s.sources {
		errs, err := s.refreshSource(ctx, src)
		if err != nil {
			return fmt.Errorf("catalog: refresh %s: %w", src.Name, err)
		}
		problems = append(problems, errs...)
	}
	for _, p := range problems {
		s.logger.Warn("catalog problem", "err", p)
	}
	s.problems = problems
	return nil
}

func (s *Service) refreshSource(ctx context.Context, src Source) ([]error, error) {
	raw, problems := readTree(src.FS, src.Root)
	if len(raw) == 0 && len(problems) > 0 {
		return problems, nil
	}
	var recs []Record
	var rels []StoredRelation
	seen := map[string]bool{}
	for _, re := range raw {
		p, errs := s.proc.process(src, re)
		problems = append(problems, errs...)
		if len(errs) > 0 {
			if kept, ok := s.lastGood(ctx, src, errs); ok {
				p = kept
			} else {
				continue
			}
		}
		if seen[p.rec.Ref] {
			problems = append(problems, &ProcessingError{Source: src.Name, File: re.File, Line: re.Line, Ref: p.rec.Ref, Rule: "entity is defined twice in this location"})
			continue
		}
		seen[p.rec.Ref] = true
		recs = append(recs, p.rec)
		for _, r := range p.relations {
			rels = append(rels, StoredRelation{SourceRef: r.Source.String(), Type: r.Type, TargetRef: r.Target.String()})
		}
	}
	hash := sourceHash(recs, rels)
	if prev, err := s.store.SourceState(ctx, src.Name); err == nil && prev.Hash == hash {
		return problems, nil // unchanged since the last refresh: nothing to write
	} else if err != nil && !greenroom.IsNotFound(err) {
		return problems, err
	}
	res, err := s.store.ApplySource(ctx, src.Name, recs, rels)
	if err != nil {
		return problems, err
	}
	for _, ref := range res.Conflicts {
		problems = append(problems, &ProcessingError{Source: src.Name, Ref: ref, File: src.Root, Rule: "entity is already provided by another location; the first keeps it"})
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Error()
	}
	if err := s.store.SaveSourceState(ctx, SourceState{Name: src.Name, Hash: hash, EntityCount: len(recs), Problems: msgs}); err != nil {
		return problems, err
	}
	s.logger.Info("source refreshed", "source", src.Name, "inserted", res.Inserted, "updated", res.Updated,
		"unchanged", res.Unchanged, "deleted", res.Deleted, "problems", len(problems))
	return problems, nil
}

// lastGood returns the stored version of an entity that failed processing,
// when the same source supplied it before, so a bad edit loses nothing.
func (s *Service) lastGood(ctx context.Context, src Source, errs []error) (processed, bool) {
	var pe *ProcessingError
	if !errors.As(errs[0], &pe) || pe.Ref == "" {
		return processed{}, false
	}
	old, err := s.store.EntityByRef(ctx, pe.Ref)
	if err != nil || old.Source != src.Name {
		return processed{}, false
	}
	e, err := entity.Parse(old.Body)
	if err != nil {
		return processed{}, false
	}
	rels, err := entity.Relations(e)
	if err != nil {
		return processed{}, false
	}
	return processed{rec: old, relations: rels}, true
}

// sourceHash identifies everything a source supplied, so that an unchanged
// source is skipped whole.
func sourceHash(recs []Record, rels []StoredRelation) string {
	h := sha256.New()
	for _, r := range recs {
		fmt.Fprintf(h, "%s\x00%s\x00", r.Ref, r.Hash)
	}
	for _, r := range rels {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.SourceRef, r.Type, r.TargetRef)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Problems returns the problems found by the last refresh.
func (s *Service) Problems() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.problems...)
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
	out := make([]json.RawMessage, len(recs))
	for i, rec := range recs {
		out[i] = rec.Body // stored stitched: uid, etag and relations included
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
	return rec.Body, nil
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
