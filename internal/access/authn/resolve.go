package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Catalog is what sign-in reads from the catalog: User entities to resolve
// identities against, and their groups for ownership refs.
type Catalog interface {
	// EntityByName returns code not_found for a missing entity.
	EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
	QueryEntities(ctx context.Context, q query.EntitiesQuery, fields query.Fields) (query.EntitiesPage[json.RawMessage], error)
}

// Profile is what a provider tells about the person signing in.
type Profile struct {
	Provider    string
	Subject     string // the provider's stable id of the user
	Username    string // GitHub login, OIDC preferred_username
	Email       string
	DisplayName string
}

// The resolver names of Backstage's signIn.resolvers.
const (
	ResolverEmailProfile      = "emailMatchingUserEntityProfileEmail"
	ResolverEmailLocalPart    = "emailLocalPartMatchingUserEntityName"
	ResolverUsername          = "usernameMatchingUserEntityName"
	ResolverEmailAnnotation   = "emailMatchingUserEntityAnnotation"
	defaultEmailAnnotationFmt = "%s.com/email"
)

// Resolver is one configured sign-in resolver.
type Resolver struct {
	Name           string
	AllowedDomains []string
	// AllowWithoutCatalog signs in as user:default/<name> when no User
	// entity matches (Backstage's dangerouslyAllowSignInWithoutUserInCatalog).
	AllowWithoutCatalog bool
	// Annotation for emailMatchingUserEntityAnnotation; default
	// "<provider>.com/email" (github.com/email, oidc.com/email).
	Annotation string
}

// Bounds on the walk up the group tree.
const (
	maxGroupDepth     = 10
	maxOwnershipRefs  = 100
	maxResolveMatches = 2
)

// errNoUser is the sign-in failure when no resolver finds a user; its
// message is shown to the person signing in.
func errNoUser(p Profile) error {
	return greenroom.Errorf(greenroom.CodeForbidden,
		"Sign-in failed: no user in the catalog matches your %s account. Ask an administrator to add a User entity for you.", p.Provider)
}

// resolveUser runs the resolvers in order, as Backstage does: the first that
// finds exactly one User entity wins. It returns the user ref.
func resolveUser(ctx context.Context, cat Catalog, p Profile, resolvers []Resolver) (string, error) {
	if len(resolvers) == 0 {
		resolvers = defaultResolvers(p.Provider)
	}
	var fallback string
	for _, r := range resolvers {
		name, filter, ok := r.lookup(p)
		if !ok {
			continue
		}
		if filter == nil && name != "" {
			ref := greenroom.EntityRef{Kind: "user", Namespace: "default", Name: name}
			_, err := cat.EntityByName(ctx, ref)
			if err == nil {
				return ref.String(), nil
			}
			if !greenroom.IsNotFound(err) {
				return "", fmt.Errorf("authn: resolve user: %w", err)
			}
		} else if filter != nil {
			refs, err := findUsers(ctx, cat, *filter)
			if err != nil {
				return "", err
			}
			if len(refs) == 1 {
				return refs[0], nil
			}
			if len(refs) > 1 {
				return "", greenroom.Errorf(greenroom.CodeForbidden, "Sign-in failed: more than one user in the catalog matches your %s account.", p.Provider)
			}
		}
		if r.AllowWithoutCatalog && fallback == "" {
			if n := fallbackName(r, p); n != "" {
				fallback = greenroom.EntityRef{Kind: "user", Namespace: "default", Name: n}.String()
			}
		}
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", errNoUser(p)
}

func defaultResolvers(provider string) []Resolver {
	if provider == "github" {
		return []Resolver{{Name: ResolverUsername}}
	}
	return []Resolver{{Name: ResolverEmailProfile}}
}

// lookup says how r finds the user of p: by entity name, or by a filter.
// ok is false when the profile lacks what r needs or the email domain is
// not allowed.
func (r Resolver) lookup(p Profile) (name string, filter *query.Filter, ok bool) {
	email := strings.TrimSpace(p.Email)
	local, domain, hasAt := strings.Cut(email, "@")
	emailOK := email != "" && hasAt && local != "" && domain != "" &&
		(len(r.AllowedDomains) == 0 || slices.ContainsFunc(r.AllowedDomains, func(d string) bool { return strings.EqualFold(d, domain) }))
	switch r.Name {
	case ResolverUsername:
		if p.Username == "" || !validName(p.Username) {
			return "", nil, false
		}
		return p.Username, nil, true
	case ResolverEmailLocalPart:
		if !emailOK || !validName(local) {
			return "", nil, false
		}
		return local, nil, true
	case ResolverEmailProfile:
		if !emailOK {
			return "", nil, false
		}
		f := query.All(query.In("kind", "user"), query.In("spec.profile.email", email))
		return "", &f, true
	case ResolverEmailAnnotation:
		if !emailOK {
			return "", nil, false
		}
		ann := r.Annotation
		if ann == "" {
			ann = fmt.Sprintf(defaultEmailAnnotationFmt, p.Provider)
		}
		f := query.All(query.In("kind", "user"), query.In("metadata.annotations."+ann, email))
		return "", &f, true
	}
	return "", nil, false
}

func fallbackName(r Resolver, p Profile) string {
	switch r.Name {
	case ResolverUsername:
		if validName(p.Username) {
			return p.Username
		}
	default:
		local, _, _ := strings.Cut(p.Email, "@")
		if validName(local) {
			return local
		}
	}
	return ""
}

// validName reports whether s can be an entity name (Backstage's rules:
// up to 63 characters of [a-zA-Z0-9-_.], starting and ending alphanumeric).
func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && ((i == 0 || i == len(s)-1) || (c != '-' && c != '_' && c != '.')) {
			return false
		}
	}
	return true
}

func findUsers(ctx context.Context, cat Catalog, f query.Filter) ([]string, error) {
	page, err := cat.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Filter: &f, Limit: maxResolveMatches},
		query.Fields{"kind", "metadata.namespace", "metadata.name"})
	if err != nil {
		return nil, fmt.Errorf("authn: resolve user: %w", err)
	}
	var out []string
	for _, raw := range page.Items {
		ref, err := refOf(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

type entityJSON struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Profile struct {
			DisplayName string `json:"displayName"`
			Email       string `json:"email"`
		} `json:"profile"`
	} `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

func refOf(raw json.RawMessage) (string, error) {
	var e entityJSON
	if err := json.Unmarshal(raw, &e); err != nil {
		return "", fmt.Errorf("authn: read entity: %w", err)
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return greenroom.EntityRef{Kind: e.Kind, Namespace: ns, Name: e.Metadata.Name}.String(), nil
}

// Identity is a resolved user: the Principal's identity part plus the
// user's direct groups (its teams, for rate limits).
type Identity struct {
	UserRef       string
	DisplayName   string
	Email         string
	Teams         []string // groups the user is directly a member of
	OwnershipRefs []string // the user, its groups and their parents
}

// identityOf reads the user entity of userRef and walks its groups up
// their parent chain (childOf), breadth first, to maxGroupDepth levels and
// at most maxOwnershipRefs refs. A user missing from the catalog owns
// only what names it.
func identityOf(ctx context.Context, cat Catalog, userRef string) (Identity, error) {
	id := Identity{UserRef: userRef, OwnershipRefs: []string{userRef}}
	ref, err := entity.ParseRefInContext(userRef, "user", "default")
	if err != nil {
		return id, nil
	}
	u, err := entityOf(ctx, cat, ref)
	if greenroom.IsNotFound(err) {
		return id, nil
	}
	if err != nil {
		return Identity{}, err
	}
	id.DisplayName, id.Email = u.Spec.Profile.DisplayName, u.Spec.Profile.Email
	level := targets(u, entity.RelationMemberOf)
	id.Teams = append([]string(nil), level...)
	for depth := 0; depth < maxGroupDepth && len(level) > 0; depth++ {
		var next []string
		for _, g := range level {
			if slices.Contains(id.OwnershipRefs, g) {
				continue // a cycle, or reached twice
			}
			if len(id.OwnershipRefs) >= maxOwnershipRefs {
				return id, nil
			}
			id.OwnershipRefs = append(id.OwnershipRefs, g)
			gr, err := entity.ParseRefInContext(g, "group", "default")
			if err != nil {
				continue
			}
			ge, err := entityOf(ctx, cat, gr)
			if greenroom.IsNotFound(err) {
				continue
			}
			if err != nil {
				return Identity{}, err
			}
			next = append(next, targets(ge, entity.RelationChildOf)...)
		}
		level = next
	}
	return id, nil
}

func entityOf(ctx context.Context, cat Catalog, ref greenroom.EntityRef) (entityJSON, error) {
	raw, err := cat.EntityByName(ctx, ref)
	if err != nil {
		return entityJSON{}, fmt.Errorf("authn: read %s: %w", ref, err)
	}
	var e entityJSON
	if err := json.Unmarshal(raw, &e); err != nil {
		return entityJSON{}, fmt.Errorf("authn: read %s: %w", ref, err)
	}
	return e, nil
}

func targets(e entityJSON, relation string) []string {
	var out []string
	for _, r := range e.Relations {
		if r.Type == relation && r.TargetRef != "" && !slices.Contains(out, strings.ToLower(r.TargetRef)) {
			out = append(out, strings.ToLower(r.TargetRef))
		}
	}
	return out
}
