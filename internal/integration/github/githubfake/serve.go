package githubfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GitHub's documentation links, as its error bodies carry them.
const (
	docsREST      = "https://docs.github.com/rest"
	docsRateLimit = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limits"
	docsSecondary = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// reply is what an endpoint answers; the wrapper adds ETags, 304s and
// rate-limit accounting.
type reply struct {
	status int
	body   []byte // set by the endpoint, or marshalled from value
	value  any
	header http.Header
	// cost is the rate-limit points charged (default 1).
	cost int
	// free is true for endpoints GitHub does not charge (GET /rate_limit).
	free bool
}

type endpointFunc func(r *http.Request, p principal) reply

type authMode int

const (
	authCredential authMode = iota // token, installation token or anonymous
	authJWT                        // the App's JWT only
)

type principal struct {
	kind string // token, installation, app, anonymous
	key  string // rate-limit bucket key
	inst *installation
	desc string // "user ID 1", for rate-limit messages
}

// canSee reports whether p may read r: public repositories for everyone,
// all for tokens, an installation's own organization's.
func (p principal) canSee(r *repo) bool {
	switch {
	case r.visibility == "public", p.kind == "token":
		return true
	case p.kind == "installation":
		return p.inst.org == r.org
	}
	return false
}

func (p principal) canSeeOrg(o *org) bool {
	return p.kind == "token" || p.kind == "anonymous" || p.kind == "installation" && p.inst.org == o
}

func (s *Server) routes() http.Handler {
	rest := http.NewServeMux()
	ep := func(method, path, resource string, mode authMode, h endpointFunc) {
		rest.Handle(method+" "+path, s.endpoint(method+" "+path, resource, mode, h))
	}
	ep("GET", "/orgs/{org}/repos", "core", authCredential, s.listOrgRepos)
	ep("GET", "/repos/{owner}/{repo}", "core", authCredential, s.getRepo)
	ep("GET", "/repos/{owner}/{repo}/git/trees/{sha}", "core", authCredential, s.getTree)
	ep("GET", "/repos/{owner}/{repo}/contents/{path...}", "core", authCredential, s.getContents)
	ep("GET", "/orgs/{org}/teams", "core", authCredential, s.listTeams)
	ep("GET", "/orgs/{org}/teams/{slug}/members", "core", authCredential, s.listTeamMembers)
	ep("GET", "/orgs/{org}/members", "core", authCredential, s.listMembers)
	ep("GET", "/users/{login}", "core", authCredential, s.getUser)
	ep("GET", "/rate_limit", "core", authCredential, s.getRateLimit)
	ep("GET", "/app", "core", authJWT, s.getApp)
	ep("GET", "/app/installations", "core", authJWT, s.listInstallations)
	ep("POST", "/app/installations/{id}/access_tokens", "core", authJWT, s.createToken)
	rest.Handle("/", s.endpoint("unknown", "core", authCredential, func(*http.Request, principal) reply {
		return notFound(docsREST)
	}))
	graphql := s.endpoint("POST /graphql", "graphql", authCredential, s.graphql)

	root := http.NewServeMux()
	if s.cfg.Enterprise {
		root.Handle("/api/v3/", http.StripPrefix("/api/v3", rest))
		root.Handle("POST /api/graphql", graphql)
		root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	} else {
		root.Handle("POST /graphql", graphql)
		root.Handle("/", rest)
	}
	return root
}

func notFound(docs string) reply {
	return reply{status: http.StatusNotFound, value: map[string]string{"message": "Not Found", "documentation_url": docs, "status": "404"}}
}

func errorReply(status int, message, docs string) reply {
	return reply{status: status, value: map[string]string{"message": message, "documentation_url": docs, "status": strconv.Itoa(status)}}
}

// endpoint wraps h with what every GitHub answer goes through: injected
// faults, authentication, the primary rate limit, ETags and accounting.
func (s *Server) endpoint(route, resource string, mode authMode, h endpointFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stats.Requests++
		s.stats.ByRoute[route]++
		w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
		w.Header().Set("X-GitHub-Request-Id", requestID())
		if len(s.faults) > 0 {
			f := s.faults[0]
			s.faults = s.faults[1:]
			s.writeFault(w, f)
			return
		}
		p, rep, ok := s.authenticate(r, mode)
		if !ok {
			s.write(w, r, rep)
			return
		}
		b := s.bucket(p, resource)
		if b.used >= b.limit {
			s.setRateHeaders(w, b, resource)
			if resource == "graphql" {
				rep = reply{status: http.StatusOK, value: map[string]any{"errors": []map[string]any{{
					"type": "RATE_LIMITED", "message": "API rate limit already exceeded for " + p.desc + ".",
				}}}}
			} else {
				rep = errorReply(http.StatusForbidden, "API rate limit exceeded for "+p.desc+". If you reach out to GitHub Support for help, please include the request ID "+w.Header().Get("X-GitHub-Request-Id")+".", docsRateLimit)
			}
			s.write(w, r, rep)
			return
		}
		rep = h(r, p)
		if rep.status == 0 {
			rep.status = http.StatusOK
		}
		if rep.body == nil && rep.value != nil {
			var err error
			if rep.body, err = json.Marshal(rep.value); err != nil {
				rep = errorReply(http.StatusInternalServerError, "fake: marshal: "+err.Error(), docsREST)
				rep.body, _ = json.Marshal(rep.value)
			}
		}
		if r.Method == http.MethodGet && rep.status == http.StatusOK {
			etag := `W/"` + hashHex(rep.body) + `"`
			w.Header().Set("ETag", etag)
			if matchETag(r.Header.Get("If-None-Match"), etag) {
				// A 304 is not charged to the rate limit.
				s.stats.NotModified++
				s.setRateHeaders(w, b, resource)
				for k, v := range rep.header {
					if k == "Link" {
						w.Header()[k] = v
					}
				}
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		if !rep.free {
			cost := max(rep.cost, 1)
			b.used += cost
			if resource == "graphql" {
				s.stats.GraphQLUsed += cost
			} else {
				s.stats.CoreUsed += cost
			}
		}
		s.setRateHeaders(w, b, resource)
		s.write(w, r, rep)
	})
}

func (s *Server) write(w http.ResponseWriter, _ *http.Request, rep reply) {
	if rep.body == nil && rep.value != nil {
		rep.body, _ = json.Marshal(rep.value)
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func matchETag(header, etag string) bool {
	if header == "" {
		return false
	}
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for c := range strings.SplitSeq(header, ",") {
		if strings.TrimSpace(c) == "*" || strip(c) == strip(etag) {
			return true
		}
	}
	return false
}

func requestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:2]) + ":" + hex.EncodeToString(b[2:]))
}

// Rate limits.

type bucket struct {
	limit, used int
	reset       time.Time
}

func (s *Server) bucket(p principal, resource string) *bucket {
	key := p.key + "|" + resource
	now := s.now()
	b := s.buckets[key]
	if b == nil {
		limit := s.cfg.CoreLimit
		if resource == "graphql" {
			limit = s.cfg.GraphQLLimit
		}
		if p.kind == "anonymous" {
			limit = 60
		}
		b = &bucket{limit: limit, reset: now.Add(time.Hour).Truncate(time.Second)}
		if reset, ok := s.exhausted[resource]; ok && now.Before(reset) {
			b.used, b.reset = b.limit, reset
		}
		s.buckets[key] = b
	}
	if !now.Before(b.reset) {
		b.used, b.reset = 0, now.Add(time.Hour).Truncate(time.Second)
	}
	return b
}

func (s *Server) setRateHeaders(w http.ResponseWriter, b *bucket, resource string) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(b.limit-b.used, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(b.used))
	h.Set("X-RateLimit-Resource", resource)
}

// ExhaustRateLimit uses up resource ("core" or "graphql") for every
// credential until resetIn from now.
func (s *Server) ExhaustRateLimit(resource string, resetIn time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reset := s.now().Add(resetIn).Truncate(time.Second)
	s.exhausted[resource] = reset
	for k, b := range s.buckets {
		if strings.HasSuffix(k, "|"+resource) {
			b.used, b.reset = b.limit, reset
		}
	}
}

// fault is an answer forced on the next request.
type fault struct {
	status     int
	secondary  bool
	retryAfter time.Duration
}

// FailNext makes the next n requests answer status (a 5xx, say).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status})
	}
}

// SecondaryLimitNext makes the next n requests hit a secondary rate limit:
// status 403 or 429, with Retry-After when retryAfter > 0.
func (s *Server) SecondaryLimitNext(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, secondary: true, retryAfter: retryAfter})
	}
}

func (s *Server) writeFault(w http.ResponseWriter, f fault) {
	if !f.secondary {
		s.write(w, nil, errorReply(f.status, http.StatusText(f.status), docsREST))
		return
	}
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
	}
	s.write(w, nil, errorReply(f.status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID "+w.Header().Get("X-GitHub-Request-Id")+".", docsSecondary))
}

// Authentication.

func (s *Server) authenticate(r *http.Request, mode authMode) (principal, reply, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if mode == authJWT {
			return principal{}, errorReply(http.StatusUnauthorized, "A JSON web token could not be decoded", docsREST), false
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return principal{kind: "anonymous", key: "anon:" + host, desc: "IP " + host}, reply{}, true
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") || tok == "" {
		return principal{}, errorReply(http.StatusUnauthorized, "Bad credentials", docsREST), false
	}
	if strings.Count(tok, ".") == 2 {
		if msg := s.verifyJWT(tok); msg != "" {
			return principal{}, errorReply(http.StatusUnauthorized, msg, docsREST), false
		}
		if mode != authJWT {
			return principal{}, errorReply(http.StatusForbidden, "Resource not accessible by integration", docsREST), false
		}
		return principal{kind: "app", key: "app", desc: fmt.Sprintf("app ID %d", s.cfg.AppID)}, reply{}, true
	}
	if mode == authJWT {
		return principal{}, errorReply(http.StatusUnauthorized, "A JSON web token could not be decoded", docsREST), false
	}
	for i, t := range s.cfg.Tokens {
		if t == tok {
			return principal{kind: "token", key: "token:" + tok, desc: fmt.Sprintf("user ID %d", i+1)}, reply{}, true
		}
	}
	if it, ok := s.instTokens[tok]; ok && s.now().Before(it.expires) {
		return principal{kind: "installation", key: fmt.Sprintf("installation:%d", it.inst.id), inst: it.inst,
			desc: fmt.Sprintf("installation ID %d", it.inst.id)}, reply{}, true
	}
	return principal{}, errorReply(http.StatusUnauthorized, "Bad credentials", docsREST), false
}

// verifyJWT checks an App JWT as GitHub does and returns GitHub's message
// for what is wrong, or "".
func (s *Server) verifyJWT(tok string) string {
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.now), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	_, err := parser.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case err != nil:
		return "A JSON web token could not be decoded"
	}
	switch iss := claims["iss"].(type) {
	case string:
		if iss != strconv.FormatInt(s.cfg.AppID, 10) {
			return "Integration not found"
		}
	case float64:
		if int64(iss) != s.cfg.AppID {
			return "Integration not found"
		}
	default:
		return "'Issuer' claim ('iss') must be an Integer"
	}
	exp, _ := claims.GetExpirationTime()
	if exp.Time.After(s.now().Add(10 * time.Minute)) {
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	return ""
}

// Pagination.

// page cuts items to the page r asks for (per_page default 30, at most
// 100) and sets GitHub's Link header.
func page[T any](s *Server, r *http.Request, items []T) ([]T, http.Header) {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 30
	}
	per = min(per, 100)
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	last := max((len(items)+per-1)/per, 1)
	h := http.Header{}
	link := func(p int, rel string) string {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("page", strconv.Itoa(p))
		q2.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.APIBaseURL(), r.URL.Path, q2.Encode(), rel)
	}
	var links []string
	if n < last {
		links = append(links, link(n+1, "next"), link(last, "last"))
	}
	if n > 1 {
		links = append(links, link(1, "first"), link(n-1, "prev"))
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	lo := min((n-1)*per, len(items))
	hi := min(lo+per, len(items))
	return items[lo:hi], h
}
