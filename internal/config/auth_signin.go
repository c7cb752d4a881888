package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// SignIn is the auth section: Backstage's sign-in providers for the
// environment auth.environment selects, and Greenroom's session settings
// (auth.session) and rate limits (greenroom.rateLimit). Zero durations and
// limits mean "use the default" (the authn package holds them).
type SignIn struct {
	// Environment is auth.environment as written ("" when unset; Env
	// applies the default "development"): the key under each provider
	// whose settings are used.
	Environment string
	GitHub      *GitHubSignIn // auth.providers.github.<environment>
	OIDC        *OIDCSignIn   // auth.providers.oidc.<environment>
	// Guest is auth.providers.guest when it is configured; nil otherwise.
	Guest   *GuestSignIn
	Session SessionSettings
	// RateLimit is greenroom.rateLimit.
	RateLimit RateLimitSettings
}

// GitHubSignIn is one auth.providers.github.<env> entry.
type GitHubSignIn struct {
	ClientID     string
	ClientSecret Secret
	// EnterpriseInstanceURL is the GitHub Enterprise base URL; "" means
	// github.com.
	EnterpriseInstanceURL string
	// CallbackURL overrides <backend.baseUrl>/api/auth/github/handler/frame.
	CallbackURL string
	Resolvers   []SignInResolver
}

// OIDCSignIn is one auth.providers.oidc.<env> entry (Keycloak, Okta, Auth0,
// Azure AD…).
type OIDCSignIn struct {
	MetadataURL  string // the issuer's .well-known/openid-configuration
	ClientID     string
	ClientSecret Secret
	// Scope is space separated, default "openid profile email".
	Scope string
	// Prompt is sent as the prompt parameter when set (e.g. "login").
	Prompt      string
	CallbackURL string
	// TokenEndpointAuthMethod is client_secret_basic or client_secret_post
	// ("" lets Greenroom try basic, then post).
	TokenEndpointAuthMethod string
	Resolvers               []SignInResolver
}

// GuestSignIn is auth.providers.guest.
type GuestSignIn struct {
	// UserEntityRef defaults to user:development/guest, as in Backstage.
	UserEntityRef       string
	OwnershipEntityRefs []string
	// DangerouslyAllowOutsideDevelopment lets guest sign-in sit beside
	// real providers, or run with auth.environment other than development.
	DangerouslyAllowOutsideDevelopment bool
}

// SignInResolver is one entry of signIn.resolvers.
type SignInResolver struct {
	Resolver string
	// AllowedDomains limits the email resolvers to these email domains.
	AllowedDomains []string
	// DangerouslyAllowSignInWithoutUserInCatalog signs the user in as
	// user:default/<name> when no User entity matches.
	DangerouslyAllowSignInWithoutUserInCatalog bool
	// Annotation is the annotation emailMatchingUserEntityAnnotation
	// compares (a Greenroom option; the default depends on the provider).
	Annotation string
}

// SessionSettings is auth.session.
type SessionSettings struct {
	// Secret is Backstage's auth.session.secret; Greenroom encrypts the
	// provider refresh tokens it keeps with sessions with it.
	Secret           Secret
	IdleTimeout      time.Duration // auth.session.idleTimeout, default 12h
	AbsoluteTimeout  time.Duration // auth.session.absoluteTimeout, default 7d
	RotationInterval time.Duration // auth.session.rotationInterval, default 1h
}

// RateLimitSettings is greenroom.rateLimit.
type RateLimitSettings struct {
	// Disabled is greenroom.rateLimit.enabled: false.
	Disabled bool
	PerUser  int           // requests per window per user, default 1000
	PerTeam  int           // requests per window per team, default 10000
	Window   time.Duration // default 1h
	// SignInFailures is how many failed sign-ins or bad tokens one client
	// address may cause per SignInWindow before it is refused, default 20
	// per 10m.
	SignInFailures int
	SignInWindow   time.Duration
}

// SignInResolvers are the resolver names of Backstage's signIn.resolvers
// that Greenroom implements.
var SignInResolvers = []string{
	"emailMatchingUserEntityProfileEmail", "emailLocalPartMatchingUserEntityName",
	"usernameMatchingUserEntityName", "emailMatchingUserEntityAnnotation",
}

// Env returns auth.environment, "development" when unset.
func (s SignIn) Env() string {
	if s.Environment == "" {
		return "development"
	}
	return s.Environment
}

// AnyProvider reports whether a real (non-guest) sign-in provider is
// configured: then every request needs a session or a token.
func (s SignIn) AnyProvider() bool { return s.GitHub != nil || s.OIDC != nil }

// GuestMode reports whether requests without credentials act as the
// guest: guest configured, or no provider configured at all (local mode).
func (s SignIn) GuestMode() bool { return !s.AnyProvider() }

const (
	maxResolvers      = 10
	maxOwnershipRefs  = 100
	maxRateLimitValue = 1 << 30
)

func init() {
	registerFeature(feature{
		sections: []string{"auth"},
		used: []string{
			"auth.environment", "auth.providers", "auth.session", "auth.session.secret", "auth.session.idleTimeout",
			"auth.session.absoluteTimeout", "auth.session.rotationInterval",
			"greenroom.rateLimit", "greenroom.rateLimit.enabled", "greenroom.rateLimit.perUser",
			"greenroom.rateLimit.perTeam", "greenroom.rateLimit.window", "greenroom.rateLimit.signInFailures",
			"greenroom.rateLimit.signInWindow",
		},
		ignored: []string{
			"auth.autologout", "auth.omitIdentityTokenOwnershipClaim",
			"auth.backstageTokenExpiration", "auth.keyStore", "auth.identityTokenAlgorithm",
			"auth.experimentalExtraAllowedOrigins", "auth.experimentalDynamicClientRegistration",
		},
		decode:   func(d *decoder, root *node, c *Config) { d.signIn(root, &c.SignIn) },
		validate: func(d *decoder, root *node, c *Config) { d.signInProblems(root, c) },
	})
}

// otherAuthProviders are Backstage providers Greenroom does not offer; they
// are reported as ignored rather than unknown.
var otherAuthProviders = []string{"google", "microsoft", "gitlab", "okta", "auth0", "bitbucket", "bitbucketServer",
	"onelogin", "atlassian", "awsalb", "gcpIap", "oauth2Proxy", "saml", "cfaccess", "vmwareCloudServices", "azureEasyAuth"}

func (d *decoder) signIn(root *node, dst *SignIn) {
	a := d.section(root, "auth")
	if a != nil {
		d.str(a.get("environment"), "auth.environment", &dst.Environment)
		if s := d.mapping(a.get("session"), "auth.session"); s != nil {
			var secret string
			d.str(s.get("secret"), "auth.session.secret", &secret)
			dst.Session.Secret = Secret(secret)
			d.duration(s.get("idleTimeout"), "auth.session.idleTimeout", &dst.Session.IdleTimeout)
			d.duration(s.get("absoluteTimeout"), "auth.session.absoluteTimeout", &dst.Session.AbsoluteTimeout)
			d.duration(s.get("rotationInterval"), "auth.session.rotationInterval", &dst.Session.RotationInterval)
		}
		if ps := d.mapping(a.get("providers"), "auth.providers"); ps != nil {
			d.signInProviders(ps, dst)
		}
	}
	if gr := d.section(root, "greenroom"); gr != nil {
		if rl := d.mapping(gr.get("rateLimit"), "greenroom.rateLimit"); rl != nil {
			const p = "greenroom.rateLimit"
			if on, ok := d.boolean(rl.get("enabled"), p+".enabled"); ok {
				dst.RateLimit.Disabled = !on
			}
			d.positive(rl.get("perUser"), p+".perUser", &dst.RateLimit.PerUser)
			d.positive(rl.get("perTeam"), p+".perTeam", &dst.RateLimit.PerTeam)
			d.positive(rl.get("signInFailures"), p+".signInFailures", &dst.RateLimit.SignInFailures)
			d.duration(rl.get("window"), p+".window", &dst.RateLimit.Window)
			d.duration(rl.get("signInWindow"), p+".signInWindow", &dst.RateLimit.SignInWindow)
		}
	}
}

func (d *decoder) positive(n *node, path string, dst *int) {
	var v int64
	if d.integer(n, path, "a positive integer", 1, maxRateLimitValue, &v) {
		*dst = int(v)
	}
}

func (d *decoder) signInProviders(ps *node, dst *SignIn) {
	for _, name := range ps.keys {
		n := ps.vals[name]
		path := "auth.providers." + name
		switch name {
		case "guest":
			dst.Guest = d.guest(n, path)
		case "github", "oidc":
			envs := d.mapping(n, path)
			if envs == nil {
				continue
			}
			for _, env := range envs.keys {
				if env != dst.Env() {
					continue // another environment's settings, as in Backstage
				}
				p := path + "." + env
				m := d.mapping(envs.vals[env], p)
				if m == nil {
					continue
				}
				if name == "github" {
					dst.GitHub = d.githubSignIn(m, p)
				} else {
					dst.OIDC = d.oidcSignIn(m, p)
				}
			}
		default:
			if slices.Contains(otherAuthProviders, name) {
				d.ps.add(SeverityInfo, n.pos, path, "ignored by Greenroom (yet): Greenroom signs in with github, oidc and guest")
				continue
			}
			d.ps.add(SeverityWarning, n.pos, path, fmt.Sprintf("unknown sign-in provider %q; Greenroom offers github, oidc and guest", name))
		}
	}
}

func (d *decoder) githubSignIn(m *node, p string) *GitHubSignIn {
	d.unknownKeys(m, p, []string{"clientId", "clientSecret", "enterpriseInstanceUrl", "callbackUrl", "signIn", "additionalScopes"})
	g := &GitHubSignIn{}
	d.required(m, p, "clientId")
	d.required(m, p, "clientSecret")
	d.str(m.get("clientId"), p+".clientId", &g.ClientID)
	var secret string
	d.str(m.get("clientSecret"), p+".clientSecret", &secret)
	g.ClientSecret = Secret(secret)
	d.httpURL(m.get("enterpriseInstanceUrl"), p+".enterpriseInstanceUrl", &g.EnterpriseInstanceURL)
	d.httpURL(m.get("callbackUrl"), p+".callbackUrl", &g.CallbackURL)
	g.Resolvers = d.resolvers(m.get("signIn"), p+".signIn")
	return g
}

func (d *decoder) oidcSignIn(m *node, p string) *OIDCSignIn {
	d.unknownKeys(m, p, []string{"metadataUrl", "clientId", "clientSecret", "scope", "prompt", "callbackUrl", "signIn",
		"tokenEndpointAuthMethod", "tokenSignedResponseAlg", "additionalScopes", "timeout"})
	o := &OIDCSignIn{}
	d.required(m, p, "metadataUrl")
	d.required(m, p, "clientId")
	d.required(m, p, "clientSecret")
	d.httpURL(m.get("metadataUrl"), p+".metadataUrl", &o.MetadataURL)
	d.str(m.get("clientId"), p+".clientId", &o.ClientID)
	var secret string
	d.str(m.get("clientSecret"), p+".clientSecret", &secret)
	o.ClientSecret = Secret(secret)
	d.str(m.get("scope"), p+".scope", &o.Scope)
	d.str(m.get("prompt"), p+".prompt", &o.Prompt)
	d.httpURL(m.get("callbackUrl"), p+".callbackUrl", &o.CallbackURL)
	d.enum(m.get("tokenEndpointAuthMethod"), p+".tokenEndpointAuthMethod", []string{"client_secret_basic", "client_secret_post"}, &o.TokenEndpointAuthMethod)
	o.Resolvers = d.resolvers(m.get("signIn"), p+".signIn")
	return o
}

func (d *decoder) guest(n *node, p string) *GuestSignIn {
	g := &GuestSignIn{}
	if !set(n) {
		return g // "guest: {}" and "guest:" both enable it
	}
	m := d.mapping(n, p)
	if m == nil {
		return nil
	}
	d.unknownKeys(m, p, []string{"userEntityRef", "ownershipEntityRefs", "dangerouslyAllowOutsideDevelopment"})
	d.str(m.get("userEntityRef"), p+".userEntityRef", &g.UserEntityRef)
	g.OwnershipEntityRefs = d.stringOrList(m.get("ownershipEntityRefs"), p+".ownershipEntityRefs")
	if len(g.OwnershipEntityRefs) > maxOwnershipRefs {
		d.ps.add(SeverityError, m.get("ownershipEntityRefs").pos, p+".ownershipEntityRefs", fmt.Sprintf("at most %d refs", maxOwnershipRefs))
		g.OwnershipEntityRefs = g.OwnershipEntityRefs[:maxOwnershipRefs]
	}
	if v, ok := d.boolean(m.get("dangerouslyAllowOutsideDevelopment"), p+".dangerouslyAllowOutsideDevelopment"); ok {
		g.DangerouslyAllowOutsideDevelopment = v
	}
	return g
}

// httpURL reads an absolute http(s) URL.
func (d *decoder) httpURL(n *node, path string, dst *string) {
	var s string
	if !d.str(n, path, &s) {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.ps.expected(n.pos, path, "an absolute http or https URL", n)
		return
	}
	*dst = strings.TrimRight(s, "/")
}

func (d *decoder) resolvers(n *node, path string) []SignInResolver {
	si := d.mapping(n, path)
	if si == nil {
		return nil
	}
	d.unknownKeys(si, path, []string{"resolvers"})
	rs := si.get("resolvers")
	if !set(rs) {
		return nil
	}
	p := path + ".resolvers"
	if rs.kind != kindSeq {
		d.ps.expected(rs.pos, p, "a list of {resolver: name}", rs)
		return nil
	}
	if len(rs.items) > maxResolvers {
		d.ps.add(SeverityError, rs.pos, p, fmt.Sprintf("at most %d resolvers, got %d", maxResolvers, len(rs.items)))
		return nil
	}
	var out []SignInResolver
	for i, it := range rs.items {
		ip := indexPath(p, i)
		if it.kind != kindMap {
			d.ps.expected(it.pos, ip, "a mapping with resolver", it)
			continue
		}
		d.unknownKeys(it, ip, []string{"resolver", "allowedDomains", "dangerouslyAllowSignInWithoutUserInCatalog", "annotation"})
		r := SignInResolver{}
		if !d.required(it, ip, "resolver") || !d.str(it.get("resolver"), ip+".resolver", &r.Resolver) {
			continue
		}
		if !slices.Contains(SignInResolvers, r.Resolver) {
			d.ps.expected(it.get("resolver").pos, ip+".resolver", "one of "+strings.Join(SignInResolvers, ", "), it.get("resolver"))
			continue
		}
		r.AllowedDomains = d.stringOrList(it.get("allowedDomains"), ip+".allowedDomains")
		if v, ok := d.boolean(it.get("dangerouslyAllowSignInWithoutUserInCatalog"), ip+".dangerouslyAllowSignInWithoutUserInCatalog"); ok {
			r.DangerouslyAllowSignInWithoutUserInCatalog = v
		}
		d.str(it.get("annotation"), ip+".annotation", &r.Annotation)
		out = append(out, r)
	}
	return out
}

// signInProblems checks the cross-key rules: timeouts that make sense
// together, guest sign-in outside development.
func (d *decoder) signInProblems(root *node, c *Config) {
	s := c.SignIn
	at := func(path string) pos {
		n := root
		for _, k := range strings.Split(path, ".") {
			if n.get(k) == nil {
				break
			}
			n = n.get(k)
		}
		if n == nil {
			return pos{}
		}
		return n.pos
	}
	if s.Session.IdleTimeout > 0 && s.Session.AbsoluteTimeout > 0 && s.Session.IdleTimeout > s.Session.AbsoluteTimeout {
		d.ps.add(SeverityError, at("auth.session.idleTimeout"), "auth.session.idleTimeout", "the idle timeout must not be longer than auth.session.absoluteTimeout")
	}
	if s.OIDC != nil && s.Session.Secret == "" {
		d.ps.add(SeverityWarning, at("auth.providers.oidc"), "auth.session.secret",
			"not set: OIDC refresh tokens are stored unencrypted in the database; set auth.session.secret to encrypt them")
	}
	if s.Guest != nil && !s.Guest.DangerouslyAllowOutsideDevelopment && (s.AnyProvider() || s.Env() != "development") {
		d.ps.add(SeverityError, at("auth.providers.guest"), "auth.providers.guest",
			"guest sign-in is for local development: remove it, or set dangerouslyAllowOutsideDevelopment: true to offer it beside other providers or outside auth.environment development")
	}
}
