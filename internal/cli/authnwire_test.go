package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"greenroom/internal/config"
	"greenroom/internal/store/storetest"
)

// TestServeWithSignIn boots greenroom with an OIDC provider (mockoidc in
// this process) and walks what a person and the CLI do: the API and the
// portal refuse anonymous callers, sign-in with the demo company's user,
// the settings page, a token created there, greenroom login with it and a
// catalog command sending it.
func TestServeWithSignIn(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	m.QueueUser(&mockoidc.MockUser{Subject: "u-1", Email: "daniel.ferreira@acme-ledger.example", PreferredUsername: "daniel", EmailVerified: true})

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`backend:
  baseUrl: %s
  auth:
    externalAccess:
      - type: static
        options: {token: probe-token-123456, subject: probe}
auth:
  providers:
    oidc:
      development:
        metadataUrl: %s
        clientId: %s
        clientSecret: %s
`, base, m.DiscoveryEndpoint(), m.ClientID, m.ClientSecret)
	if err := os.WriteFile(filepath.Join(dir, "app-config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, dir, nil, "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port))
	waitFor(t, p, func() bool {
		// The demo user must be loaded before signing in.
		req, _ := http.NewRequest(http.MethodGet, base+"/api/catalog/entities/by-name/user/default/daniel.ferreira", nil)
		req.Header.Set("Authorization", "Bearer probe-token-123456")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if strings.Contains(p.stderr.String(), m.ClientSecret) {
		t.Error("the log shows the OIDC client secret")
	}

	// Anonymous: 401 on the API, redirect on pages, probes open.
	if code := get(http.DefaultClient, base+"/api/catalog/entities"); code != http.StatusUnauthorized {
		t.Errorf("anonymous API: %d", code)
	}
	if code := get(http.DefaultClient, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, body := fetchPage(t, b, http.MethodGet, base+"/catalog", nil, nil)
	if resp.Request.URL.Path != "/signin" || !strings.Contains(body, "Sign in with Single sign-on") {
		t.Fatalf("anonymous portal ended at %s:\n%s", resp.Request.URL, body)
	}
	// Follow the provider link of the sign-in page.
	link := regexp.MustCompile(`href="(/api/auth/oidc/start[^"]*)"`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("no provider link:\n%s", body)
	}
	resp, body = fetchPage(t, b, http.MethodGet, base+strings.ReplaceAll(link[1], "&amp;", "&"), nil, nil)
	if resp.Request.URL.Path != "/catalog" || !strings.Contains(body, "Signed in as") {
		t.Fatalf("after sign-in at %s:\n%s", resp.Request.URL, body)
	}

	// Settings: identity with the user's groups; create a token.
	_, body = fetchPage(t, b, http.MethodGet, base+"/settings", nil, nil)
	for _, want := range []string{"user:default/daniel.ferreira", "group:default/engineering", "Create token"} {
		if !strings.Contains(body, want) {
			t.Errorf("settings lack %q", want)
		}
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF field on settings")
	}
	form := url.Values{"csrf": {csrf[1]}, "name": {"laptop"}, "kind": {"personal"}, "scope": {"read"}, "days": {"7"}}
	resp, body = fetchPage(t, b, http.MethodPost, base+"/settings/tokens", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
	tok := regexp.MustCompile(`value="(grn_[A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || tok == nil {
		t.Fatalf("create token: %d\n%s", resp.StatusCode, body)
	}
	// Without the CSRF field the same form is refused.
	form.Del("csrf")
	if resp, _ := fetchPage(t, b, http.MethodPost, base+"/settings/tokens", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("token form without CSRF: %d", resp.StatusCode)
	}

	// greenroom login --token-stdin stores it 0600; catalog get sends it.
	home := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + home, "HOME=" + home, "GREENROOM_TOKEN="}
	code, out := runStdin(t, dir, env, tok[1]+"\n", "login", "--server", base, "--token-stdin")
	if code != 0 || !strings.Contains(out, "Signed in to "+base+" as user:default/daniel.ferreira") {
		t.Fatalf("login: %d %s", code, out)
	}
	st, err := os.Stat(filepath.Join(home, "greenroom", "credentials.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	code, out = run(t, dir, env, "catalog", "get", "component:accounting-export", "--server", base)
	if code != 0 || !strings.Contains(out, "accounting-export") {
		t.Errorf("catalog get with the stored token: %d %s", code, out)
	}
	code, out = runStdin(t, dir, env, "grn_not-a-token\n", "login", "--server", base, "--token-stdin")
	if code == 0 || !strings.Contains(out, "refused the token") {
		t.Errorf("login with a bad token: %d %s", code, out)
	}
	if code, out := run(t, dir, env, "logout", "--server", base); code != 0 || !strings.Contains(out, "Forgot the token") {
		t.Errorf("logout: %d %s", code, out)
	}
	if code, _ := run(t, dir, env, "catalog", "get", "component:accounting-export", "--server", base); code == 0 {
		t.Error("catalog get without a token succeeded against a server with sign-in")
	}

	// The CLI login page: authorize, and the token goes to the loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	lport := ln.Addr().(*net.TCPAddr).Port
	_, body = fetchPage(t, b, http.MethodGet, fmt.Sprintf("%s/settings/cli-login?port=%d&state=abc123", base, lport), nil, nil)
	if !strings.Contains(body, "Authorize the CLI") {
		t.Fatalf("cli login page:\n%s", body)
	}
	csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	form = url.Values{"csrf": {csrf[1]}, "port": {strconv.Itoa(lport)}, "state": {"abc123"}}
	_, body = fetchPage(t, b, http.MethodPost, base+"/settings/cli-login", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
	want := fmt.Sprintf(`href="http://127.0.0.1:%d/callback?state=abc123&amp;token=grn_`, lport)
	if !strings.Contains(body, want) {
		t.Errorf("authorized page lacks the loopback link %s:\n%s", want, body)
	}

	// Sign out.
	_, body = fetchPage(t, b, http.MethodGet, base+"/settings", nil, nil)
	csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	resp, _ = fetchPage(t, b, http.MethodPost, base+"/api/auth/session/logout", strings.NewReader(url.Values{"csrf": {csrf[1]}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
	if resp.Request.URL.Path != "/signin" {
		t.Errorf("sign out ended at %s", resp.Request.URL)
	}
	if resp, _ := fetchPage(t, b, http.MethodGet, base+"/api/catalog/entities", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API after sign out: %d", resp.StatusCode)
	}
}

func waitFor(t *testing.T, p *proc, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		select {
		case <-p.done:
			t.Fatalf("greenroom exited with %d:\n%s", p.code, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 20s:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fetchPage(t *testing.T, c *http.Client, method, u string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// runStdin is run with stdin.
func runStdin(t *testing.T, dir string, env []string, stdin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GREENROOM_CLI_MAIN=1"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestAuthnOptions(t *testing.T) {
	cfg := config.Default()
	o := authnOptions(cfg)
	if o.Guest == nil || o.GitHub != nil || o.OIDC != nil || o.Environment != "development" {
		t.Errorf("zero config: guest %v github %v oidc %v env %q", o.Guest, o.GitHub, o.OIDC, o.Environment)
	}
	cfg.SignIn.OIDC = &config.OIDCSignIn{MetadataURL: "https://kc.example/.well-known/openid-configuration", ClientID: "c", ClientSecret: "s3cret-value",
		Resolvers: []config.SignInResolver{{Resolver: "emailMatchingUserEntityProfileEmail", AllowedDomains: []string{"corp.example"}, DangerouslyAllowSignInWithoutUserInCatalog: true}}}
	cfg.Backend.Auth.ExternalAccess = []config.ExternalAccess{{Type: "static", Token: "static-token-1", Subject: "ci"}, {Type: "legacy"}}
	o = authnOptions(cfg)
	if o.Guest != nil {
		t.Error("guest stays on beside a provider that did not ask for it")
	}
	if o.OIDC == nil || o.OIDC.ClientSecret != "s3cret-value" || len(o.OIDC.Resolvers) != 1 || !o.OIDC.Resolvers[0].AllowWithoutCatalog ||
		o.OIDC.Resolvers[0].AllowedDomains[0] != "corp.example" {
		t.Errorf("oidc: %+v", o.OIDC)
	}
	if len(o.StaticTokens) != 1 || o.StaticTokens[0].Subject != "ci" {
		t.Errorf("static tokens: %+v", o.StaticTokens)
	}
	cfg.SignIn.Guest = &config.GuestSignIn{UserEntityRef: "user:default/visitor", DangerouslyAllowOutsideDevelopment: true}
	if o := authnOptions(cfg); o.Guest == nil || o.Guest.UserEntityRef != "user:default/visitor" {
		t.Errorf("explicit guest: %+v", o.Guest)
	}
}

// Two `greenroom serve` replicas on one PostgreSQL database share the
// per-user budget: requests spread over both get the budget once, not
// twice. Without GREENROOM_TEST_POSTGRES it skips loudly (fails under
// CI=true).
func TestServeReplicasShareRateLimits(t *testing.T) {
	t.Parallel()
	opts := storetest.PostgresOptions(t)
	cfg := fmt.Sprintf(`greenroom:
  demo: false
  rateLimit:
    perUser: 6
backend:
  database:
    client: pg
    connection: %q
  auth:
    externalAccess:
      - type: static
        options: {token: replica-test-token-123, subject: ci}
`, opts.DSN)
	var bases []string
	for range 2 {
		dir := t.TempDir()
		bases = append(bases, serve(t, dir, nil, "--config", writeConfig(t, dir, cfg)).base)
	}
	counted, limited := 0, 0
	for i := range 16 {
		req, _ := http.NewRequest(http.MethodGet, bases[i%2]+"/api/auth/v1/userinfo", nil)
		req.Header.Set("Authorization", "Bearer replica-test-token-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		} else {
			counted++
		}
	}
	if counted != 6 || limited != 10 {
		t.Errorf("two replicas let %d of 16 requests through (%d refused), want the shared budget of 6", counted, limited)
	}
}
