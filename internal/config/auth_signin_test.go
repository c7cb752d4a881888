package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadSignIn(t *testing.T) {
	env := envMap(map[string]string{"GITHUB_CLIENT_SECRET": "gh-oauth-secret-value", "OIDC_CLIENT_SECRET": "oidc-secret-value", "SESSION_SECRET": "session-secret-value"})
	c, r := mustLoad(t, LoadOptions{Files: []string{"testdata/signin/good.yaml"}, LookupEnv: env})
	if w := lines(r, SeverityWarning); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
	want := SignIn{
		Environment: "production",
		GitHub: &GitHubSignIn{ClientID: "Iv1.prod", ClientSecret: "gh-oauth-secret-value", EnterpriseInstanceURL: "https://ghe.example",
			Resolvers: []SignInResolver{{Resolver: "usernameMatchingUserEntityName"},
				{Resolver: "emailMatchingUserEntityProfileEmail", AllowedDomains: []string{"corp.example"}}}},
		OIDC: &OIDCSignIn{MetadataURL: "https://keycloak.example/realms/acme/.well-known/openid-configuration", ClientID: "greenroom",
			ClientSecret: "oidc-secret-value", Prompt: "login", TokenEndpointAuthMethod: "client_secret_post",
			Resolvers: []SignInResolver{{Resolver: "emailLocalPartMatchingUserEntityName", DangerouslyAllowSignInWithoutUserInCatalog: true},
				{Resolver: "emailMatchingUserEntityAnnotation", Annotation: "keycloak.org/email"}}},
		Session:   SessionSettings{Secret: "session-secret-value", IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 72 * time.Hour, RotationInterval: 30 * time.Minute},
		RateLimit: RateLimitSettings{PerUser: 500, PerTeam: 5000, Window: 30 * time.Minute, SignInFailures: 10},
	}
	if diff := cmp.Diff(want, c.SignIn); diff != "" {
		t.Errorf("sign-in (-want +got):\n%s", diff)
	}
	if !c.SignIn.AnyProvider() || c.SignIn.GuestMode() {
		t.Error("providers configured but guest mode reported")
	}
	if info := strings.Join(lines(r, SeverityInfo), "\n"); !strings.Contains(info, "auth.providers.google") {
		t.Errorf("google provider not reported as ignored: %s", info)
	}

	// Secrets never leak: dump, %v, %+v, slog.
	var dump bytes.Buffer
	if err := c.Dump(&dump); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "signin", c.SignIn.GitHub.ClientSecret, "oidc", c.SignIn.OIDC.ClientSecret)
	shown := dump.String() + fmt.Sprintf("%v %+v %#v", *c.SignIn.GitHub, *c.SignIn.OIDC, *c.SignIn.OIDC) + logs.String()
	for _, s := range []string{"gh-oauth-secret-value", "oidc-secret-value", "session-secret-value"} {
		if strings.Contains(shown, s) {
			t.Errorf("secret %q shown:\n%s", s, shown)
		}
	}
	if !strings.Contains(dump.String(), "clientId: Iv1.prod") {
		t.Errorf("dump lacks the client id:\n%s", dump.String())
	}
}

func TestLoadSignInDefaults(t *testing.T) {
	c, _ := mustLoad(t, LoadOptions{LookupEnv: noEnv})
	if c.SignIn.AnyProvider() || !c.SignIn.GuestMode() || c.SignIn.Env() != "development" {
		t.Errorf("no config: %+v", c.SignIn)
	}
}

func TestLoadSignInProblems(t *testing.T) {
	_, r, err := Load(LoadOptions{Files: []string{"testdata/signin/bad.yaml"}, LookupEnv: noEnv})
	if err == nil {
		t.Fatal("bad sign-in config loaded without error")
	}
	got := strings.Join(lines(r, SeverityWarning), "\n")
	for _, want := range []string{
		"error testdata/signin/bad.yaml:7:7: auth.providers.github.development.clientSecret: missing required key clientSecret",
		"error testdata/signin/bad.yaml:9:9: auth.providers.github.development.enterpriseInstanceUrl: expected an absolute http or https URL, got \"ghe.example\"",
		"error testdata/signin/bad.yaml:12:15: auth.providers.github.development.signIn.resolvers[0].resolver: expected one of emailMatchingUserEntityProfileEmail",
		"auth.providers.github.development.signIn.resolvers[1].name: unknown key \"name\"",
		"auth.providers.github.development.signIn.resolvers[1].resolver: missing required key resolver",
		"auth.providers.oidc.development.scopes: unknown key \"scopes\"; did you mean \"scope\"?",
		"auth.providers.mystery: unknown sign-in provider \"mystery\"",
		"error testdata/signin/bad.yaml:20:5: auth.providers.guest: guest sign-in is for local development",
		"error testdata/signin/bad.yaml:3:5: auth.session.idleTimeout: the idle timeout must not be longer than auth.session.absoluteTimeout",
		"greenroom.rateLimit.perUser: expected a positive integer, got 0",
		"greenroom.rateLimit.enabled: expected true or false",
		"auth.session.secret: not set: OIDC refresh tokens are stored unencrypted",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
