package cli

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/jobs"
	"greenroom/internal/search"
	"greenroom/internal/store"
)

func init() { registerWire("authz", wireAuthz) }

// wireAuthz builds the permission layer: the Cedar engine and role
// resolution, read scopes in the catalog, the audit log and its retention
// job, approvals, /api/access and the admin pages, and the middleware that
// authorizes every route. It runs after authentication's wiring (file name
// order), so its middleware sits inside authentication's and sees the
// principal it establishes.
func wireAuthz(ctx context.Context, env *wireEnv) error {
	logger := env.logger.With("component", "access")
	// One live value stands for the authorizer, the role resolver and the
	// approval workflow, so that a config reload (reload.go) swaps the
	// policy of all three at once.
	perm, err := newLivePermission(env.cfg.Permission.Policy, permDeps{store: env.store, dir: env.catalog, logger: logger,
		register: func(ap *access.Approvals, l *livePermission) {
			ap.Register(api.ReplayExecutor, api.Replay(env.mux, l.Enrich))
		}})
	if err != nil {
		return err
	}
	env.permission = perm
	if env.signIn != nil {
		// Sign-in asks the resolver for roles, contractor flag and
		// attributes, and records its events in the durable audit log.
		env.signIn.SetEnricher(perm)
		env.signIn.SetAuditor(env.store)
		env.signIn.SetAdminCheck(func(ctx context.Context) access.Decision {
			return perm.Check(ctx, access.ActionAdmin, access.Resource{Type: "admin"})
		})
	}
	env.catalog.SetReadFilter(perm.ReadScope)
	env.searchVisibility = searchScope(perm)
	env.onStart = append(env.onStart, func(ctx context.Context) { followDirectory(ctx, env.catalog, perm, logger) })

	api.NewAccess(env.store, perm, perm, env.logger).Routes(env.mux)
	admin := env.pages.AdminPages(perm, env.store, perm, perm, func(q url.Values) (access.AuditFilter, error) { return api.ParseAuditFilter(q) })
	if env.signIn != nil {
		admin.SetTokens(env.signIn)
	}
	admin.Routes(env.mux)

	mw := &api.Authorize{Mux: env.mux, Authz: perm, Lookup: env.catalog, Approvals: perm, Enrich: perm.Enrich,
		PageError: admin.RenderError, Logger: logger}
	env.middleware = append(env.middleware, func(next http.Handler) http.Handler { return mw.Wrap(next) })
	// Pages disable what the viewer cannot do, asking the same rules.
	env.pages.SetPermissions(mw)

	env.pool.Register(access.AuditRetentionJobKind, func(ctx context.Context, _ store.Job) error {
		n, err := access.Retention(ctx, env.store, perm.Policy(), time.Now())
		if err != nil {
			return err
		}
		if n > 0 {
			logger.Info("audit retention", "deleted", n)
		}
		return scheduleRetention(ctx, env, time.Now().Add(24*time.Hour))
	})
	env.onStart = append(env.onStart, func(ctx context.Context) {
		if err := scheduleRetention(ctx, env, time.Now()); err != nil {
			logger.Warn("audit retention not scheduled", "err", err)
		}
	})
	return nil
}

// scheduleRetention queues the retention job for the day of at, once per
// day across replicas (the dedupe key).
func scheduleRetention(ctx context.Context, env *wireEnv, at time.Time) error {
	_, err := env.pool.Enqueue(ctx, access.AuditRetentionJobKind, nil, jobs.RunAt(at), jobs.DedupeKey(access.AuditRetentionJobKind+":"+at.UTC().Format("2006-01-02")))
	return err
}

// followDirectory drops cached role resolutions whenever a User or Group
// entity changes, so that decisions follow membership within moments (the
// cache's own bound, access.MaxStaleness, covers missed events).
func followDirectory(ctx context.Context, cat *catalog.Service, r *livePermission, logger *slog.Logger) {
	sub, err := cat.Subscribe(ctx)
	if err != nil {
		logger.Warn("role resolution does not follow catalog changes; relying on its 5 s cache bound", "err", err)
		return
	}
	go r.follow(sub)
}

// searchScope is the catalog read scope in search's terms, so that results,
// counts, facets and suggestions are filtered in the engine's query: nothing
// for a caller who may not read the catalog, a contractor's allowed
// namespaces minus the restricted services, everything otherwise.
func searchScope(authz interface {
	Check(ctx context.Context, action string, res access.Resource) access.Decision
	Policy() access.Policy
}) func(ctx context.Context) (search.Visibility, error) {
	return func(ctx context.Context) (search.Visibility, error) {
		policy := authz.Policy()
		p := access.FromContext(ctx)
		if p == nil {
			return search.Everything, nil
		}
		if d := authz.Check(ctx, access.ActionRead, access.Resource{Type: "catalog"}); !d.Allowed {
			return search.Visibility{}, nil
		}
		if !p.Contractor || !policy.Enabled {
			return search.Everything, nil
		}
		c := policy.Contractors
		v := search.Visibility{}
		for _, ns := range c.Permissions.AllowedNamespaces {
			v.Namespaces = append(v.Namespaces, strings.ToLower(ns))
		}
		for _, ref := range c.Boundaries.RestrictedServices {
			v.ExcludeRefs = append(v.ExcludeRefs, strings.ToLower(ref))
		}
		return v, nil
	}
}
