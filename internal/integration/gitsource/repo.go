package gitsource

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// Token user names. A token is sent as the password of HTTP basic
// authentication; what the user name must be depends on the host:
//
//   - GitHub (installation and personal tokens): UserGitHub, "x-access-token";
//   - GitLab (personal, project, group and OAuth tokens): UserGitLab,
//     "oauth2" (GitLab ignores the name for personal tokens, but requires
//     it for OAuth tokens);
//   - Bitbucket Cloud (repository, project and workspace access tokens):
//     UserBitbucketCloud, "x-token-auth"; app passwords need the account's
//     own user name instead;
//   - Bitbucket Data Center / Server (HTTP access tokens): the account's
//     user name;
//   - Gitea and Forgejo (access tokens): the account's user name.
//
// An empty Auth.Username means UserGitHub.
const (
	UserGitHub         = "x-access-token"
	UserGitLab         = "oauth2"
	UserBitbucketCloud = "x-token-auth"
)

// Repo names one branch of one git repository to read.
type Repo struct {
	// URL is https://host/path, ssh://[user@]host[:port]/path or the
	// scp-like user@host:path. Credentials in an https URL's user info
	// are moved into Auth (and never logged); http:// is accepted too,
	// but a token is sent over it only to a loopback host.
	URL string
	// Branch is the branch to read; empty means the remote's HEAD (its
	// default branch). A "refs/heads/" prefix is accepted.
	Branch string
	// Auth holds the credentials, if the repository needs any.
	Auth Auth
}

// Auth is either a token (https) or an SSH key (ssh), not both.
type Auth struct {
	// Username goes with Token; see UserGitHub for what each host expects.
	Username string
	// Token is an access token sent as the basic-auth password.
	Token config.Secret

	// SSHKey is a PEM private key (OpenSSH, PKCS#1, PKCS#8 or EC).
	SSHKey config.Secret
	// SSHKeyPassphrase decrypts SSHKey when it is encrypted.
	SSHKeyPassphrase config.Secret
	// KnownHosts is the content of a known_hosts file holding the
	// server's host key. It is required with SSHKey: host keys are always
	// verified.
	KnownHosts string
}

// endpoint is a validated Repo: the URL without credentials, the auth
// method go-git needs, and the cache key.
type endpoint struct {
	url    string // no user info for http(s); the ssh user stays
	shown  string // url, for messages and logs
	branch string // "" for the remote HEAD
	auth   transport.AuthMethod
	secret []string // secret values to scrub from error text
	key    string   // cache directory name
}

// Validate checks the repository settings without any I/O. The error has
// code invalid and describes each problem; secrets never appear in it.
func (r Repo) Validate() error {
	_, err := r.endpoint()
	return err
}

func (r Repo) endpoint() (*endpoint, error) { return r.resolve(true) }

// location is endpoint without building the auth method (no key parsing),
// for readers of the cache, which need only the URL.
func (r Repo) location() (*endpoint, error) { return r.resolve(false) }

func (r Repo) resolve(withAuth bool) (*endpoint, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	ep, err := transport.NewEndpoint(strings.TrimSpace(r.URL))
	if err != nil || r.URL == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "gitsource: url %q is not a git URL", redactURL(r.URL))
	}
	auth := r.Auth
	if ep.User != "" || ep.Password != "" {
		if ep.Protocol == "http" || ep.Protocol == "https" {
			if auth.Token != "" {
				bad("credentials are given both in the url and in auth")
			}
			if ep.Password != "" {
				auth.Username, auth.Token = ep.User, config.Secret(ep.Password)
			} else {
				auth.Token = config.Secret(ep.User) // https://TOKEN@host: the token as user name
			}
			ep.User, ep.Password = "", ""
		} else if ep.Password != "" {
			bad("an ssh url must not hold a password")
			ep.Password = ""
		}
	}
	out := &endpoint{}
	switch ep.Protocol {
	case "https", "http":
		if ep.Host == "" || ep.Path == "" || ep.Path == "/" {
			bad("url needs a host and a repository path")
		}
		if auth.SSHKey != "" || auth.KnownHosts != "" {
			bad("an ssh key is given for an %s url", ep.Protocol)
		}
		if auth.Token != "" {
			if ep.Protocol == "http" && !isLoopback(ep.Host) {
				bad("a token is sent over plain http only to a loopback host; use https")
			}
			user := auth.Username
			if user == "" {
				user = UserGitHub
			}
			out.auth = &githttp.BasicAuth{Username: user, Password: auth.Token.Reveal()}
			out.secret = append(out.secret, auth.Token.Reveal())
		} else if auth.Username != "" {
			bad("auth.username is given without a token")
		}
	case "ssh":
		if ep.Host == "" || ep.Path == "" {
			bad("url needs a host and a repository path")
		}
		if auth.Token != "" {
			bad("a token is given for an ssh url; ssh needs an ssh key")
		}
		if ep.User == "" {
			ep.User = "git"
		}
		if withAuth {
			m, err := sshAuth(ep.User, auth)
			if err != nil {
				problems = append(problems, err)
			}
			out.auth = m
		}
		out.secret = append(out.secret, auth.SSHKey.Reveal(), auth.SSHKeyPassphrase.Reveal())
	default:
		bad("url scheme %q is not supported (https, http or ssh)", ep.Protocol)
	}
	out.url = strings.TrimRight(ep.String(), "/")
	out.shown = out.url
	branch := strings.TrimPrefix(strings.TrimSpace(r.Branch), "refs/heads/")
	if branch != "" {
		if err := plumbing.NewBranchReferenceName(branch).Validate(); err != nil || strings.HasPrefix(branch, "-") {
			bad("branch %q is not a valid branch name", r.Branch)
		}
	}
	out.branch = branch
	if len(problems) > 0 {
		return nil, &greenroom.Error{
			Code:    greenroom.CodeInvalid,
			Message: fmt.Sprintf("gitsource: %s: %v", out.shown, errors.Join(problems...)),
		}
	}
	sum := sha256.Sum256([]byte(out.url))
	out.key = hex.EncodeToString(sum[:16])
	return out, nil
}

// sshAuth builds go-git's public-key auth with strict host key checking.
// Errors never contain the key or the passphrase.
func sshAuth(user string, a Auth) (*gitssh.PublicKeys, error) {
	if a.SSHKey == "" {
		return nil, errors.New("an ssh url needs auth.sshKey (a PEM private key)")
	}
	if strings.TrimSpace(a.KnownHosts) == "" {
		return nil, errors.New("an ssh url needs auth.knownHosts: host keys are always verified")
	}
	signer, err := parseKey([]byte(a.SSHKey.Reveal()), a.SSHKeyPassphrase.Reveal())
	if err != nil {
		return nil, err
	}
	hostKeys, err := parseKnownHosts(a.KnownHosts)
	if err != nil {
		return nil, err
	}
	pk := &gitssh.PublicKeys{User: user, Signer: signer}
	pk.HostKeyCallback = hostKeys
	return pk, nil
}

func parseKey(pem []byte, passphrase string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		if passphrase != "" {
			return nil, errors.New("auth.sshKeyPassphrase is given but the ssh key is not encrypted")
		}
		return signer, nil
	case errors.As(err, &missing):
		if passphrase == "" {
			return nil, errors.New("the ssh key is encrypted: auth.sshKeyPassphrase is required")
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, errors.New("the ssh key passphrase is wrong")
		}
		if err != nil {
			return nil, errors.New("the encrypted ssh key cannot be read")
		}
		return signer, nil
	default:
		// ssh's messages do not quote the key, but keep ours generic anyway.
		return nil, errors.New("auth.sshKey is not a PEM private key that ssh understands")
	}
}

// parseKnownHosts turns known_hosts content into a host key callback. The
// x/crypto parser reads files, so the content goes through a temporary
// file that is removed before returning (the callback keeps a parsed copy).
func parseKnownHosts(content string) (ssh.HostKeyCallback, error) {
	// Check each line first so that a bad line is reported by number.
	for n, line := range strings.Split(content, "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(line)); err != nil {
			return nil, fmt.Errorf("auth.knownHosts line %d: not a known_hosts entry", n+1)
		}
	}
	f, err := os.CreateTemp("", "greenroom-known-hosts-*")
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(content)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("auth.knownHosts: %w", err)
	}
	return cb, nil
}

func isLoopback(host string) bool {
	h := strings.Trim(host, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// redactURL hides the user info of a URL (https://TOKEN@host/… or
// https://user:TOKEN@host/…) for messages and logs.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw // scp-like user@host:path has no secret in it
	}
	hostEnd := strings.IndexAny(rest, "/?#")
	authority := rest
	if hostEnd >= 0 {
		authority = rest[:hostEnd]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	return scheme + "://<redacted>@" + rest[at+1:]
}

// scrub removes secret values from text that came from a library.
func (e *endpoint) scrub(s string) string {
	for _, v := range e.secret {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}
