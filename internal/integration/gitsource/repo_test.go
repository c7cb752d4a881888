package gitsource

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

func TestRepoEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		repo     Repo
		url      string // the URL go-git is given
		user     string // basic-auth user name, "" for no basic auth
		password string
	}{
		{"https, no auth", Repo{URL: "https://gitlab.example.com/group/sub/project.git"}, "https://gitlab.example.com/group/sub/project.git", "", ""},
		{"trailing slash", Repo{URL: "https://gitea.example.com/org/repo/"}, "https://gitea.example.com/org/repo", "", ""},
		{"token, default user", Repo{URL: "https://github.com/o/r", Auth: Auth{Token: "ghs_abc"}}, "https://github.com/o/r", UserGitHub, "ghs_abc"},
		{"token, gitlab user", Repo{URL: "https://gitlab.com/o/r.git", Auth: Auth{Username: UserGitLab, Token: "glpat-x"}}, "https://gitlab.com/o/r.git", "oauth2", "glpat-x"},
		{"user:token in url", Repo{URL: "https://x-token-auth:tok123@bitbucket.org/ws/r.git"}, "https://bitbucket.org/ws/r.git", "x-token-auth", "tok123"},
		{"token as url user", Repo{URL: "https://tok123@gitea.example.com/o/r.git"}, "https://gitea.example.com/o/r.git", UserGitHub, "tok123"},
		{"http token to loopback", Repo{URL: "http://127.0.0.1:3000/o/r.git", Auth: Auth{Token: "tok-loop"}}, "http://127.0.0.1:3000/o/r.git", UserGitHub, "tok-loop"},
		{"http to localhost", Repo{URL: "http://localhost/o/r.git", Auth: Auth{Token: "tok-local"}}, "http://localhost/o/r.git", UserGitHub, "tok-local"},
		{"branch prefix", Repo{URL: "https://h/o/r", Branch: "refs/heads/release/1.x"}, "https://h/o/r", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := tt.repo.endpoint()
			if err != nil {
				t.Fatal(err)
			}
			if ep.url != tt.url {
				t.Errorf("url = %q, want %q", ep.url, tt.url)
			}
			basic, _ := ep.auth.(*githttp.BasicAuth)
			switch {
			case tt.user == "" && ep.auth != nil:
				t.Errorf("auth = %v, want none", ep.auth)
			case tt.user != "" && (basic == nil || basic.Username != tt.user || basic.Password != tt.password):
				t.Errorf("auth = %#v, want basic %s:%s", ep.auth, tt.user, tt.password)
			}
			if tt.password != "" && strings.Contains(ep.shown, tt.password) {
				t.Errorf("shown URL %q holds the token", ep.shown)
			}
			if len(ep.key) != 32 {
				t.Errorf("cache key %q, want 32 hex digits", ep.key)
			}
		})
	}
	a, _ := Repo{URL: "https://h/o/r.git"}.endpoint()
	b, _ := Repo{URL: "https://user:tok@h/o/r.git", Branch: "dev"}.endpoint()
	c, _ := Repo{URL: "https://h/o/other.git"}.endpoint()
	if a.key != b.key || a.key == c.key {
		t.Errorf("cache keys: same URL %s/%s, other URL %s; want one clone per URL whatever the credentials and branch", a.key, b.key, c.key)
	}
	if b.branch != "dev" {
		t.Errorf("branch = %q", b.branch)
	}
}

func TestRepoValidateErrors(t *testing.T) {
	key, _ := testKey(t, "")
	tests := []struct {
		name string
		repo Repo
		want string
	}{
		{"empty", Repo{}, "not a git URL"},
		{"relative", Repo{URL: "just/a/path"}, "not supported"},
		{"file", Repo{URL: "file:///srv/repo.git"}, "not supported"},
		{"ftp", Repo{URL: "ftp://h/r.git"}, "not supported"},
		{"no path", Repo{URL: "https://gitlab.com"}, "needs a host and a repository path"},
		{"token over http", Repo{URL: "http://git.example.com/o/r.git", Auth: Auth{Token: "t"}}, "only to a loopback host"},
		{"token twice", Repo{URL: "https://u:t@h/o/r", Auth: Auth{Token: "t2"}}, "both in the url and in auth"},
		{"user without token", Repo{URL: "https://h/o/r", Auth: Auth{Username: "oauth2"}}, "without a token"},
		{"ssh key for https", Repo{URL: "https://h/o/r", Auth: Auth{SSHKey: config.Secret(key)}}, "ssh key is given for an https url"},
		{"token for ssh", Repo{URL: "git@h:o/r.git", Auth: Auth{Token: "t"}}, "a token is given for an ssh url"},
		{"ssh without key", Repo{URL: "ssh://git@h/o/r.git"}, "needs auth.sshKey"},
		{"ssh password", Repo{URL: "ssh://git:pw@h/o/r.git"}, "must not hold a password"},
		{"bad branch", Repo{URL: "https://h/o/r", Branch: "a..b"}, `branch "a..b" is not a valid branch name`},
		{"option branch", Repo{URL: "https://h/o/r", Branch: "-x"}, "not a valid branch name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.repo.Validate()
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want invalid mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "BEGIN OPENSSH") || strings.Contains(err.Error(), ":t@") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
	// Several problems are reported together.
	err := Repo{URL: "http://git.example.com/o/r", Branch: "a b", Auth: Auth{Token: "t"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "loopback") || !strings.Contains(err.Error(), "branch") {
		t.Fatalf("Validate() = %v, want both problems", err)
	}
}

// testKey returns an ed25519 private key in OpenSSH PEM form (encrypted
// when passphrase is set) and its public key.
func testKey(t *testing.T, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), sshPub
}

func TestSSHAuth(t *testing.T) {
	key, clientPub := testKey(t, "")
	encrypted, _ := testKey(t, "correct horse")
	_, hostKey := testKey(t, "")
	_, otherHostKey := testKey(t, "")
	knownHosts := "# a comment\n\n" + knownhosts.Line([]string{"git.example.com", "[git.example.com]:2222"}, hostKey) + "\n"

	tests := []struct {
		name string
		url  string
		auth Auth
		want string // error substring, "" for success
		user string
	}{
		{"scp-like", "git@git.example.com:team/repo.git", Auth{SSHKey: config.Secret(key), KnownHosts: knownHosts}, "", "git"},
		{"ssh url, default user", "ssh://git.example.com:2222/team/repo.git", Auth{SSHKey: config.Secret(key), KnownHosts: knownHosts}, "", "git"},
		{"ssh url, own user", "ssh://deploy@git.example.com/team/repo.git", Auth{SSHKey: config.Secret(key), KnownHosts: knownHosts}, "", "deploy"},
		{"encrypted key", "git@git.example.com:r.git", Auth{SSHKey: config.Secret(encrypted), SSHKeyPassphrase: "correct horse", KnownHosts: knownHosts}, "", "git"},
		{"passphrase missing", "git@git.example.com:r.git", Auth{SSHKey: config.Secret(encrypted), KnownHosts: knownHosts}, "sshKeyPassphrase is required", ""},
		{"wrong passphrase", "git@git.example.com:r.git", Auth{SSHKey: config.Secret(encrypted), SSHKeyPassphrase: "wrong", KnownHosts: knownHosts}, "passphrase is wrong", ""},
		{"passphrase for a plain key", "git@git.example.com:r.git", Auth{SSHKey: config.Secret(key), SSHKeyPassphrase: "x", KnownHosts: knownHosts}, "not encrypted", ""},
		{"not a key", "git@git.example.com:r.git", Auth{SSHKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n", KnownHosts: knownHosts}, "not a PEM private key", ""},
		{"no known_hosts", "git@git.example.com:r.git", Auth{SSHKey: config.Secret(key)}, "needs auth.knownHosts", ""},
		{"bad known_hosts", "git@git.example.com:r.git", Auth{SSHKey: config.Secret(key), KnownHosts: "# ok\ngit.example.com ssh-ed25519 !!!\n"}, "knownHosts line 2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := Repo{URL: tt.url, Auth: tt.auth}.endpoint()
			if tt.want != "" {
				if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("endpoint() = %v, want invalid mentioning %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "horse") {
					t.Fatalf("error leaks the key or passphrase: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pk, ok := ep.auth.(*gitssh.PublicKeys)
			if !ok {
				t.Fatalf("auth = %T, want *ssh.PublicKeys", ep.auth)
			}
			if pk.User != tt.user {
				t.Errorf("ssh user = %q, want %q", pk.User, tt.user)
			}
			if tt.auth.SSHKeyPassphrase == "" && string(pk.Signer.PublicKey().Marshal()) != string(clientPub.Marshal()) {
				t.Error("the signer is not the configured key")
			}
			if strings.Contains(pk.String(), "PRIVATE") {
				t.Error("auth method's String leaks the key")
			}
			// Host keys are checked against known_hosts, strictly.
			cfg, err := pk.ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
			if err := cfg.HostKeyCallback("git.example.com:22", addr, hostKey); err != nil {
				t.Errorf("known host key refused: %v", err)
			}
			var keyErr *knownhosts.KeyError
			if err := cfg.HostKeyCallback("git.example.com:22", addr, otherHostKey); !errors.As(err, &keyErr) || len(keyErr.Want) == 0 {
				t.Errorf("a changed host key was accepted or misreported: %v", err)
			}
			if err := cfg.HostKeyCallback("evil.example.com:22", addr, hostKey); !errors.As(err, &keyErr) || len(keyErr.Want) != 0 {
				t.Errorf("an unknown host was accepted or misreported: %v", err)
			}
			if err := cfg.HostKeyCallback("git.example.com:2222", addr, hostKey); err != nil {
				t.Errorf("known host on port 2222 refused: %v", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:tok@host/o/r.git", "https://<redacted>@host/o/r.git"},
		{"https://tok@host:8443/o/r.git?x=1", "https://<redacted>@host:8443/o/r.git?x=1"},
		{"https://host/o/r.git", "https://host/o/r.git"},
		{"https://host/o/r@v1", "https://host/o/r@v1"},
		{"git@host:o/r.git", "git@host:o/r.git"},
		{"ssh://git@host/o/r.git", "ssh://<redacted>@host/o/r.git"},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A URL that fails to parse is still shown redacted.
	err := Repo{URL: "https://user:s3cr%zzet@host/r"}.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr") {
		t.Fatalf("Validate() = %v, want an error without the secret", err)
	}
}
