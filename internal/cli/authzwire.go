package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/api"
	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
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
	// An approved request is replayed through the authorization again
	// (the middleware mw, built below), so that it runs only while the
	// requester still has the right.
	var mw *api.Authorize
	replay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.Wrap(env.mux).ServeHTTP(w, r) })
	perm, err := newLivePermission(env.cfg.Permission.Policy, permDeps{store: env.store, dir: env.catalog, entities: env.store, logger: logger,
		register: func(ap *access.Approvals, l *livePermission) {
			ap.Register(api.ReplayExecutor, api.Replay(replay, l.Enrich, tokenValid(env.store)))
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
	env.searchVisibility = searchScope(perm, env.catalog)
	env.seesAllTasks = func(ctx context.Context) bool {
		return perm.Check(ctx, access.ActionAdmin, access.Resource{Type: "scaffolder"}).Allowed
	}
	env.onStart = append(env.onStart, func(ctx context.Context) { followDirectory(ctx, env.catalog, perm, logger) })

	api.NewAccess(env.store, perm, perm, env.logger).Routes(env.mux)
	admin := env.pages.AdminPages(perm, env.store, perm, perm, func(q url.Values) (access.AuditFilter, error) { return api.ParseAuditFilter(q) })
	if env.signIn != nil {
		admin.SetTokens(env.signIn)
	}
	admin.Routes(env.mux)

	mw = &api.Authorize{Mux: env.mux, Authz: perm, Lookup: env.catalog, Approvals: perm, Enrich: perm.Enrich,
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
// cache's own bound, access.MaxStaleness, covers missed events), and the
// entity rows the read scopes cached whenever their entity changes.
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
// for a caller who may not read the catalog, everything for one the read
// policies do not restrict, and otherwise the refs the catalog's read
// filter selects, or, under the default policies alone, a contractor's
// allowed namespaces minus the restricted services (the same set, without
// listing it).
func searchScope(perm *livePermission, cat *catalog.Service) func(ctx context.Context) (search.Visibility, error) {
	return func(ctx context.Context) (search.Visibility, error) {
		st := perm.state() // one policy state for the whole decision
		authz, policy := st.authz, st.policy
		p := access.FromContext(ctx)
		if p == nil {
			return search.Everything, nil
		}
		if d := authz.Check(ctx, access.ActionRead, access.Resource{Type: "catalog"}); !d.Allowed {
			return search.Visibility{}, nil
		}
		if !policy.Enabled {
			return search.Everything, nil
		}
		f, all, none, err := authz.Engine().ReadFilter(p)
		switch {
		case err != nil:
			return search.Visibility{}, err
		case all:
			return search.Everything, nil
		case none:
			return search.Visibility{}, nil
		}
		if !authz.Engine().CustomReadPolicies() && p.Contractor {
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
		return refsVisibility(ctx, cat, f)
	}
}

// refsVisibility is the search visibility of read filter f as refs: the
// hidden ones excluded when they are fewer (a forbid on a few entities),
// else the visible ones listed. Both are counted, and listed, in the
// store's query.
func refsVisibility(ctx context.Context, cat *catalog.Service, f query.Filter) (search.Visibility, error) {
	unscoped := access.NewContext(ctx, nil) // background reads: the hidden set is not the caller's to list
	hiddenF := query.Not(f)
	count := func(ctx context.Context, f *query.Filter) (int, error) {
		page, err := cat.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Filter: f, Limit: 0, TotalItems: true}, nil)
		return page.TotalItems, err
	}
	hidden, err := count(unscoped, &hiddenF)
	if err != nil {
		return search.Visibility{}, fmt.Errorf("cli: search visibility: %w", err)
	}
	visible, err := count(unscoped, &f)
	if err != nil {
		return search.Visibility{}, fmt.Errorf("cli: search visibility: %w", err)
	}
	if hidden < visible {
		refs, err := listRefs(unscoped, cat, &hiddenF)
		return search.Visibility{All: true, ExcludeRefs: refs}, err
	}
	refs, err := listRefs(unscoped, cat, &f)
	return search.Visibility{Refs: refs}, err
}

// listRefs lists the refs of the entities f selects.
func listRefs(ctx context.Context, cat *catalog.Service, f *query.Filter) ([]string, error) {
	page, err := cat.QueryEntities(ctx, query.EntitiesQuery{Style: query.StyleList, Filter: f, Limit: query.NoLimit},
		query.Fields{"kind", "metadata.namespace", "metadata.name"})
	if err != nil {
		return nil, fmt.Errorf("cli: search visibility: %w", err)
	}
	refs := []string{}
	for _, b := range page.Items {
		var e struct {
			Kind     string                           `json:"kind"`
			Metadata struct{ Namespace, Name string } `json:"metadata"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("cli: search visibility: %w", err)
		}
		ns := e.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		refs = append(refs, strings.ToLower(e.Kind+":"+ns+"/"+e.Metadata.Name))
	}
	return refs, nil
}

// tokenValid is the replay's check that the requester's token still holds.
func tokenValid(st *store.Store) api.TokenCheck {
	return func(ctx context.Context, id string) error {
		t, err := st.Token(ctx, id)
		switch {
		case err != nil:
			return err
		case !t.RevokedAt.IsZero():
			return greenroom.Errorf(greenroom.CodeForbidden, "token %s was revoked at %s", id, t.RevokedAt.UTC().Format(time.RFC3339))
		case !t.ExpiresAt.IsZero() && !time.Now().Before(t.ExpiresAt):
			return greenroom.Errorf(greenroom.CodeForbidden, "token %s expired at %s", id, t.ExpiresAt.UTC().Format(time.RFC3339))
		}
		return nil
	}
}
