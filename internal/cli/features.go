package cli

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"greenroom/internal/access/authn"
	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/jobs"
	"greenroom/internal/search"
	"greenroom/internal/store"
	"greenroom/internal/techdocs"
	"greenroom/internal/web"
)

// wireEnv is what buildApp hands to each feature's wiring. A feature
// (access, scaffolder, techdocs, search…) wires itself in a file of its own
// that registers a function from init, so serve.go does not grow with
// every feature:
//
//	func init() { registerWire("techdocs", wireTechDocs) }
//
// Wiring functions run in registration order (file name order within the
// package), after the catalog, discovery and portal are built and before
// the server is created.
type wireEnv struct {
	cfg     *config.Config
	store   *store.Store
	pool    *jobs.Pool
	catalog *catalog.Service
	pages   *web.Handler
	mux     *http.ServeMux
	logger  *slog.Logger
	reg     *prometheus.Registry
	dataDir string
	// signIn is set by authnwire.go; later wiring gives it an Enricher
	// and an Auditor (SetEnricher, SetAuditor).
	signIn *authn.Service
	// searchVisibility, set by the authorization wiring, says what each
	// request's principal may find; without it every document is visible,
	// as without authorization.
	searchVisibility func(ctx context.Context) (search.Visibility, error)
	// seesAllTasks, set by the authorization wiring, says whether the
	// caller sees every scaffolder task rather than only their own.
	seesAllTasks func(ctx context.Context) bool
	// techdocs is set by techdocswire.go (for the search source of docs
	// pages, techdocssearch.go).
	techdocs *techdocs.Service
	// permission is set by authzwire.go: the permission layer a config
	// reload updates (reload.go).
	permission *livePermission

	// onStart hooks run once the job pool has started (background loops).
	onStart []func(ctx context.Context)
	// middleware wraps the whole mux, outermost first (authentication,
	// rate limits); see server.Options.Middleware.
	middleware []func(http.Handler) http.Handler
}

type featureWire struct {
	name string
	wire func(ctx context.Context, env *wireEnv) error
}

var featureWires []featureWire

func registerWire(name string, fn func(ctx context.Context, env *wireEnv) error) {
	featureWires = append(featureWires, featureWire{name: name, wire: fn})
}

func (env *wireEnv) wireFeatures(ctx context.Context) error {
	for _, f := range featureWires {
		if err := f.wire(ctx, env); err != nil {
			return err
		}
	}
	return nil
}

// handler applies the features' middleware around h, as the server does
// (for tests that serve a wired mux without the server).
func (env *wireEnv) handler(h http.Handler) http.Handler {
	for i := len(env.middleware) - 1; i >= 0; i-- {
		h = env.middleware[i](h)
	}
	return h
}
