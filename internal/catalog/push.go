package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// The push API (POST /api/catalog/push/{source}) stores entities that live
// outside git — written by CI pipelines, Terraform, inventory scripts — as
// the entities of a catalog source named "push:<source>". They go through
// the same processing as the entities of a location: validation,
// normalisation, relations, conflicts with other sources, and, when a
// replace leaves some out, orphaning.

// PushSourcePrefix starts the store name of every push source.
const PushSourcePrefix = "push:"

// IsPushSource reports whether a store source name belongs to the push
// API. Such a source is not a configured location: a full refresh must
// not retire it because no location supplied it.
func IsPushSource(name string) bool { return strings.HasPrefix(name, PushSourcePrefix) }

// MaxPushEntities bounds one push request; larger sets are pushed in
// several merge requests.
const MaxPushEntities = 10000

// pushSourceName is the form of a push source name: lowercase words of
// letters and digits joined by single -, _ or ., at most 63 characters, so
// that a name is one path segment, cannot differ from another by case only,
// and stays short in annotations and logs.
var pushSourceName = regexp.MustCompile(`^[a-z0-9]+(?:[-_.][a-z0-9]+)*$`)

const maxPushSourceName = 63

// PushMode says what a push does with the source's entities it does not
// name.
type PushMode string

const (
	// PushMerge (the default) upserts the pushed entities and keeps the
	// source's others.
	PushMerge PushMode = ""
	// PushReplace makes the pushed entities the source's complete set: the
	// others become orphans, as entities removed from a location do.
	PushReplace PushMode = "replace"
)

// PushRequest is one push.
type PushRequest struct {
	Entities []json.RawMessage
	Mode     PushMode
	// Subject is who pushes (the token's subject), for logs.
	Subject string
}

// PushStatus is what a push did with one entity.
type PushStatus string

// The statuses of a pushed entity.
const (
	PushCreated   PushStatus = "created"
	PushUpdated   PushStatus = "updated"
	PushUnchanged PushStatus = "unchanged"
	PushFailed    PushStatus = "error"
)

// PushEntityResult is the outcome for one entity of the request, in
// request order.
type PushEntityResult struct {
	Index  int        `json:"index"`
	Ref    string     `json:"ref,omitempty"` // empty when the entity has no kind and name
	Status PushStatus `json:"status"`
	// Error says why the entity was not stored: InputError for an invalid
	// entity, NotAllowedError for a kind the catalog rules refuse,
	// ConflictError for a ref another source provides.
	Error *EntityError `json:"error,omitempty"`
	// Kept is set for an invalid entity the source supplied before: its
	// last good version stays in the catalog.
	Kept bool `json:"kept,omitempty"`
}

// PushResult is the outcome of a push.
type PushResult struct {
	Source  string             `json:"source"` // the store source, "push:<source>"
	Mode    string             `json:"mode"`   // "merge" or "replace"
	Results []PushEntityResult `json:"results"`
	// Orphaned counts the source's entities a replace left out, which are
	// now orphans.
	Orphaned int `json:"orphaned"`
}

// pushState is the push API's part of the Service.
type pushState struct {
	// mu serialises pushes: a merge reads the source's entities and writes
	// them back, which two concurrent pushes to one source would race.
	mu    sync.Mutex
	rules *RulesEnforcer
}

// SetPushRules sets the catalog rules pushed entities must pass, checked
// against the location {type: push, target: <source>}. With none set
// every kind may be pushed; the caller normally passes the rules built
// from catalog.rules, so that without catalog.rules only Backstage's
// default kinds (Component, API, Location) are accepted.
func (s *Service) SetPushRules(r *RulesEnforcer) {
	s.push.mu.Lock()
	defer s.push.mu.Unlock()
	s.push.rules = r
}

// Push stores entities under the push source named source, processing
// each as a location's entity and reporting, per entity, whether it was
// created, updated, unchanged or refused (and why). A refused entity never
// fails the others. The error is for a request that cannot be processed at
// all: a bad source name or mode or too many entities (CodeInvalid), or a
// store failure.
func (s *Service) Push(ctx context.Context, source string, req PushRequest) (PushResult, error) {
	if len(source) > maxPushSourceName || !pushSourceName.MatchString(source) {
		return PushResult{}, greenroom.Errorf(greenroom.CodeInvalid, "push source %q must be lowercase letters and digits, words joined by -, _ or ., at most %d characters", source, maxPushSourceName)
	}
	mode := "merge"
	switch req.Mode {
	case PushMerge:
	case PushReplace:
		mode = "replace"
	default:
		return PushResult{}, greenroom.Errorf(greenroom.CodeInvalid, "push mode %q: expected \"replace\" or none (merge)", req.Mode)
	}
	if len(req.Entities) > MaxPushEntities {
		return PushResult{}, greenroom.Errorf(greenroom.CodeInvalid, "at most %d entities per push, got %d; push them in several requests", MaxPushEntities, len(req.Entities))
	}
	s.push.mu.Lock()
	defer s.push.mu.Unlock()

	src := Source{Name: PushSourcePrefix + source}
	loc := LocationSpec{Type: "push", Target: source}
	out := PushResult{Source: src.Name, Mode: mode, Results: make([]PushEntityResult, len(req.Entities))}
	b := &pushBatch{s: s, src: src, loc: loc, out: &out, index: map[string]int{}}
	for i, raw := range req.Entities {
		b.add(ctx, i, raw)
	}
	if req.Mode == PushMerge {
		if err := b.carryOver(ctx); err != nil {
			return PushResult{}, err
		}
	}
	if err := b.statuses(ctx); err != nil {
		return PushResult{}, err
	}
	res, err := b.apply(ctx)
	if err != nil {
		return PushResult{}, err
	}
	out.Orphaned = res.Orphaned
	created, updated, failed := 0, 0, 0
	for _, r := range out.Results {
		switch r.Status {
		case PushCreated:
			created++
		case PushUpdated:
			updated++
		case PushFailed:
			failed++
		}
	}
	s.logger.Info("entities pushed", "source", src.Name, "subject", req.Subject, "mode", mode, "entities", len(req.Entities),
		"created", created, "updated", updated, "refused", failed, "orphaned", res.Orphaned)
	return out, nil
}

// pushBatch builds the records and relations of one push.
type pushBatch struct {
	s     *Service
	src   Source
	loc   LocationSpec
	out   *PushResult
	recs  []Record
	rels  []StoredRelation
	index map[string]int // ref -> result index of the pushed entity (-1: carried over)
	probs []string
}

// add processes the i-th pushed entity.
func (b *pushBatch) add(ctx context.Context, i int, raw json.RawMessage) {
	res := &b.out.Results[i]
	*res = PushEntityResult{Index: i, Status: PushFailed}
	data, err := decodeObject(raw)
	if err != nil {
		b.fail(res, "InputError", err.Error())
		return
	}
	if meta, ok := data["metadata"].(map[string]any); ok {
		// The catalog says where an entity comes from, whatever the
		// input claims, as Backstage's location annotations processor does.
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			meta["annotations"] = ann
		}
		ann[entity.AnnotationManagedByLocation] = b.loc.String()
		ann[entity.AnnotationManagedByOriginLocation] = b.loc.String()
	}
	re := rawEntity{File: "entities[" + strconv.Itoa(i) + "]", Data: data}
	p, errs := b.s.proc.process(b.src, re)
	e := entity.New(data)
	if e.Kind() != "" && e.Name() != "" {
		res.Ref = e.Ref().String()
	}
	var entErrs []EntityError
	if len(errs) == 0 {
		if err := b.s.push.rules.Check(e, b.loc, b.loc); err != nil {
			msg := err.Error() + "; add {allow: [" + e.Kind() + "], locations: [{type: push, exact: " + b.loc.Target + "}]} to catalog.rules to accept it"
			errs = []error{&ProcessingError{Source: b.src.Name, File: re.File, Ref: res.Ref, Rule: msg}}
			entErrs = []EntityError{{Name: "NotAllowedError", Message: msg}}
		}
	} else {
		entErrs = entityErrors(errs)
	}
	if len(errs) > 0 {
		b.fail(res, entErrs[0].Name, problemsMessage(errs))
		if kept, ok := b.s.lastGood(ctx, b.src, errs); ok && !b.have(strings.ToLower(kept.rec.Ref)) {
			res.Kept = true
			kept.rec.Errors = capErrors(entErrs)
			b.keep(kept, -1)
		}
		return
	}
	if b.have(strings.ToLower(p.rec.Ref)) {
		b.fail(res, "InputError", "entity "+p.rec.Ref+" is pushed twice in this request; the first one is kept")
		return
	}
	res.Status = ""
	b.keep(p, i)
}

func (b *pushBatch) have(ref string) bool {
	_, ok := b.index[ref]
	return ok
}

// keep adds a record to store; i is the result it belongs to, -1 for an
// entity the request did not (validly) push.
func (b *pushBatch) keep(p processed, i int) {
	ref := strings.ToLower(p.rec.Ref)
	b.index[ref] = i
	b.recs = append(b.recs, p.rec)
	b.rels = append(b.rels, storedRelations(ref, p.relations)...)
}

func (b *pushBatch) fail(res *PushEntityResult, name, msg string) {
	res.Status = PushFailed
	res.Error = &EntityError{Name: name, Message: truncate(msg, maxEntityErrorMessage)}
	where := "entities[" + strconv.Itoa(res.Index) + "]"
	if res.Ref != "" {
		where += ": " + res.Ref
	}
	b.probs = append(b.probs, where+": "+msg)
}

// carryOver adds the source's entities the request does not name, so that
// a merge keeps them.
func (b *pushBatch) carryOver(ctx context.Context) error {
	current, err := b.s.store.SourceEntities(ctx, b.src.Name)
	if err != nil {
		return fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
	}
	for _, rec := range current {
		if b.have(strings.ToLower(rec.Ref)) {
			continue
		}
		p, ok := storedProcessed(rec)
		if !ok {
			return fmt.Errorf("catalog: push %s: stored entity %s cannot be read back", b.src.Name, rec.Ref)
		}
		b.keep(p, -1)
	}
	return nil
}

// statuses sets created, updated or unchanged on the pushed entities that
// will be stored, from what the catalog holds now.
func (b *pushBatch) statuses(ctx context.Context) error {
	var refs []string
	for _, r := range b.recs {
		if ref := strings.ToLower(r.Ref); b.index[ref] >= 0 {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	existing, err := b.s.querier.EntitiesByRefs(ctx, refs, nil)
	if err != nil {
		return fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
	}
	hashes := map[string]string{}
	for _, r := range b.recs {
		hashes[strings.ToLower(r.Ref)] = r.Hash
	}
	for i, ref := range refs {
		res := &b.out.Results[b.index[ref]]
		switch old := existing[i]; {
		case old == nil:
			res.Status = PushCreated
		case old.Source == b.src.Name && old.Hash == hashes[ref]:
			res.Status = PushUnchanged
		default:
			res.Status = PushUpdated
		}
	}
	return nil
}

// apply stores the batch, unless the source is exactly as stored, and
// refuses the entities another source owns.
func (b *pushBatch) apply(ctx context.Context) (ReplaceResult, error) {
	hash, err := sourceHash(b.recs, b.rels)
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
	}
	if prev, err := b.s.store.SourceState(ctx, b.src.Name); err == nil && prev.Hash == hash {
		return ReplaceResult{}, nil
	} else if err != nil && !greenroom.IsNotFound(err) {
		return ReplaceResult{}, fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
	}
	res, err := b.s.store.ApplySource(ctx, b.src.Name, b.recs, b.rels)
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
	}
	b.s.publish(res.Changes)
	stored := len(b.recs)
	if len(res.Conflicts) > 0 {
		owners, err := b.s.querier.EntitiesByRefs(ctx, res.Conflicts, nil)
		if err != nil {
			return res, fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
		}
		for i, ref := range res.Conflicts {
			stored--
			at, ok := b.index[strings.ToLower(ref)]
			if !ok || at < 0 {
				continue
			}
			owner := "another source"
			if owners[i] != nil {
				owner = owners[i].Source
			}
			b.fail(&b.out.Results[at], "ConflictError", "entity "+ref+" is already provided by "+owner+"; the first source keeps it")
		}
		// Not skipped next time, so that the source claims the entity once
		// the other lets it go.
		hash = ""
	}
	if err := b.s.store.SaveSourceState(ctx, SourceState{Name: b.src.Name, Hash: hash, EntityCount: stored, Problems: b.probs}); err != nil {
		return res, fmt.Errorf("catalog: push %s: %w", b.src.Name, err)
	}
	return res, nil
}

// decodeObject decodes one pushed entity, keeping numbers exact as
// entity.Parse does.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("entity is not valid JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("entity must be a JSON object")
	}
	return m, nil
}

// problemsMessage joins processing errors without their file prefix.
func problemsMessage(errs []error) string {
	msgs := make([]string, len(errs))
	for i, err := range errs {
		if pe, ok := err.(*ProcessingError); ok {
			msgs[i] = pe.Rule
			if pe.Path != "" {
				msgs[i] = pe.Path + ": " + pe.Rule
			}
			continue
		}
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}
