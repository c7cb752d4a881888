package cli

import (
	"context"
	"time"

	"greenroom/internal/access/authn"
	"greenroom/internal/api"
	"greenroom/internal/config"
	"greenroom/internal/store"
	"greenroom/internal/web"
)

func init() { registerWire("authn", wireAuthn) }

// purgeEvery is how often expired sessions and flows are deleted.
const purgeEvery = 15 * time.Minute

// wireAuthn builds sign-in from auth.* and greenroom.rateLimit, registers
// its routes and pages, and puts its middleware in front of every route.
func wireAuthn(ctx context.Context, env *wireEnv) error {
	svc, err := newAuthn(env.cfg, env)
	if err != nil {
		return err
	}
	// Authorization wires after sign-in and sets its Enricher and audit
	// store through env.signIn (SetEnricher, SetAuditor).
	env.signIn = svc
	svc.Routes(env.mux)
	env.pages.SetIdentify(web.IdentifyFromPrincipal)
	env.pages.AuthPages(svc).Routes(env.mux)
	env.middleware = append(env.middleware, svc.Middleware)
	env.onStart = append(env.onStart, func(ctx context.Context) {
		go purgeSessions(ctx, svc, env)
	})
	return nil
}

func purgeSessions(ctx context.Context, svc *authn.Service, env *wireEnv) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		if n, err := svc.Purge(ctx); err != nil && ctx.Err() == nil {
			env.logger.Warn("purge sessions", "err", err)
		} else if n > 0 {
			env.logger.Info("expired sessions purged", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// authnOptions translates the configuration into the sign-in options.
func authnOptions(cfg *config.Config) authn.Options {
	si := cfg.SignIn
	o := authn.Options{
		BaseURL:     cfg.Backend.BaseURL,
		AppURL:      cfg.App.BaseURL,
		Environment: si.Env(),
		Session: authn.SessionOptions{IdleTimeout: si.Session.IdleTimeout, AbsoluteTimeout: si.Session.AbsoluteTimeout,
			RotationInterval: si.Session.RotationInterval, Secret: si.Session.Secret.Reveal()},
		RateLimit: authn.RateLimitOptions{Disabled: si.RateLimit.Disabled, PerUser: si.RateLimit.PerUser, PerTeam: si.RateLimit.PerTeam,
			Window: si.RateLimit.Window, SignInFailures: si.RateLimit.SignInFailures, SignInWindow: si.RateLimit.SignInWindow},
	}
	if g := si.GitHub; g != nil {
		o.GitHub = &authn.GitHubOptions{ClientID: g.ClientID, ClientSecret: g.ClientSecret.Reveal(), EnterpriseInstanceURL: g.EnterpriseInstanceURL,
			CallbackURL: g.CallbackURL, Resolvers: resolvers(g.Resolvers)}
	}
	if oc := si.OIDC; oc != nil {
		o.OIDC = &authn.OIDCOptions{MetadataURL: oc.MetadataURL, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret.Reveal(), Scope: oc.Scope,
			Prompt: oc.Prompt, CallbackURL: oc.CallbackURL, TokenEndpointAuthMethod: oc.TokenEndpointAuthMethod, Resolvers: resolvers(oc.Resolvers)}
	}
	// Guest is on by default only when no provider is configured.
	switch {
	case si.Guest != nil:
		o.Guest = &authn.GuestOptions{UserEntityRef: si.Guest.UserEntityRef, OwnershipEntityRefs: si.Guest.OwnershipEntityRefs}
	case !si.AnyProvider():
		o.Guest = &authn.GuestOptions{}
	}
	for _, e := range cfg.Backend.Auth.ExternalAccess {
		if e.Type == "static" {
			o.StaticTokens = append(o.StaticTokens, authn.StaticToken{Token: e.Token.Reveal(), Subject: e.Subject})
		}
	}
	return o
}

func resolvers(in []config.SignInResolver) []authn.Resolver {
	out := make([]authn.Resolver, len(in))
	for i, r := range in {
		out[i] = authn.Resolver{Name: r.Resolver, AllowedDomains: r.AllowedDomains,
			AllowWithoutCatalog: r.DangerouslyAllowSignInWithoutUserInCatalog, Annotation: r.Annotation}
	}
	return out
}

func newAuthn(cfg *config.Config, env *wireEnv) (*authn.Service, error) {
	o := authnOptions(cfg)
	o.Store, o.Catalog = env.store, env.catalog
	if env.store.Driver() == store.DriverPostgres {
		// Replicas share PostgreSQL: so do their rate-limit counters.
		o.SharedLimits = env.store
	}
	o.Logger = env.logger.With("component", "authn")
	o.Errors = api.ErrorWriter{Logger: env.logger}.Write
	return authn.New(o)
}
