package catalog

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// URLReader reads one http(s) URL; 404 → error with code not_found.
// Other codes a reader may give: invalid (a URL it will never read, such as
// a host with no integration) and too_large; anything else is taken as
// transient.
type URLReader interface {
	ReadURL(ctx context.Context, rawURL string) ([]byte, error)
}

// The location types that can be registered.
const (
	LocationTypeURL  = "url"
	LocationTypeFile = "file"
)

// Bounds of the Locations API.
const (
	maxLocationTarget      = 2048
	maxRegisteredLocations = 10000
	defaultLocationsLimit  = 1000 // Backstage's default page of POST /locations/by-query
	maxProblemsInMessage   = 20
)

// Location is a place entities are read from, in the shape of Backstage's
// Location: registered ones (POST /locations) and, in Greenroom, those of
// the configuration too.
type Location struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target"`
	// EntityRef is the ref of the Location entity generated for the
	// location, "location:default/generated-<sha1 of type:target>". Only
	// registered locations have that entity in the catalog; it is renamed
	// when the location is updated.
	EntityRef string `json:"entityRef,omitempty"`
	// CreatedAt is when the location was registered; zero for configured
	// ones.
	CreatedAt time.Time `json:"-"`

	// source is set on configured locations: the source they stand for.
	source *Source
}

// LocationStore keeps registered locations.
type LocationStore interface {
	// CreateLocation stores loc, giving it an ID when it has none, and
	// returns it as stored; code conflict when its type and target are
	// registered already.
	CreateLocation(ctx context.Context, loc Location) (Location, error)
	// Locations returns every registered location, oldest first.
	Locations(ctx context.Context) ([]Location, error)
	// Location returns one location; code not_found for an unknown id.
	Location(ctx context.Context, id string) (Location, error)
	// UpdateLocation changes the type, target and entity ref of the
	// location with loc's id; code not_found for an unknown id, conflict
	// when another location has that type and target.
	UpdateLocation(ctx context.Context, loc Location) (Location, error)
	// DeleteLocation removes a location; code not_found for an unknown id.
	DeleteLocation(ctx context.Context, id string) error
}

// locationState is what the Service knows of locations beyond its fixed
// sources.
type locationState struct {
	store LocationStore
	urls  URLReader
	types []string // registrable types; nil means Backstage's default, url only

	mu sync.Mutex
	// registered maps a source name to the registered location it reads,
	// so that its read starts with the generated Location entity.
	registered map[string]Location
}

// SetURLReader lets the catalog read url locations and http(s) targets.
// Call it before serving.
func (s *Service) SetURLReader(r URLReader) { s.loc.urls = r }

// SetLocationStore enables registered locations (the Locations API). Call
// it before serving.
func (s *Service) SetLocationStore(ls LocationStore) { s.loc.store = ls }

// SetLocationTypes sets the location types that may be registered; the
// default is Backstage's, url only. "file" lets API callers read any file
// the server can, so it is for trusted installations. Call it before
// serving.
func (s *Service) SetLocationTypes(types ...string) { s.loc.types = append([]string(nil), types...) }

func (s *Service) locationTypes() []string {
	if s.loc.types == nil {
		return []string{LocationTypeURL}
	}
	return s.loc.types
}

// currentSources returns what Refresh reads: the configured sources, then
// the registered locations. A registered location that a configured source
// reads already is left out.
func (s *Service) currentSources(ctx context.Context) ([]Source, error) {
	srcs := append([]Source(nil), s.sources...)
	if s.loc.store == nil {
		return srcs, nil
	}
	locs, err := s.loc.store.Locations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list registered locations: %w", err)
	}
	names := make(map[string]bool, len(srcs)+len(locs))
	for _, src := range srcs {
		names[src.Name] = true
	}
	registered := make(map[string]Location, len(locs))
	for _, loc := range locs {
		src, err := registeredSource(loc)
		if err != nil {
			s.logger.Warn("registered location skipped", "location_id", loc.ID, "err", err)
			continue
		}
		if names[src.Name] {
			s.logger.Warn("registered location is configured too; reading it once", "location_id", loc.ID, "source", src.Name)
			continue
		}
		names[src.Name] = true
		registered[src.Name] = loc
		srcs = append(srcs, src)
	}
	s.loc.mu.Lock()
	s.loc.registered = registered
	s.loc.mu.Unlock()
	return srcs, nil
}

// registeredAs returns the registered location a source reads, if any.
func (s *Service) registeredAs(sourceName string) (Location, bool) {
	s.loc.mu.Lock()
	defer s.loc.mu.Unlock()
	loc, ok := s.loc.registered[sourceName]
	return loc, ok
}

func (s *Service) markRegistered(sourceName string, loc Location) {
	s.loc.mu.Lock()
	defer s.loc.mu.Unlock()
	if s.loc.registered == nil {
		s.loc.registered = map[string]Location{}
	}
	s.loc.registered[sourceName] = loc
}

// URLSource returns a Source reading the catalog file at an http(s) URL
// through the Service's URLReader, for a configured url location. Relative
// targets of its Location entities resolve against the URL.
func URLSource(target string, allowKinds []string) (Source, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "url location target %q is not an absolute http(s) URL", target)
	}
	return Source{Name: LocationTypeURL + ":" + target, Root: target, AllowKinds: allowKinds}, nil
}

// registeredSource returns the Source that reads a registered location.
// Its name is "url:<target>" or, as for configured files, "file:<path>".
func registeredSource(loc Location) (Source, error) {
	switch loc.Type {
	case LocationTypeURL:
		return URLSource(loc.Target, nil)
	case LocationTypeFile:
		return FileSource(loc.Target, nil)
	}
	return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "location type %q cannot be read", loc.Type)
}

// configLocation presents a configured source as a Location. Its id is a
// UUID derived from type and target, so it is the same on every replica
// and across restarts.
func configLocation(src Source) Location {
	typ, target, ok := strings.Cut(src.Name, ":")
	if !ok {
		typ, target = src.Name, src.Root // e.g. the bundled demo
	}
	return Location{
		ID:        uuid.NewSHA1(uuid.NameSpaceURL, []byte("greenroom:config-location:"+typ+":"+target)).String(),
		Type:      typ,
		Target:    target,
		EntityRef: generatedEntityRef(typ, target),
		source:    &src,
	}
}

func (s *Service) configLocations() []Location {
	out := make([]Location, len(s.sources))
	for i, src := range s.sources {
		out[i] = configLocation(src)
	}
	return out
}

// generatedEntityName is the name of the Location entity Backstage
// generates for a location: "generated-" and the SHA-1 of "type:target".
func generatedEntityName(typ, target string) string {
	sum := sha1.Sum([]byte(typ + ":" + target))
	return "generated-" + hex.EncodeToString(sum[:])
}

func generatedEntityRef(typ, target string) string {
	return greenroom.EntityRef{Kind: "location", Namespace: greenroom.DefaultNamespace, Name: generatedEntityName(typ, target)}.String()
}

// generatedEntity is the Location entity a registered location's source
// starts with, as Backstage's location store emits one per location; the
// entities read from the target are its children. It is "read" from the
// root, so processing gives it the location's own annotations.
func generatedEntity(src Source, loc Location) rawEntity {
	name := generatedEntityName(loc.Type, loc.Target)
	if ref, err := greenroom.ParseEntityRef(loc.EntityRef, "location", greenroom.DefaultNamespace); err == nil && loc.EntityRef != "" {
		name = ref.Name // as stored: the entity ref the API shows
	}
	return rawEntity{File: src.Root, Data: map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Location",
		"metadata":   map[string]any{"name": name, "namespace": greenroom.DefaultNamespace},
		"spec":       map[string]any{"type": loc.Type, "target": loc.Target},
	}}
}

// LocationInput is the body of POST /locations and PUT /locations/:id.
type LocationInput struct {
	Type   string `json:"type"`
	Target string `json:"target"`
	// Presence is accepted as Backstage does and not kept.
	Presence string `json:"presence,omitempty"`
}

// checkLocationInput returns the input, valid for registration, or a
// CodeInvalid error saying what is wrong.
func (s *Service) checkLocationInput(in LocationInput) (LocationInput, error) {
	if in.Type == "" || in.Target == "" {
		return in, greenroom.Errorf(greenroom.CodeInvalid, "Malformed request: a location needs a type and a target")
	}
	if len(in.Target) > maxLocationTarget {
		return in, greenroom.Errorf(greenroom.CodeInvalid, "location target is longer than %d bytes", maxLocationTarget)
	}
	if in.Presence != "" && in.Presence != "required" && in.Presence != "optional" {
		return in, greenroom.Errorf(greenroom.CodeInvalid, "Malformed request: presence must be 'required' or 'optional', got %q", in.Presence)
	}
	if types := s.locationTypes(); !slices.Contains(types, in.Type) {
		allowed, _ := json.Marshal(types)
		return in, greenroom.Errorf(greenroom.CodeInvalid, "Registered locations must be of an allowed type %s", allowed)
	}
	switch in.Type {
	case LocationTypeURL:
		u, err := url.Parse(in.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return in, greenroom.Errorf(greenroom.CodeInvalid, "url location target %q is not an absolute http(s) URL", in.Target)
		}
	case LocationTypeFile:
		if !filepath.IsAbs(in.Target) || filepath.Clean(in.Target) != in.Target {
			return in, greenroom.Errorf(greenroom.CodeInvalid, "file location target %q is not a clean absolute path such as /srv/catalog/all.yaml", in.Target)
		}
	default:
		return in, greenroom.Errorf(greenroom.CodeInvalid, "location type %q cannot be read", in.Type)
	}
	return in, nil
}

// CreateLocationOptions are the query parameters of POST /locations.
type CreateLocationOptions struct {
	// DryRun reads and validates the target without storing anything.
	DryRun bool
	// OnConflict is "reject" (the default, "") or "refresh": a location
	// that exists is then refreshed and returned.
	OnConflict string
}

// CreateLocationResult is Backstage's response to POST /locations.
type CreateLocationResult struct {
	Location Location `json:"location"`
	// Entities are those the location would supply, on a dry run only.
	Entities []json.RawMessage `json:"entities"`
	// Exists says, on a dry run only, whether the location exists.
	Exists *bool `json:"exists,omitempty"`
}

// CreateLocation registers a location, or on a dry run reads it and
// returns the entities it would supply. A registered location is refreshed
// before CreateLocation returns, so its entities are in the catalog when
// it does; its problems are then in LocationStatus, as Backstage shows
// them on entities rather than failing the registration. Errors: invalid
// input or, on a dry run, any problem reading or validating the target:
// CodeInvalid; the location exists: CodeConflict.
func (s *Service) CreateLocation(ctx context.Context, in LocationInput, opts CreateLocationOptions) (CreateLocationResult, error) {
	in, err := s.checkLocationInput(in)
	if err != nil {
		return CreateLocationResult{}, err
	}
	if opts.OnConflict != "" && opts.OnConflict != "reject" && opts.OnConflict != "refresh" {
		return CreateLocationResult{}, greenroom.Errorf(greenroom.CodeInvalid, "onConflict must be 'reject' or 'refresh', got %q", opts.OnConflict)
	}
	existing, found, err := s.findLocation(ctx, in.Type, in.Target)
	if err != nil {
		return CreateLocationResult{}, err
	}
	if opts.DryRun {
		return s.dryRunLocation(ctx, in, found)
	}
	if found {
		if opts.OnConflict != "refresh" {
			return CreateLocationResult{}, conflictError(existing)
		}
		s.refreshLocation(ctx, existing)
		return CreateLocationResult{Location: existing, Entities: []json.RawMessage{}}, nil
	}
	if s.loc.store == nil {
		return CreateLocationResult{}, greenroom.Errorf(greenroom.CodeUnavailable, "registering locations is not enabled on this server")
	}
	if all, err := s.loc.store.Locations(ctx); err != nil {
		return CreateLocationResult{}, fmt.Errorf("catalog: %w", err)
	} else if len(all) >= maxRegisteredLocations {
		return CreateLocationResult{}, greenroom.Errorf(greenroom.CodeInvalid, "at most %d locations can be registered; delete some first", maxRegisteredLocations)
	}
	loc, err := s.loc.store.CreateLocation(ctx, Location{Type: in.Type, Target: in.Target, EntityRef: generatedEntityRef(in.Type, in.Target)})
	if err != nil {
		return CreateLocationResult{}, fmt.Errorf("catalog: register location: %w", err)
	}
	s.logger.Info("location registered", "location_id", loc.ID, "type", loc.Type, "target", loc.Target)
	s.refreshLocation(ctx, loc)
	return CreateLocationResult{Location: loc, Entities: []json.RawMessage{}}, nil
}

func conflictError(existing Location) error {
	if existing.source != nil {
		return greenroom.Errorf(greenroom.CodeConflict, "Location %s:%s already exists; it is configured in app-config (catalog.locations) or is the bundled demo", existing.Type, existing.Target)
	}
	return greenroom.Errorf(greenroom.CodeConflict, "Location %s:%s already exists", existing.Type, existing.Target)
}

// findLocation looks a location up by type and target among the
// configured and the registered ones.
func (s *Service) findLocation(ctx context.Context, typ, target string) (Location, bool, error) {
	all, err := s.Locations(ctx)
	if err != nil {
		return Location{}, false, err
	}
	for _, l := range all {
		if l.Type == typ && l.Target == target {
			return l, true, nil
		}
	}
	return Location{}, false, nil
}

// dryRunLocation reads and validates what registering in would supply.
func (s *Service) dryRunLocation(ctx context.Context, in LocationInput, exists bool) (CreateLocationResult, error) {
	loc := Location{ID: in.Type + ":" + in.Target, Type: in.Type, Target: in.Target}
	src, err := registeredSource(loc)
	if err != nil {
		return CreateLocationResult{}, err
	}
	raws, problems := readTree(ctx, src.FS, src.Root, s.loc.urls)
	raws = withGenerated(src, loc, raws, problems)
	ps, problems := s.processAll(src, raws, problems)
	if err := problemsError(problems); err != nil {
		return CreateLocationResult{}, err
	}
	ents := make([]json.RawMessage, len(ps))
	for i, p := range ps {
		ents[i] = p.rec.Body
	}
	return CreateLocationResult{Location: loc, Entities: ents, Exists: &exists}, nil
}

// dryEntity is an entity processed without being stored, with the file
// it was read from.
type dryEntity struct {
	processed
	file string
}

// processAll validates read entities as a refresh would, without storing
// them; an entity defined twice is a problem, as Backstage's dry run says.
func (s *Service) processAll(src Source, raws []rawEntity, problems []error) ([]dryEntity, []error) {
	var out []dryEntity
	seen := map[string]bool{}
	for _, re := range raws {
		p, errs := s.proc.process(src, re)
		if len(errs) > 0 {
			problems = append(problems, errs...)
			continue
		}
		if seen[p.rec.Ref] {
			problems = append(problems, &ProcessingError{Source: src.Name, File: re.File, Line: re.Line, Ref: p.rec.Ref, Rule: "Duplicate nested entity: " + p.rec.Ref})
			continue
		}
		seen[p.rec.Ref] = true
		out = append(out, dryEntity{p, re.File})
	}
	return out, problems
}

// problemsError joins located problems into one CodeInvalid error, or nil.
func problemsError(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, 0, min(len(problems), maxProblemsInMessage)+1)
	for i, p := range problems {
		if i == maxProblemsInMessage {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(problems)-i))
			break
		}
		msgs = append(msgs, p.Error())
	}
	return greenroom.Errorf(greenroom.CodeInvalid, "%s", strings.Join(msgs, "; "))
}

// refreshLocation reads one location now, so that a registration's
// entities are stored when it returns. A failure is logged: the location
// is registered and the next refresh tries again.
func (s *Service) refreshLocation(ctx context.Context, loc Location) {
	var src Source
	if loc.source != nil {
		src = *loc.source
	} else {
		var err error
		if src, err = registeredSource(loc); err != nil {
			s.logger.Warn("location refresh failed", "location_id", loc.ID, "err", err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if loc.source == nil {
		// Under s.mu, so that a Refresh listing the sources cannot drop it
		// before it is read.
		s.markRegistered(src.Name, loc)
	}
	problems, err := s.refreshSource(ctx, src)
	if err != nil {
		s.logger.Warn("location refresh failed", "location_id", loc.ID, "source", src.Name, "err", err)
		return
	}
	for _, p := range problems {
		s.logger.Warn("catalog problem", "source", src.Name, "err", p)
	}
}

// afterLocationChange has the whole catalog refreshed, which is what drops
// the sources of locations that are gone: queued when a job queue is set,
// else at once.
func (s *Service) afterLocationChange(ctx context.Context) {
	var err error
	if s.enqueue != nil {
		err = s.RequestRefresh(ctx, "")
	} else {
		err = s.Refresh(ctx)
	}
	if err != nil {
		s.logger.Warn("refresh after a location change failed", "err", err)
	}
}

// Locations returns every location: the configured ones first, in
// configuration order, then the registered ones, oldest first.
func (s *Service) Locations(ctx context.Context) ([]Location, error) {
	out := s.configLocations()
	if s.loc.store == nil {
		return out, nil
	}
	regs, err := s.loc.store.Locations(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog: list locations: %w", err)
	}
	return append(out, regs...), nil
}

// LocationByID returns one location; code not_found when there is none.
func (s *Service) LocationByID(ctx context.Context, id string) (Location, error) {
	for _, l := range s.configLocations() {
		if l.ID == id {
			return l, nil
		}
	}
	if s.loc.store == nil {
		return Location{}, greenroom.Errorf(greenroom.CodeNotFound, "Found no location with ID %s", id)
	}
	l, err := s.loc.store.Location(ctx, id)
	if err != nil {
		return Location{}, fmt.Errorf("catalog: %w", err)
	}
	return l, nil
}

// RemoveLocation unregisters a location and has the catalog refreshed,
// whose rules for sources that are gone then deal with its entities.
// Errors: not_found; conflict for a configured location, which only the
// configuration can remove.
func (s *Service) RemoveLocation(ctx context.Context, id string) error {
	if err := s.refuseConfigured(id, "deleted"); err != nil {
		return err
	}
	if s.loc.store == nil {
		return greenroom.Errorf(greenroom.CodeNotFound, "Found no location with ID %s", id)
	}
	if err := s.loc.store.DeleteLocation(ctx, id); err != nil {
		return fmt.Errorf("catalog: delete location: %w", err)
	}
	s.logger.Info("location deleted", "location_id", id)
	s.afterLocationChange(ctx)
	return nil
}

// UpdateLocation changes a registered location's type and target (PUT
// /locations/:id), refreshes it at once and has the whole catalog
// refreshed for the old target. Errors as CreateLocation and
// RemoveLocation.
func (s *Service) UpdateLocation(ctx context.Context, id string, in LocationInput) (Location, error) {
	if err := s.refuseConfigured(id, "updated"); err != nil {
		return Location{}, err
	}
	in, err := s.checkLocationInput(in)
	if err != nil {
		return Location{}, err
	}
	if s.loc.store == nil {
		return Location{}, greenroom.Errorf(greenroom.CodeNotFound, "Found no location with ID %s", id)
	}
	if l, found, err := s.findLocation(ctx, in.Type, in.Target); err != nil {
		return Location{}, err
	} else if found && l.ID != id {
		return Location{}, conflictError(l)
	}
	// The generated Location entity is renamed after the new target, where
	// Backstage keeps its name: sources are named by target here, and the
	// old one would hold the name until it is retired.
	loc, err := s.loc.store.UpdateLocation(ctx, Location{ID: id, Type: in.Type, Target: in.Target, EntityRef: generatedEntityRef(in.Type, in.Target)})
	if err != nil {
		return Location{}, fmt.Errorf("catalog: update location: %w", err)
	}
	s.logger.Info("location updated", "location_id", id, "type", loc.Type, "target", loc.Target)
	s.refreshLocation(ctx, loc)
	s.afterLocationChange(ctx)
	return loc, nil
}

func (s *Service) refuseConfigured(id, what string) error {
	for _, l := range s.configLocations() {
		if l.ID == id {
			return greenroom.Errorf(greenroom.CodeConflict, "Location %s:%s is configured in app-config (catalog.locations) or is the bundled demo; it cannot be %s through the API, only in the configuration", l.Type, l.Target, what)
		}
	}
	return nil
}

// LocationByEntity returns the location an entity came from: the one its
// managed-by-origin-location annotation names. Code not_found when the
// entity, its annotation or the location is missing, as in Backstage.
func (s *Service) LocationByEntity(ctx context.Context, ref greenroom.EntityRef) (Location, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return Location{}, err
	}
	rec, err := s.store.EntityByRef(ctx, ref.String())
	if err == nil && !sc.visible(rec.Ref) { // visibility.go
		err = greenroom.Errorf(greenroom.CodeNotFound, "hidden")
	}
	if greenroom.IsNotFound(err) {
		return Location{}, greenroom.Errorf(greenroom.CodeNotFound, "found no entity for ref %s", ref)
	} else if err != nil {
		return Location{}, fmt.Errorf("catalog: %w", err)
	}
	e, err := entity.Parse(rec.Body)
	if err != nil {
		return Location{}, fmt.Errorf("catalog: entity %s: %w", ref, err)
	}
	typ, target, ok := strings.Cut(e.Annotation(entity.AnnotationManagedByOriginLocation), ":")
	if !ok {
		return Location{}, greenroom.Errorf(greenroom.CodeNotFound, "found no origin annotation for ref %s", ref)
	}
	l, found, err := s.findLocation(ctx, typ, target)
	if err != nil {
		return Location{}, err
	}
	if !found {
		return Location{}, greenroom.Errorf(greenroom.CodeNotFound, "Found no location with type %s and target %s", typ, target)
	}
	return l, nil
}

// LocationStatus is Greenroom's view of a location's last refresh.
type LocationStatus struct {
	// LastRefresh is when the location's source was last read and
	// changed or confirmed unchanged; nil when it never was.
	LastRefresh *time.Time `json:"lastRefresh"`
	EntityCount int        `json:"entityCount"`
	Problems    []string   `json:"problems"`
}

// LocationStatus returns a location's last refresh; code not_found for an
// unknown id.
func (s *Service) LocationStatus(ctx context.Context, id string) (LocationStatus, error) {
	l, err := s.LocationByID(ctx, id)
	if err != nil {
		return LocationStatus{}, err
	}
	var name string
	if l.source != nil {
		name = l.source.Name
	} else {
		src, err := registeredSource(l)
		if err != nil {
			return LocationStatus{}, err
		}
		name = src.Name
	}
	st, err := s.store.SourceState(ctx, name)
	if greenroom.IsNotFound(err) {
		return LocationStatus{Problems: []string{}}, nil
	} else if err != nil {
		return LocationStatus{}, fmt.Errorf("catalog: location status: %w", err)
	}
	out := LocationStatus{EntityCount: st.EntityCount, Problems: append([]string{}, st.Problems...)}
	if !st.RefreshedAt.IsZero() {
		t := st.RefreshedAt.UTC()
		out.LastRefresh = &t
	}
	return out, nil
}
