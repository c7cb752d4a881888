// Package githubfake is an in-memory GitHub for tests: an httptest server
// holding organizations (repositories with files on branches, teams,
// members), users and a GitHub App, answering the REST and GraphQL calls
// Greenroom makes with GitHub's paths, JSON shapes, pagination, ETags,
// rate-limit headers and error bodies. Tests change its state with
// mutators that return the signed webhook delivery GitHub would send.
//
// It is test support: it must not be imported by production code.
package githubfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config shapes a Server; zero values take the defaults named.
type Config struct {
	// Host is the web host in html_url fields. Default "github.com", or
	// "ghe.example.test" with Enterprise.
	Host string
	// Enterprise serves GitHub Enterprise Server's layout: REST under
	// /api/v3, GraphQL at /api/graphql. Otherwise REST is at the root and
	// GraphQL at /graphql, as api.github.com.
	Enterprise bool
	// Tokens are the personal access tokens accepted; each sees every
	// repository. Default {"ghp_greenroomtest"}.
	Tokens []string
	// AppID is the GitHub App's id. Default 4242.
	AppID int64
	// WebhookSecret signs deliveries. Default "webhook-secret".
	WebhookSecret string
	// Now is the clock for rate-limit resets and token expiry. Default
	// time.Now.
	Now func() time.Time
	// CoreLimit and GraphQLLimit are the hourly budgets per credential.
	// Default 5000 each; anonymous access gets 60.
	CoreLimit, GraphQLLimit int
	// TokenTTL is an installation token's lifetime. Default 1h.
	TokenTTL time.Duration
	// MaxTreeEntries truncates recursive tree listings. Default 100000.
	MaxTreeEntries int
	// Actor is the login the mutators act as (push author, sender).
	// Default "octocat".
	Actor string
}

// DefaultToken is the personal access token accepted by default.
const DefaultToken = "ghp_greenroomtest"

// Server is a fake GitHub. Its methods are safe for concurrent use.
type Server struct {
	tb  testing.TB
	cfg Config
	srv *httptest.Server
	key *rsa.PrivateKey

	mu            sync.Mutex
	nextID        int64
	orgs          map[string]*org // by lower-case login
	users         map[string]*user
	installations map[int64]*installation
	instTokens    map[string]*instToken
	buckets       map[string]*bucket
	exhausted     map[string]time.Time // resource -> reset for buckets made later
	faults        []fault
	stats         Stats
	commitSeq     int64
}

// Stats counts what the server answered.
type Stats struct {
	// Requests is every request received; NotModified the 304s among them.
	Requests, NotModified int
	// ByRoute counts requests per route, e.g. "GET /orgs/{org}/repos".
	ByRoute map[string]int
	// CoreUsed and GraphQLUsed are the rate-limit points charged.
	CoreUsed, GraphQLUsed int
}

// appKey is generated once per test binary: RSA generation is slow.
var appKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("githubfake: generate app key: " + err.Error())
	}
	return k
})

// New starts a fake GitHub, closed when the test ends.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Host == "" {
		cfg.Host = "github.com"
		if cfg.Enterprise {
			cfg.Host = "ghe.example.test"
		}
	}
	if len(cfg.Tokens) == 0 {
		cfg.Tokens = []string{DefaultToken}
	}
	if cfg.AppID == 0 {
		cfg.AppID = 4242
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = "webhook-secret"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CoreLimit == 0 {
		cfg.CoreLimit = 5000
	}
	if cfg.GraphQLLimit == 0 {
		cfg.GraphQLLimit = 5000
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.MaxTreeEntries == 0 {
		cfg.MaxTreeEntries = 100000
	}
	if cfg.Actor == "" {
		cfg.Actor = "octocat"
	}
	s := &Server{
		tb: tb, cfg: cfg, key: appKey(), nextID: 1000,
		orgs: map[string]*org{}, users: map[string]*user{}, installations: map[int64]*installation{},
		instTokens: map[string]*instToken{}, buckets: map[string]*bucket{}, exhausted: map[string]time.Time{},
		stats: Stats{ByRoute: map[string]int{}},
	}
	s.srv = httptest.NewServer(s.routes())
	tb.Cleanup(s.srv.Close)
	s.ensureUser(cfg.Actor)
	return s
}

// URL is the server's root URL.
func (s *Server) URL() string { return s.srv.URL }

// APIBaseURL is the REST base URL to configure clients with.
func (s *Server) APIBaseURL() string {
	if s.cfg.Enterprise {
		return s.srv.URL + "/api/v3"
	}
	return s.srv.URL
}

// GraphQLURL is the GraphQL endpoint.
func (s *Server) GraphQLURL() string {
	if s.cfg.Enterprise {
		return s.srv.URL + "/api/graphql"
	}
	return s.srv.URL + "/graphql"
}

// Host is the web host in html_url fields.
func (s *Server) Host() string { return s.cfg.Host }

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AppID is the GitHub App's id.
func (s *Server) AppID() int64 { return s.cfg.AppID }

// AppPrivateKeyPEM is the App's private key, PKCS#1 PEM as GitHub issues it.
func (s *Server) AppPrivateKeyPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.key)}))
}

// WebhookSecret is the secret deliveries are signed with.
func (s *Server) WebhookSecret() string { return s.cfg.WebhookSecret }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.ByRoute = make(map[string]int, len(s.stats.ByRoute))
	for k, v := range s.stats.ByRoute {
		out.ByRoute[k] = v
	}
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByRoute: map[string]int{}}
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) fatalf(format string, args ...any) {
	s.tb.Helper()
	s.tb.Fatalf("githubfake: "+format, args...)
}

func lower(s string) string { return strings.ToLower(s) }

// Data model. Everything is guarded by Server.mu.

type org struct {
	login   string
	id      int64
	repos   []*repo // in creation order
	members []string
	teams   []*team
}

type repo struct {
	id            int64
	name          string
	org           *org
	description   string
	defaultBranch string
	visibility    string // public, private, internal
	fork          bool
	archived      bool
	topics        []string
	createdAt     time.Time
	updatedAt     time.Time
	pushedAt      time.Time
	branches      map[string]*commit
	commits       map[string]*commit // by sha
}

type commit struct {
	sha     string
	parent  *commit
	files   map[string]string // path -> content; never mutated once committed
	tree    *treeNode
	message string
	time    time.Time
}

type team struct {
	id          int64
	slug        string
	name        string
	description string
	privacy     string
	parent      *team
	members     []string
}

type user struct {
	login          string
	id             int64
	name           string
	email          string
	bio            string
	company        string
	location       string
	verifiedEmails []string
}

type installation struct {
	id        int64
	org       *org
	suspended bool
	createdAt time.Time
}

type instToken struct {
	inst    *installation
	expires time.Time
}

func (s *Server) orgLocked(login string) *org { return s.orgs[lower(login)] }

func (o *org) repo(name string) *repo {
	for _, r := range o.repos {
		if strings.EqualFold(r.name, name) {
			return r
		}
	}
	return nil
}

func (o *org) team(slug string) *team {
	for _, t := range o.teams {
		if t.slug == slug {
			return t
		}
	}
	return nil
}

func (o *org) installation(s *Server) *installation {
	for _, in := range s.installations {
		if in.org == o {
			return in
		}
	}
	return nil
}

func (o *org) hasMember(login string) bool {
	for _, m := range o.members {
		if strings.EqualFold(m, login) {
			return true
		}
	}
	return false
}

func (s *Server) ensureUser(login string) *user {
	if u, ok := s.users[lower(login)]; ok {
		return u
	}
	u := &user{login: login, id: s.id()}
	s.users[lower(login)] = u
	return u
}
