package cli

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBrowserLoginLoopback plays the browser: it reads the login URL the
// CLI prints, checks it, and calls the loopback callback as the portal's
// link would, first with a wrong state.
func TestBrowserLoginLoopback(t *testing.T) {
	out := &syncBuffer{}
	stdin, never := io.Pipe() // nobody pastes
	t.Cleanup(func() { never.Close() })
	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := browserLogin(t.Context(), "https://portal.example", true, stdin, out)
		done <- result{tok, err}
	}()
	var login *url.URL
	deadline := time.Now().Add(5 * time.Second)
	for login == nil {
		if m := regexp.MustCompile(`https://portal\.example/settings/cli-login\?\S+`).FindString(out.String()); m != "" {
			login, _ = url.Parse(m)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login URL printed:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	port, state := login.Query().Get("port"), login.Query().Get("state")
	if port == "" || len(state) < 20 {
		t.Fatalf("login URL %s", login)
	}
	cb := "http://127.0.0.1:" + port + "/callback?"
	resp, err := http.Get(cb + url.Values{"state": {"guess"}, "token": {"grn_evil"}}.Encode())
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong state: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(cb + url.Values{"state": {state}, "token": {"grn_good"}}.Encode())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %v %v", resp, err)
	}
	resp.Body.Close()
	select {
	case r := <-done:
		if r.err != nil || r.tok != "grn_good" {
			t.Fatalf("browserLogin = %q, %v", r.tok, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("browserLogin did not return")
	}
}

func TestBrowserLoginPaste(t *testing.T) {
	tok, err := browserLogin(context.Background(), "http://localhost:7007", true, strings.NewReader("  grn_pasted \n"), io.Discard)
	if err != nil || tok != "grn_pasted" {
		t.Fatalf("paste: %q %v", tok, err)
	}
}

func TestCredentialsFile(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	t.Setenv(EnvToken, "")
	if err := saveToken("https://a.example", "grn_a", "user:default/a"); err != nil {
		t.Fatal(err)
	}
	if err := saveToken("https://b.example", "grn_b", "user:default/b"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, "greenroom", "credentials.json")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st, err)
	}
	if dir, _ := os.Stat(filepath.Dir(p)); dir.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", dir.Mode().Perm())
	}
	if got := storedToken("https://a.example/"); got != "grn_a" {
		t.Errorf("stored token of a: %q", got)
	}
	t.Setenv(EnvToken, "grn_env")
	if got := storedToken("https://a.example"); got != "grn_env" {
		t.Errorf("GREENROOM_TOKEN does not override: %q", got)
	}
	t.Setenv(EnvToken, "")
	if found, err := forgetToken("https://a.example"); !found || err != nil {
		t.Fatalf("forget: %v %v", found, err)
	}
	if storedToken("https://a.example") != "" || storedToken("https://b.example") != "grn_b" {
		t.Error("forget removed the wrong token")
	}
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadCredentials(); err == nil || !strings.Contains(err.Error(), "delete it and run greenroom login") {
		t.Errorf("corrupt file: %v", err)
	}
	for _, bad := range []string{"", "\n", "two words\n"} {
		if _, err := readToken(strings.NewReader(bad)); err == nil {
			t.Errorf("readToken(%q) accepted", bad)
		}
	}
}
