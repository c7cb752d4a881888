package access

import "context"

// Kind says what a Principal is.
type Kind string

const (
	// KindUser is a person signed in through a provider, or a personal
	// access token acting for one.
	KindUser Kind = "user"
	// KindService is automation: a service token or a static
	// backend.auth.externalAccess token.
	KindService Kind = "service"
	// KindGuest is the guest provider of local mode.
	KindGuest Kind = "guest"
)

// Principal is who a request acts for, as authentication establishes it
// and authorization reads it. Every package that needs to know the caller
// reads it with FromContext; none parses cookies or tokens itself.
type Principal struct {
	Kind Kind
	// UserRef is the full entity ref of the user, e.g. "user:default/jane"
	// (for services, the token's subject, e.g. "service:ci").
	UserRef string
	// OwnershipRefs are the user ref and the refs of every group the user
	// belongs to, transitively (Backstage's ownershipEntityRefs).
	OwnershipRefs []string
	// DisplayName and Email come from the identity provider or the User
	// entity.
	DisplayName string
	Email       string
	// Roles are the roles bound to the principal (permission.bindings and
	// the contractor default role).
	Roles []string
	// Contractor reports whether the principal counts as a contractor
	// (permission.contractors.members).
	Contractor bool
	// Attributes are ABAC attributes (department, project, environment,
	// cost_center…) from user and group annotations.
	Attributes map[string]string
	// Scopes restrict a token; empty means the principal's full rights.
	Scopes []string
	// TokenID is set when a personal access or service token was used.
	TokenID string
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, or nil when the request carries
// none (authentication is not configured, or the route is public).
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
