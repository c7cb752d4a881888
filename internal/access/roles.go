package access

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// Directory is what role resolution needs of the catalog: User and Group
// entities by ref, in Backstage's JSON form, code not_found when missing.
// Calls are made without a principal in the context, so they are not
// filtered by the caller's own visibility.
type Directory interface {
	EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
}

// Bounds of a membership walk.
const (
	maxGroupDepth = 32
	maxGroups     = 1000
)

// MaxStaleness bounds how old a cached resolution may be: decisions
// reflect role and membership changes within it even when a change event
// is missed.
const MaxStaleness = 5 * time.Second

// Resolver is the Enricher of authentication: it fills a Principal's
// Roles, Contractor and Attributes, and its OwnershipRefs from the catalog
// as it is now (groups transitively). Results are cached per user for at
// most MaxStaleness and dropped at once by Invalidate (called on catalog
// changes to User and Group entities).
type Resolver struct {
	policy Policy
	dir    Directory
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]resolved
}

type resolved struct {
	at         time.Time
	found      bool // the user entity exists
	ownership  []string
	attributes map[string]string
}

// Authentication calls Enrich through this method set.
var _ interface {
	Enrich(ctx context.Context, p *Principal) error
} = (*Resolver)(nil)

// NewResolver returns a resolver of p's bindings over dir.
func NewResolver(p Policy, dir Directory) *Resolver {
	return &Resolver{policy: p, dir: dir, now: time.Now, cache: map[string]resolved{}}
}

// Invalidate forgets every cached resolution.
func (r *Resolver) Invalidate() {
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
}

// Follow drops cached resolutions whenever a User or Group entity changes
// (or events were dropped), until sub ends. Run it in its own goroutine.
func (r *Resolver) Follow(sub *catalog.Subscription) {
	var dropped uint64
	for ev := range sub.C {
		if d := sub.Dropped(); d != dropped || strings.HasPrefix(ev.Ref, "user:") || strings.HasPrefix(ev.Ref, "group:") {
			dropped = d
			r.Invalidate()
		}
	}
}

// Enrich fills p. A user missing from the catalog keeps the ownership refs
// authentication found; its roles come from bindings naming those refs.
func (r *Resolver) Enrich(ctx context.Context, p *Principal) error {
	if p == nil {
		return nil
	}
	if p.Kind != KindService && p.UserRef != "" {
		res, err := r.resolve(ctx, strings.ToLower(p.UserRef))
		if err != nil {
			return err
		}
		if res.found {
			p.OwnershipRefs = slices.Clone(res.ownership)
		}
		if p.Attributes == nil {
			p.Attributes = map[string]string{}
		}
		for k, v := range res.attributes {
			if _, ok := p.Attributes[k]; !ok {
				p.Attributes[k] = v
			}
		}
	}
	refs := append([]string{strings.ToLower(p.UserRef)}, lowerAll(p.OwnershipRefs)...)
	member := func(members []string) bool {
		return slices.ContainsFunc(members, func(m string) bool { return slices.Contains(refs, strings.ToLower(m)) })
	}
	var roles []string
	for _, b := range r.policy.Bindings {
		if member(b.Members) && !slices.Contains(roles, b.Role) {
			roles = append(roles, b.Role)
		}
	}
	p.Contractor = member(r.policy.Contractors.Members)
	switch {
	case p.Contractor:
		if dr := r.policy.Contractors.DefaultRole; dr != "" && !slices.Contains(roles, dr) {
			roles = append(roles, dr)
		}
	case len(roles) == 0 && p.Kind != KindService && r.policy.DefaultRole != "":
		roles = append(roles, r.policy.DefaultRole)
	}
	slices.Sort(roles)
	p.Roles = roles
	return nil
}

func (r *Resolver) resolve(ctx context.Context, userRef string) (resolved, error) {
	r.mu.Lock()
	c, ok := r.cache[userRef]
	r.mu.Unlock()
	if ok && r.now().Sub(c.at) < MaxStaleness {
		return c, nil
	}
	ctx = NewContext(ctx, nil) // the directory answers for the system, unfiltered
	res := resolved{at: r.now(), attributes: map[string]string{}}
	user, err := r.entity(ctx, userRef)
	if greenroom.IsNotFound(err) {
		// Cached like a found user (the zero-config guest is in no
		// catalog, and would cost a read per request): ingesting the user
		// publishes an event, which Follow turns into Invalidate.
		r.mu.Lock()
		r.cache[userRef] = res
		r.mu.Unlock()
		return res, nil
	}
	if err != nil {
		return resolved{}, err
	}
	res.found = true
	res.ownership = []string{userRef}
	user.attributes(res.attributes)
	queue := user.groups("memberOf")
	seen := map[string]bool{}
	for depth := 0; len(queue) > 0 && depth <= maxGroupDepth; depth++ {
		var next []string
		for _, g := range queue {
			if seen[g] || len(seen) >= maxGroups {
				continue
			}
			seen[g] = true
			res.ownership = append(res.ownership, g)
			grp, err := r.entity(ctx, g)
			if greenroom.IsNotFound(err) {
				continue // a dangling membership still names the group
			}
			if err != nil {
				return resolved{}, err
			}
			grp.attributes(res.attributes)
			next = append(next, grp.groups("childOf")...)
		}
		queue = next
	}
	r.mu.Lock()
	r.cache[userRef] = res
	r.mu.Unlock()
	return res, nil
}

// dirEntity is the part of a User or Group entity resolution reads.
type dirEntity struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

func (r *Resolver) entity(ctx context.Context, ref string) (dirEntity, error) {
	er, err := greenroom.ParseEntityRef(ref, "", "")
	if err != nil {
		return dirEntity{}, fmt.Errorf("access: membership ref %q: %w", ref, err)
	}
	raw, err := r.dir.EntityByName(ctx, er)
	if err != nil {
		return dirEntity{}, fmt.Errorf("access: resolve %s: %w", ref, err)
	}
	var e dirEntity
	if err := json.Unmarshal(raw, &e); err != nil {
		return dirEntity{}, fmt.Errorf("access: resolve %s: %w", ref, err)
	}
	return e, nil
}

// groups returns the lowercased group refs of relations of type typ.
func (e dirEntity) groups(typ string) []string {
	var out []string
	for _, rel := range e.Relations {
		if rel.Type == typ && strings.HasPrefix(strings.ToLower(rel.TargetRef), "group:") {
			out = append(out, strings.ToLower(rel.TargetRef))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// attributes adds the entity's greenroom.io/<attribute> annotations to
// dst where dst has none yet (the user's own win, then nearer groups).
func (e dirEntity) attributes(dst map[string]string) {
	for _, k := range AttributeKeys {
		v := e.Metadata.Annotations[AttributeAnnotation(k)]
		if _, ok := dst[k]; !ok && v != "" {
			dst[k] = v
		}
	}
}

// AttributeAnnotation is the annotation an attribute is read from:
// greenroom.io/department, greenroom.io/project, greenroom.io/environment,
// greenroom.io/cost-center.
func AttributeAnnotation(key string) string {
	return "greenroom.io/" + strings.ReplaceAll(key, "_", "-")
}
