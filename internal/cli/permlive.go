package cli

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
)

// livePermission is the permission layer as the routes, pages, sign-in and
// the catalog see it: one value whose policy a config reload replaces
// atomically. Every decision reads one consistent state (authorizer,
// role resolver and approval workflow built from the same policy); a
// request in flight finishes with the state it started with.
type livePermission struct {
	cur   atomic.Pointer[permState]
	build func(access.Policy) (*permState, error)
}

type permState struct {
	policy    access.Policy
	authz     *access.Authorizer
	resolver  *access.Resolver
	approvals *access.Approvals
}

// permDeps is what a permission state is built from besides the policy.
type permDeps struct {
	store interface {
		access.Auditor
		access.ApprovalStore
	}
	dir access.Directory
	// entities is where read scopes look up the attributes of single refs.
	entities access.EntityLookup
	logger   *slog.Logger
	// register adds the approval executors to a new workflow.
	register func(*access.Approvals, *livePermission)
}

// newLivePermission builds the layer for p; it fails as start-up must on
// an invalid policy (unknown role, Cedar syntax).
func newLivePermission(p access.Policy, d permDeps) (*livePermission, error) {
	l := &livePermission{}
	l.build = func(p access.Policy) (*permState, error) {
		authz, err := access.NewAuthorizer(p, d.store, d.logger)
		if err != nil {
			return nil, err
		}
		if d.entities != nil {
			authz.SetEntities(d.entities)
		}
		s := &permState{policy: p, authz: authz, resolver: access.NewResolver(p, d.dir)}
		s.approvals = access.NewApprovals(d.store, authz, d.store)
		if d.register != nil {
			d.register(s.approvals, l)
		}
		return s, nil
	}
	s, err := l.build(p)
	if err != nil {
		return nil, err
	}
	l.cur.Store(s)
	return l, nil
}

// Swap validates p by building its state and installs it; on error the
// running state is kept.
func (l *livePermission) Swap(p access.Policy) error {
	s, err := l.build(p)
	if err != nil {
		return err
	}
	l.cur.Store(s)
	return nil
}

func (l *livePermission) state() *permState { return l.cur.Load() }

// The authorizer's methods (api.Authorizer, web.AdminAuthz, catalog read
// scope).

func (l *livePermission) Check(ctx context.Context, action string, res access.Resource) access.Decision {
	return l.state().authz.Check(ctx, action, res)
}

func (l *livePermission) Authorize(ctx context.Context, action string, res access.Resource) (access.Decision, error) {
	return l.state().authz.Authorize(ctx, action, res)
}

func (l *livePermission) AuthorizeApproved(ctx context.Context, action string, res access.Resource, approval string) (access.Decision, error) {
	return l.state().authz.AuthorizeApproved(ctx, action, res, approval)
}

func (l *livePermission) Policy() access.Policy { return l.state().policy }
func (l *livePermission) Enabled() bool         { return l.state().policy.Enabled }

func (l *livePermission) ReadScope(ctx context.Context) (catalog.ReadScope, error) {
	return l.state().authz.ReadScope(ctx)
}

// The resolver's (authn.Enricher, api.RoleLookup, web.AdminRoles).

func (l *livePermission) Enrich(ctx context.Context, p *access.Principal) error {
	return l.state().resolver.Enrich(ctx, p)
}

// follow drops cached role resolutions whenever a User or Group entity
// changes, and the read scopes' cached rows of every changed entity (all
// of both when events were dropped), until sub ends, as
// access.Resolver.Follow and access.Authorizer.Follow do for the state in
// use at the time.
func (l *livePermission) follow(sub *catalog.Subscription) {
	var dropped uint64
	for ev := range sub.C {
		st := l.state()
		if d := sub.Dropped(); d != dropped {
			dropped = d
			st.resolver.Invalidate()
			st.authz.ForgetAll()
			continue
		}
		if strings.HasPrefix(ev.Ref, "user:") || strings.HasPrefix(ev.Ref, "group:") {
			st.resolver.Invalidate()
		}
		st.authz.Forget(ev.Ref)
	}
}

// The approval workflow's (api.ApprovalService, api.ApprovalRequester,
// web.AdminApprovals). Approvals live in the store, so a request made
// under one policy is decided under the one in force when it is decided.

func (l *livePermission) Request(ctx context.Context, action string, res access.Resource, executor string, payload any, why string) (access.Approval, error) {
	return l.state().approvals.Request(ctx, action, res, executor, payload, why)
}

func (l *livePermission) Pending(ctx context.Context, limit int) ([]access.Approval, error) {
	return l.state().approvals.Pending(ctx, limit)
}

func (l *livePermission) Get(ctx context.Context, id string) (access.Approval, error) {
	return l.state().approvals.Get(ctx, id)
}

func (l *livePermission) Decide(ctx context.Context, id string, approve bool, comment string) (access.Approval, error) {
	return l.state().approvals.Decide(ctx, id, approve, comment)
}

func (l *livePermission) CanDecide(ctx context.Context, ap access.Approval) access.Decision {
	return l.state().approvals.CanDecide(ctx, ap)
}
