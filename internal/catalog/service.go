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
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

	mu        sync.Mutex    // serialises refreshes
	push      pushState     // the push API's lock and rules (push.go)
	providers providerState // entity providers' refreshers (provider.go)
	problems  []error
	loc       locationState  // registered locations and the URL reader (locations.go)
	pass      *refreshPass   // the full refresh under way (orphan.go), nil otherwise
	orphans   OrphanStrategy // catalog.orphanStrategy; "" is DefaultOrphanStrategy
	schedule  Schedule       // catalog.processingInterval (schedule.go)
	events    broker         // change events (events.go)
	bulk      bulkLoad       // bulk loads under way (bulkload.go)
	// readFilter, when set, scopes every read to what the caller may see
	// (visibility.go).
	readFilter ReadFilter
	// cache keeps served entities and pages per catalog change
	// (readcache.go).
	cache readCache
	// kinds fingerprints the custom kinds, for the raw inputs a source's
	// refresh records (rawinputs.go).
	kinds string
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
	return &Service{store: st, querier: st, sources: sources, logger: logger, proc: &processor{validator: v}, kinds: customKindsDigest(custom)}, nil
}

// Refresh reads every source and stores what it holds. A broken file or
// entity is recorded as a problem and never blocks the others; an entity
// that stops validating keeps its last good version; a source that cannot
// be read at all keeps what it supplied before. What a source no longer
// supplies, and everything of a source no longer current, becomes an
// orphan; the pass ends with the orphan strategy's cleanup (orphan.go).
func (s *Service) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pass = newRefreshPass()
	defer func() {
		// After a failure too: what the sources stored before it is then
		// complete.
		if err := s.endBulkPass(ctx); err != nil {
			s.logger.Error("catalog refresh", "err", err)
		}
		if s.pass.bulk {
			s.bulk.end()
		}
		s.pass = nil
	}()
	var problems []error
	srcs, err := s.currentSources(ctx)
	if err != nil {
		return fmt.Errorf("catalog: refresh: %w", err)
	}
	for i, src := range srcs {
		s.pass.last = i == len(srcs)-1
		errs, err := s.refreshSource(ctx, src)
		if err != nil {
			return fmt.Errorf("catalog: refresh %s: %w", src.Name, err)
		}
		problems = append(problems, errs...)
	}
	if err := s.endBulkPass(ctx); err != nil {
		return fmt.Errorf("catalog: refresh: %w", err)
	}
	if err := s.finishPass(ctx); err != nil {
		return fmt.Errorf("catalog: refresh: %w", err)
	}
	problems = s.pass.allProblems() // a source refreshed twice counts once
	for _, p := range problems {
		s.logger.Warn("catalog problem", "err", p)
	}
	s.problems = problems
	return nil
}

// refreshSource refreshes one source and records the outcome in the full
// refresh under way, if any.
func (s *Service) refreshSource(ctx context.Context, src Source) ([]error, error) {
	out, err := s.applySource(ctx, src)
	if s.pass != nil && err == nil {
		s.pass.add(src, out)
	}
	return out.problems, err
}

// sourceOutcome is what one source's refresh found.
type sourceOutcome struct {
	problems  []error
	conflicts int // refs another source owned
	orphaned  int // entities that became orphans
}

// applySource reads, processes and stores one source. An entity that fails
// processing keeps its last good version with its errors recorded; the
// source's entities it no longer supplies become orphans, except while a
// file of the source cannot be read or an entity cannot even be named
// (Backstage, too, orphans nothing below a Location whose processing
// failed): then they are kept as they were. A source whose raw inputs are
// those of its last refresh is skipped before it is parsed
// (rawinputs.go).
func (s *Service) applySource(ctx context.Context, src Source) (sourceOutcome, error) {
	config := s.rawConfig(src)
	if problems, ok := s.unchangedInputs(ctx, src, config); ok {
		return s.skipUnchanged(ctx, src, problems)
	}
	inputs := rawInputs{config: config, log: newInputLog()}
	var buf []rawEntity
	var st *sourceStream
	emit := func(re rawEntity) {
		buf = append(buf, re)
		if len(buf) < sourceBatch {
			return
		}
		if st == nil { // too large for one transaction: stream it
			st = s.newSourceStream(ctx, src, &inputs)
			if loc, ok := s.registeredAs(src.Name); ok {
				buf = append([]rawEntity{generatedEntity(src, loc)}, buf...)
			}
		}
		st.feed(buf)
		clear(buf)
		buf = buf[:0]
	}
	problems, incomplete := streamTree(ctx, src.FS, src.Root, s.loc.urls, emit, inputs.log)
	inputs.clean = len(problems) == 0 && !incomplete
	if st != nil {
		st.feed(buf)
		return st.finish(problems, incomplete)
	}
	if incomplete {
		buf = nil // as readTree: keep what the source supplied before
	}
	if loc, ok := s.registeredAs(src.Name); ok {
		buf = withGenerated(src, loc, buf, problems)
	}
	return s.applyWhole(ctx, src, buf, problems, inputs)
}

// applyWhole is applySource for a source read whole (raw), in one
// transaction; inputs are the raw inputs of what was read.
func (s *Service) applyWhole(ctx context.Context, src Source, raw []rawEntity, problems []error, inputs rawInputs) (sourceOutcome, error) {
	var out sourceOutcome
	out.problems = problems
	if len(raw) == 0 && len(problems) > 0 {
		return out, nil // nothing readable: keep what the source supplied before
	}
	keepMissing := false
	locErrs := map[string][]EntityError{} // Location ref → errors reading its targets
	namedBy := locationFiles(raw)
	for _, p := range problems {
		var le *LocationError
		if errors.As(p, &le) {
			keepMissing = true
			if ref, ok := namedBy[le.File]; ok {
				locErrs[ref] = append(locErrs[ref], locationEntityError(src, le))
			}
		}
	}
	var recs []Record
	var rels []StoredRelation
	seen := map[string]bool{}
	done := s.proc.processAll(src, raw)
	for i, re := range raw {
		p, errs := done[i].p, done[i].errs
		out.problems = append(out.problems, errs...)
		var entErrs []EntityError
		if len(errs) > 0 {
			kept, ok := s.lastGood(ctx, src, errs)
			if !ok {
				keepMissing = keepMissing || !named(errs)
				continue
			}
			p, entErrs = kept, entityErrors(errs)
		}
		ref := strings.ToLower(p.rec.Ref)
		if seen[ref] {
			out.problems = append(out.problems, &ProcessingError{Source: src.Name, File: re.File, Line: re.Line, Ref: p.rec.Ref, Rule: "entity is defined twice in this location"})
			continue
		}
		seen[ref] = true
		p.rec.Errors = capErrors(append(entErrs, locErrs[ref]...))
		recs = append(recs, p.rec)
		rels = append(rels, storedRelations(ref, p.relations)...)
	}
	if keepMissing {
		old, err := s.store.SourceEntities(ctx, src.Name)
		if err != nil {
			return out, err
		}
		for _, rec := range old {
			ref := strings.ToLower(rec.Ref)
			if seen[ref] {
				continue
			}
			if p, ok := storedProcessed(rec); ok {
				seen[ref] = true
				recs = append(recs, p.rec)
				rels = append(rels, storedRelations(ref, p.relations)...)
			}
		}
	}
	hash, err := sourceHash(recs, rels)
	if err != nil {
		return out, err
	}
	if prev, err := s.store.SourceState(ctx, src.Name); err == nil && prev.Hash == hash {
		// Unchanged since the last refresh: nothing to write, but the raw
		// inputs that made it, when they are not those recorded (a first
		// refresh since they are, a configuration change that changed
		// nothing, a file that failed), so that the next refresh is skipped
		// before parsing, or is not.
		if in := inputs.encode(src, hash, out.problems); in != prev.Inputs {
			return out, s.store.SaveSourceState(ctx, SourceState{Name: src.Name, Hash: hash, EntityCount: len(recs), Problems: problemMessages(out.problems), Inputs: in})
		}
		return out, nil
	} else if err != nil && !greenroom.IsNotFound(err) {
		return out, err
	}
	res, err := s.store.ApplySource(ctx, src.Name, recs, rels)
	if err != nil {
		return out, err
	}
	s.publish(res.Changes)
	out.conflicts, out.orphaned = len(res.Conflicts), res.Orphaned
	for _, ref := range res.Conflicts {
		out.problems = append(out.problems, &ProcessingError{Source: src.Name, Ref: ref, File: src.Root, Rule: "entity is already provided by another location; the first keeps it"})
	}
	if len(res.Conflicts) > 0 {
		// Not skipped next time, so that the source claims the entity once
		// the winner lets it go.
		hash = ""
	}
	st := SourceState{Name: src.Name, Hash: hash, EntityCount: len(recs), Problems: problemMessages(out.problems), Inputs: inputs.encode(src, hash, out.problems)}
	if err := s.store.SaveSourceState(ctx, st); err != nil {
		return out, err
	}
	s.logger.Info("source refreshed", "source", src.Name, "inserted", res.Inserted, "updated", res.Updated,
		"unchanged", res.Unchanged, "orphaned", res.Orphaned, "conflicts", len(res.Conflicts), "problems", len(out.problems))
	return out, nil
}

// problemMessages are the problems as SourceState keeps them.
func problemMessages(problems []error) []string {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Error()
	}
	return msgs
}

// publish hands committed changes to the subscribers.
func (s *Service) publish(evs []Event) {
	s.events.publish(evs, time.Now().UTC())
}

// storedRelations are the relations an entity (ref, lowercased) emits, as
// stored.
func storedRelations(ref string, rels []entity.Relation) []StoredRelation {
	out := make([]StoredRelation, len(rels))
	for i, r := range rels {
		out[i] = StoredRelation{SourceRef: r.Source.String(), Type: r.Type, TargetRef: r.Target.String(), OriginRef: ref}
	}
	return out
}

// locationFiles maps each file that a Location entity of raw names to the
// Location's ref (lowercased), so that a problem reading the file is
// recorded on it, as Backstage records it on the Location whose target
// failed.
func locationFiles(raw []rawEntity) map[string]string {
	out := map[string]string{}
	for _, re := range raw {
		if kind, _ := re.Data["kind"].(string); !strings.EqualFold(kind, "Location") {
			continue
		}
		meta, _ := re.Data["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		if name == "" {
			continue
		}
		ns, _ := meta["namespace"].(string)
		if ns == "" {
			ns = greenroom.DefaultNamespace
		}
		ref := strings.ToLower(greenroom.EntityRef{Kind: "location", Namespace: ns, Name: name}.String())
		for _, t := range locationTargets(re.Data) {
			if file, err := resolveTarget(re.File, t); err == nil {
				if _, taken := out[file]; !taken {
					out[file] = ref
				}
			}
		}
	}
	return out
}

// locationEntityError is the error recorded on a Location entity whose
// target could not be read: a NotFoundError for a missing file, as
// Backstage's file reader reports, an InputError otherwise.
func locationEntityError(src Source, le *LocationError) EntityError {
	name := "InputError"
	if src.FS != nil && !strings.Contains(le.File, "://") {
		if _, err := fs.Stat(src.FS, le.File); errors.Is(err, fs.ErrNotExist) {
			name = "NotFoundError"
		}
	}
	return EntityError{Name: name, Message: truncate(le.Error(), maxEntityErrorMessage)}
}

// named reports whether every error names its entity, so that the entity
// it is about can be told apart from those the source dropped.
func named(errs []error) bool {
	for _, err := range errs {
		var pe *ProcessingError
		if !errors.As(err, &pe) || pe.Ref == "" {
			return false
		}
	}
	return true
}

// entityErrors turns an entity's processing problems into the errors
// recorded on it, named as Backstage names them: NotAllowedError for a kind
// the location's rules refuse, InputError for an entity that is not valid.
func entityErrors(errs []error) []EntityError {
	var out []EntityError
	for _, err := range errs {
		name := "InputError"
		var pe *ProcessingError
		if errors.As(err, &pe) && pe.Path == "kind" && (strings.Contains(pe.Rule, "not allowed") || strings.Contains(pe.Rule, "not of an allowed kind")) {
			name = "NotAllowedError"
		}
		out = append(out, EntityError{Name: name, Message: truncate(err.Error(), maxEntityErrorMessage)})
	}
	return out
}

// capErrors bounds the errors kept on one entity.
func capErrors(errs []EntityError) []EntityError {
	if len(errs) <= maxEntityErrors {
		return errs
	}
	n := len(errs) - maxEntityErrors + 1
	return append(errs[:maxEntityErrors-1:maxEntityErrors-1], EntityError{Name: "InputError", Message: fmt.Sprintf("and %d more problems", n)})
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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
	return storedProcessed(old)
}

// storedProcessed returns a stored entity as processing would have
// produced it, with the relations it emits.
func storedProcessed(old Record) (processed, bool) {
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

// sourceHash identifies everything a source supplied, errors included, so
// that an unchanged source is skipped whole.
func sourceHash(recs []Record, rels []StoredRelation) (string, error) {
	h := sha256.New()
	for _, r := range recs {
		errs, err := json.Marshal(r.Errors)
		if err != nil {
			return "", fmt.Errorf("entity %s: errors: %w", r.Ref, err)
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.Ref, r.Hash, errs)
	}
	for _, r := range rels {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", r.SourceRef, r.Type, r.TargetRef, r.OriginRef)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
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
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	if !sc.unrestricted() {
		return s.scopedEntities(ctx, sc, q)
	}
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
	sc, err := s.scope(ctx)
	if err != nil {
		return nil, err
	}
	key, version, cacheable := s.cacheSlot(sc, "name", strings.ToLower(ref.String()))
	if cacheable {
		if body, ok := s.cache.getBody(key, version); ok {
			noteCache(ctx, true)
			return body, nil
		}
	}
	rec, err := s.store.EntityByRef(ctx, ref.String())
	if err != nil {
		return nil, fmt.Errorf("catalog: entity %s: %w", ref, err)
	}
	body, err := sc.visibleRecord(rec, func() error {
		return fmt.Errorf("catalog: entity %s: %w", ref, greenroom.Errorf(greenroom.CodeNotFound, "entity %s not found", ref.String()))
	})
	if err == nil && cacheable {
		s.cache.putBody(key, version, body) // copies: body stays the caller's
		noteCache(ctx, false)
	}
	return body, err
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
// the job is stored. entityRef, when given, must parse and name an entity
// that a current source supplies (else code not_found, as Backstage's
// 404), and the job then refreshes only that source (RefreshEntity). An
// entity of the push API has nothing to re-read: nothing is queued.
func (s *Service) RequestRefresh(ctx context.Context, entityRef string) error {
	if entityRef != "" {
		rec, src, err := s.refreshTarget(ctx, entityRef)
		if err != nil || src == nil {
			return err
		}
		entityRef = rec.Ref
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

// refreshTarget returns the stored entity entityRef names and the current
// source that supplies it, nil for a push source. An unknown entity is code
// not_found with Backstage's message; so is an orphan whose source is gone,
// which Backstage cannot refresh either.
func (s *Service) refreshTarget(ctx context.Context, entityRef string) (Record, *Source, error) {
	ref, err := greenroom.ParseEntityRef(entityRef, "", "")
	if err != nil {
		return Record{}, nil, err
	}
	lower := strings.ToLower(ref.String())
	sc, err := s.scope(ctx)
	if err != nil {
		return Record{}, nil, err
	}
	rec, err := s.store.EntityByRef(ctx, lower)
	if err == nil && !sc.visible(rec.Ref) {
		err = greenroom.Errorf(greenroom.CodeNotFound, "hidden")
	}
	if greenroom.IsNotFound(err) {
		return Record{}, nil, greenroom.Errorf(greenroom.CodeNotFound, "Entity %s not found", lower)
	}
	if err != nil {
		return Record{}, nil, fmt.Errorf("catalog: refresh %s: %w", lower, err)
	}
	if IsPushSource(rec.Source) {
		return rec, nil, nil
	}
	if IsProviderSource(rec.Source) {
		if s.providerRefresher(rec.Source) == nil {
			return rec, nil, nil // the provider re-reads it at its next run
		}
		return rec, &Source{Name: rec.Source}, nil
	}
	srcs, err := s.currentSources(ctx)
	if err != nil {
		return Record{}, nil, fmt.Errorf("catalog: refresh %s: %w", lower, err)
	}
	i := slices.IndexFunc(srcs, func(src Source) bool { return src.Name == rec.Source })
	if i < 0 {
		return Record{}, nil, greenroom.Errorf(greenroom.CodeNotFound, "Entity %s not found: it is an orphan, no current location supplies it", lower)
	}
	return rec, &srcs[i], nil
}

// RefreshEntity refreshes the one source that supplies the entity, as
// Backstage's refresh of an entity re-processes it and its location
// rather than the whole catalog. An unknown entity, or one whose source is
// no longer configured or registered (an orphan), is code not_found; an
// entity of the push API has nothing to re-read. Orphans it makes are
// deleted, with the delete strategy, by the cleanup pass of the next full
// refresh, which runs every processing interval.
func (s *Service) RefreshEntity(ctx context.Context, entityRef string) error {
	_, src, err := s.refreshTarget(ctx, entityRef)
	if err != nil || src == nil {
		return err
	}
	if IsProviderSource(src.Name) {
		// The provider reads its sources itself (and applies them through
		// ApplyProviderDelta, which takes the refresh lock).
		if err := s.providerRefresher(src.Name)(ctx, src.Name); err != nil {
			return fmt.Errorf("catalog: refresh %s: %w", src.Name, err)
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	problems, err := s.refreshSource(ctx, *src)
	if err != nil {
		return fmt.Errorf("catalog: refresh %s: %w", src.Name, err)
	}
	for _, p := range problems {
		s.logger.Warn("catalog problem", "err", p)
	}
	return nil
}
