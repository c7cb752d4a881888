package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github/githubfake"
)

func TestAppJWTClaims(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, useApp)
	raw, err := f.client.app.jwt()
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(f.fake.AppPrivateKeyPEM()))
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.RegisteredClaims{}
	tok, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(f.clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("parse: %v", err)
	}
	now := f.clock.Now()
	if claims.Issuer != strconv.FormatInt(f.fake.AppID(), 10) {
		t.Errorf("iss = %q", claims.Issuer)
	}
	if got := now.Sub(claims.IssuedAt.Time); got != 60*time.Second {
		t.Errorf("iat is %v before now, want 60s", got)
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > 10*time.Minute || claims.ExpiresAt.Sub(now) > 10*time.Minute {
		t.Errorf("exp-iat = %v, exp-now = %v; GitHub allows 10m at most", life, claims.ExpiresAt.Sub(now))
	}
	again, _ := f.client.app.jwt()
	if again != raw {
		t.Error("JWT not reused within its lifetime")
	}
	f.clock.Advance(9 * time.Minute)
	if renewed, _ := f.client.app.jwt(); renewed == raw {
		t.Error("JWT reused within a minute of expiry")
	}
}

func TestAppInstallationTokens(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, useApp)
	seedOrg(f.fake, "acme", 3)
	f.fake.InstallApp("acme")
	ctx := context.Background()

	if _, err := f.client.OrgRepos(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	st := f.client.Stats()
	if st.TokensMinted != 1 || st.App != 2 || st.REST != 1 {
		t.Fatalf("stats = %+v, want installations listed, one token minted, one REST call", st)
	}
	if _, err := f.client.Repo(ctx, "acme", "svc-001"); err != nil {
		t.Fatal(err)
	}
	if f.client.Stats().TokensMinted != 1 {
		t.Error("token not reused")
	}

	// 50 minutes on, the 1 h token still has more than the margin left.
	f.clock.Advance(50 * time.Minute)
	if _, err := f.client.Repo(ctx, "acme", "svc-002"); err != nil {
		t.Fatal(err)
	}
	if n := f.client.Stats().TokensMinted; n != 1 {
		t.Errorf("minted %d tokens by 50m, want 1", n)
	}
	// Within five minutes of expiry it is renewed before use.
	f.clock.Advance(6 * time.Minute)
	if _, err := f.client.Repo(ctx, "acme", "svc-000"); err != nil {
		t.Fatal(err)
	}
	if n := f.client.Stats().TokensMinted; n != 2 {
		t.Errorf("minted %d tokens by 56m, want 2 (refreshed before expiry)", n)
	}

	// A token revoked early is replaced once, transparently.
	f.fake.ExpireTokens()
	before := f.client.Stats()
	if _, err := f.client.Teams(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if d := f.client.Stats().Sub(before); d.TokensMinted != 1 || d.REST != 2 {
		t.Errorf("after revocation: %+v, want a 401, a new token and the retry", d)
	}
	// GraphQL goes with the installation token too.
	if _, err := f.client.OrgReposWithFile(ctx, "acme", "catalog-info.yaml", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.OrgUsers(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
}

func TestAppOwnerResolution(t *testing.T) {
	ctx := context.Background()
	t.Run("not installed, no token", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, useApp)
		seedOrg(f.fake, "acme", 1)
		_, err := f.client.OrgRepos(ctx, "acme")
		if !greenroom.IsNotFound(err) || !strings.Contains(err.Error(), `not installed on "acme"`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not installed, token fallback", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, func(o *Options, fake *githubfake.Server) {
			useApp(o, fake)
			o.Token = config.Secret(githubfake.DefaultToken)
		})
		seedOrg(f.fake, "acme", 1)
		if _, err := f.client.OrgRepos(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if st := f.client.Stats(); st.TokensMinted != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("owner not allowed uses the token", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, func(o *Options, fake *githubfake.Server) {
			useApp(o, fake)
			o.Token = config.Secret(githubfake.DefaultToken)
			o.App.AllowedInstallationOwners = []string{"other-org"}
		})
		seedOrg(f.fake, "acme", 1)
		f.fake.InstallApp("acme")
		if _, err := f.client.OrgRepos(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if st := f.client.Stats(); st.App != 0 || st.TokensMinted != 0 {
			t.Errorf("the app was used for a disallowed owner: %+v", st)
		}
	})
	t.Run("suspended", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, useApp)
		seedOrg(f.fake, "acme", 1)
		f.fake.InstallApp("acme")
		f.fake.SuspendInstallation("acme")
		if _, err := f.client.OrgRepos(ctx, "acme"); greenroom.ErrorCode(err) != greenroom.CodeForbidden {
			t.Fatalf("err = %v, want forbidden", err)
		}
	})
	t.Run("installed later, after invalidation", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, useApp)
		seedOrg(f.fake, "acme", 1)
		if _, err := f.client.OrgRepos(ctx, "acme"); !greenroom.IsNotFound(err) {
			t.Fatalf("err = %v", err)
		}
		f.fake.InstallApp("acme")
		f.client.InvalidateInstallations()
		if _, err := f.client.OrgRepos(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rate limits are per installation", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, useApp)
		seedOrg(f.fake, "acme", 1)
		seedOrg(f.fake, "beta", 1)
		idA, _ := f.fake.InstallApp("acme")
		f.fake.InstallApp("beta")
		for _, org := range []string{"acme", "beta"} {
			if _, err := f.client.OrgRepos(ctx, org); err != nil {
				t.Fatal(err)
			}
		}
		f.client.limits.exhaust(fmt.Sprintf("installation:%d", idA), ResourceCore, f.clock.Now().Add(10*time.Minute))
		if _, err := f.client.Repo(ctx, "beta", "svc-000"); err != nil || len(f.clock.Sleeps()) != 0 {
			t.Fatalf("beta waited for acme's limit: %v, sleeps %v", err, f.clock.Sleeps())
		}
		if _, err := f.client.Repo(ctx, "acme", "svc-000"); err != nil || len(f.clock.Sleeps()) != 1 {
			t.Fatalf("acme did not wait for its limit: %v, sleeps %v", err, f.clock.Sleeps())
		}
	})
	t.Run("installations, app and check", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, useApp)
		f.fake.AddOrg("acme")
		f.fake.AddOrg("beta")
		idA, _ := f.fake.InstallApp("acme")
		f.fake.InstallApp("beta")
		list, err := f.client.Installations(ctx)
		if err != nil || len(list) != 2 || list[0].ID != idA || list[0].Account.Login != "acme" || list[0].TargetType != "Organization" {
			t.Fatalf("installations = %+v, %v", list, err)
		}
		app, err := f.client.App(ctx)
		if err != nil || app.ID != f.fake.AppID() || app.Slug == "" {
			t.Fatalf("app = %+v, %v", app, err)
		}
		if err := f.client.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppBadCredentials(t *testing.T) {
	ctx := context.Background()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}))
	t.Run("wrong key", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, func(o *Options, fake *githubfake.Server) {
			useApp(o, fake)
			o.App.PrivateKeyPEM = config.Secret(otherPEM)
		})
		_, err := f.client.App(ctx)
		if greenroom.ErrorCode(err) != greenroom.CodeUnauthorized || !strings.Contains(err.Error(), "A JSON web token could not be decoded") {
			t.Fatalf("err = %v", err)
		}
		if err := f.client.Check(ctx); greenroom.ErrorCode(err) != greenroom.CodeUnauthorized {
			t.Errorf("Check: %v", err)
		}
	})
	t.Run("wrong app id", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, func(o *Options, fake *githubfake.Server) {
			useApp(o, fake)
			o.App.AppID = 1
		})
		if _, err := f.client.Installations(ctx); greenroom.ErrorCode(err) != greenroom.CodeUnauthorized {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("PEM with escaped newlines, as in env vars", func(t *testing.T) {
		f := newFixture(t, githubfake.Config{}, func(o *Options, fake *githubfake.Server) {
			useApp(o, fake)
			o.App.PrivateKeyPEM = config.Secret(strings.ReplaceAll(fake.AppPrivateKeyPEM(), "\n", `\n`))
		})
		if _, err := f.client.App(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFakeRejectsBadJWTs checks the fake holds App JWTs to GitHub's rules,
// so the client tests above mean something.
func TestFakeRejectsBadJWTs(t *testing.T) {
	clock := newTestClock()
	fake := githubfake.New(t, githubfake.Config{Now: clock.Now})
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(fake.AppPrivateKeyPEM()))
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	sign := func(method jwt.SigningMethod, k any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	iss := strconv.FormatInt(fake.AppID(), 10)
	tests := []struct {
		name, token, msg string
		status           int
	}{
		{"good", sign(jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": iss, "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix()}), "", 200},
		{"numeric iss", sign(jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": fake.AppID(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}), "", 200},
		{"exp too far", sign(jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": iss, "iat": now.Unix(), "exp": now.Add(11 * time.Minute).Unix()}), "too far in the future", 401},
		{"expired", sign(jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": iss, "iat": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-10 * time.Minute).Unix()}), "'Expiration time'", 401},
		{"no exp", sign(jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": iss, "iat": now.Unix()}), "could not be decoded", 401},
		{"issued in the future", sign(jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": iss, "iat": now.Add(5 * time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix()}), "'Issued at'", 401},
		{"HS256", sign(jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"iss": iss, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}), "could not be decoded", 401},
		{"a token, not a JWT", githubfake.DefaultToken, "could not be decoded", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, fake.APIBaseURL()+"/app/installations", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := fake.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body [512]byte
			n, _ := resp.Body.Read(body[:])
			if resp.StatusCode != tt.status || !strings.Contains(string(body[:n]), tt.msg) {
				t.Errorf("status %d body %s; want %d containing %q", resp.StatusCode, body[:n], tt.status, tt.msg)
			}
		})
	}
}

func TestCheckWithToken(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	if err := f.client.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if used := f.fake.Stats().CoreUsed; used != 0 {
		t.Errorf("GET /rate_limit was charged %d", used)
	}
	if rl := f.client.RateLimit(ResourceCore); rl.Seen.IsZero() || rl.Limit != 5000 {
		t.Errorf("rate limit not recorded: %+v", rl)
	}
}
