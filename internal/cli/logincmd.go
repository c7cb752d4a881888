package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"greenroom/internal/config"
)

// loginTimeout bounds how long greenroom login waits for the browser.
const loginTimeout = 5 * time.Minute

type loginFlags struct {
	server     string
	noBrowser  bool
	tokenStdin bool
}

// newLoginCmd is greenroom login: a browser flow through the portal's CLI
// login page (sign in there, authorize, and the token comes back to a
// loopback listener or is pasted), or a token read from stdin. The token
// is kept in the user's config dir, readable only by the user, and the
// catalog commands send it as a Bearer token.
func newLoginCmd(g *globalFlags) *cobra.Command {
	f := &loginFlags{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to a Greenroom server and keep a token for the CLI",
		Long: `Sign in to a Greenroom server. The browser opens the server's CLI login
page; sign in there if needed and authorize the CLI. The token it creates (a
personal access token valid 30 days, revocable under Settings) comes back to
this command on a loopback address, or you paste it. With --token-stdin the
token (e.g. a service token) is read from standard input instead.

The token is stored in ` + "`<user config dir>/greenroom/credentials.json`" + ` (mode 0600),
per server URL. Catalog commands with --server send it as a Bearer token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLogin(cmd.Context(), g, f, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.server, "server", "", "Greenroom base URL (default: backend.baseUrl, else http://localhost:7007)")
	cmd.Flags().BoolVar(&f.noBrowser, "no-browser", false, "print the login URL instead of opening a browser")
	cmd.Flags().BoolVar(&f.tokenStdin, "token-stdin", false, "read the token from standard input (no browser)")
	return cmd
}

func newLogoutCmd(g *globalFlags) *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the token greenroom login stored for a server",
		Long:  "Forget the stored token of a server. The token itself stays valid until it expires: revoke it under Settings on the server.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := serverURL(g, server, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			found, err := forgetToken(base)
			if err != nil {
				return exitf(1, "%v", err)
			}
			if !found {
				fmt.Fprintf(cmd.OutOrStdout(), "No token stored for %s.\n", base)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Forgot the token of %s. Revoke it under %s/settings if it may have leaked.\n", base, base)
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "Greenroom base URL (default: backend.baseUrl, else http://localhost:7007)")
	return cmd
}

// serverURL is --server, else backend.baseUrl, else the default, without a
// trailing slash.
func serverURL(g *globalFlags, flag string, stderr io.Writer) (string, error) {
	base := flag
	if base == "" {
		cfg, _, err := loadConfig(g, stderr, false)
		if err != nil {
			return "", err
		}
		base = cfg.Backend.BaseURL
	}
	if base == "" {
		base = config.DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", exitf(2, "server %q: want an http:// or https:// URL", base)
	}
	return strings.TrimRight(base, "/"), nil
}

func runLogin(ctx context.Context, g *globalFlags, f *loginFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	base, err := serverURL(g, f.server, stderr)
	if err != nil {
		return err
	}
	var token string
	if f.tokenStdin {
		token, err = readToken(stdin)
		if err != nil {
			return exitf(2, "%v", err)
		}
	} else {
		token, err = browserLogin(ctx, base, f.noBrowser, stdin, stderr)
		if err != nil {
			return err
		}
	}
	user, err := whoAmI(ctx, base, token)
	if err != nil {
		return err
	}
	if err := saveToken(base, token, user); err != nil {
		return exitf(1, "%v", err)
	}
	fmt.Fprintf(stdout, "Signed in to %s as %s.\n", base, user)
	return nil
}

// maxTokenLine bounds a pasted token.
const maxTokenLine = 4096

func readToken(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxTokenLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the token: %w", err)
	}
	tok := strings.TrimSpace(line)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", errors.New("no token given: paste the token shown by the login page, one line")
	}
	return tok, nil
}

// browserLogin waits for the token from the loopback callback or a paste,
// whichever comes first.
func browserLogin(ctx context.Context, base string, noBrowser bool, stdin io.Reader, stderr io.Writer) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", exitf(1, "listen on a loopback port: %v", err)
	}
	defer ln.Close()
	b := make([]byte, 24)
	rand.Read(b) // never fails (crypto/rand)
	state := base64.RawURLEncoding.EncodeToString(b)
	port := ln.Addr().(*net.TCPAddr).Port
	loginURL := fmt.Sprintf("%s/settings/cli-login?%s", base, url.Values{"port": {fmt.Sprint(port)}, "state": {state}}.Encode())

	got := make(chan string, 2)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/callback" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 || q.Get("token") == "" {
			http.Error(w, "This is not the login this CLI is waiting for. Run greenroom login again.", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><title>Greenroom CLI</title><h1>The CLI is signed in</h1><p>You can close this tab.</p></html>`)
		got <- q.Get("token")
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown below
	defer func() {
		// Shutdown, not Close: the callback hands the token over before its
		// response has left, and the browser should still see the page.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	fmt.Fprintf(stderr, "Open this page to sign in and authorize the CLI:\n\n  %s\n\nWaiting for the browser… (or paste the token shown there and press Enter)\n", loginURL)
	if !noBrowser {
		if err := openBrowser(loginURL); err != nil {
			fmt.Fprintf(stderr, "greenroom: could not open a browser (%v); open the page yourself\n", err)
		}
	}
	go func() {
		if tok, err := readToken(stdin); err == nil {
			got <- tok
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	select {
	case tok := <-got:
		return tok, nil
	case <-ctx.Done():
		return "", exitf(1, "no token within %s: run greenroom login again", loginTimeout)
	}
}

func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	return cmd.Start()
}

// whoAmI checks the token with Backstage's userinfo route and returns the
// user ref it acts as.
func whoAmI(ctx context.Context, base, token string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, catalogHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/auth/v1/userinfo", nil)
	if err != nil {
		return "", exitf(1, "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: catalogHTTPTimeout}).Do(req)
	if err != nil {
		return "", exitf(1, "cannot reach %s: %v", base, rootCause(err))
	}
	defer resp.Body.Close()
	var out struct {
		Claims struct {
			Sub string `json:"sub"`
		} `json:"claims"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.Claims.Sub == "" {
		msg := out.Error.Message
		if msg == "" {
			msg = resp.Status
		}
		return "", exitf(1, "%s refused the token: %s", base, msg)
	}
	return out.Claims.Sub, nil
}

// credentials is the CLI's token file: one entry per server URL.
type credentials struct {
	Servers map[string]credential `json:"servers"`
}

type credential struct {
	Token   string    `json:"token"`
	User    string    `json:"user"`
	SavedAt time.Time `json:"savedAt"`
}

func credentialsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user config dir: %w", err)
	}
	return filepath.Join(dir, "greenroom", "credentials.json"), nil
}

func loadCredentials() (credentials, string, error) {
	c := credentials{Servers: map[string]credential{}}
	p, err := credentialsPath()
	if err != nil {
		return c, "", err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, p, nil
	}
	if err != nil {
		return c, p, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return credentials{Servers: map[string]credential{}}, p, fmt.Errorf("%s is not valid JSON (%v): delete it and run greenroom login", p, err)
	}
	if c.Servers == nil {
		c.Servers = map[string]credential{}
	}
	return c, p, nil
}

// writeCredentials replaces the file atomically, readable only by the
// user.
func writeCredentials(c credentials, p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".credentials-*")
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

func saveToken(base, token, user string) error {
	c, p, err := loadCredentials()
	if err != nil && p == "" {
		return err
	}
	c.Servers[base] = credential{Token: token, User: user, SavedAt: time.Now().UTC()}
	return writeCredentials(c, p)
}

func forgetToken(base string) (bool, error) {
	c, p, err := loadCredentials()
	if err != nil {
		return false, err
	}
	if _, ok := c.Servers[base]; !ok {
		return false, nil
	}
	delete(c.Servers, base)
	return true, writeCredentials(c, p)
}

// EnvToken names the variable that overrides the stored token (CI).
const EnvToken = "GREENROOM_TOKEN"

// storedToken is the token for base: GREENROOM_TOKEN, else the one greenroom
// login saved; "" when none.
func storedToken(base string) string {
	if t := strings.TrimSpace(os.Getenv(EnvToken)); t != "" {
		return t
	}
	c, _, err := loadCredentials()
	if err != nil {
		return ""
	}
	return c.Servers[strings.TrimRight(base, "/")].Token
}
