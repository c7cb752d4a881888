package authn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// SignInPath is the portal's sign-in page.
const SignInPath = "/signin"

// infraPath reports routes that never authenticate nor count against rate
// limits: probes, metrics, static assets and the GitHub webhook (which
// verifies its own signature).
func infraPath(p string) bool {
	switch p {
	case "/healthz", "/readyz", "/metrics", "/favicon.ico", "/robots.txt", "/api/events/http/github":
		return true
	}
	return strings.HasPrefix(p, "/static/")
}

// publicPath reports routes open without sign-in: the sign-in page and the
// sign-in flow itself.
func publicPath(p string) bool {
	if p == SignInPath {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/api/auth/")
	if !ok {
		return false
	}
	_, action, _ := strings.Cut(rest, "/")
	switch action {
	case "start", "handler/frame", "refresh", "logout":
		return true
	}
	return false
}

// isAPI reports machine routes, which answer 401 instead of redirecting.
func isAPI(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/api" || strings.HasPrefix(p, "/graphql") || strings.HasPrefix(p, "/ws")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

var crossOrigin = http.NewCrossOriginProtection()

// Middleware authenticates every request and enforces what sign-in
// decides:
//
//   - a bearer token (personal access, service or static externalAccess
//     token) or the session cookie identifies the caller, whose Principal
//     goes into the request context (access.NewContext); in local mode a
//     request without credentials is the guest;
//   - with a provider configured, a request without an identity gets 401
//     (API) or a redirect to the sign-in page (portal), except on the
//     sign-in routes, probes, metrics, static assets and the webhook;
//   - cookie-authenticated writes must carry the CSRF token;
//   - signed-in users and their teams are rate limited, and a client
//     address that keeps presenting bad tokens is refused for a while.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if infraPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		p, teams, viaCookie, err := s.authenticate(w, r)
		if errors.Is(err, errTooMany) {
			tooMany(w, r, "Too many failed authentication attempts from your address; retry later.")
			return
		}
		if err != nil {
			s.errs(w, r, err)
			return
		}
		if p == nil && s.GuestMode() && s.opts.Guest != nil {
			p = s.guestPrincipal()
		}
		if p == nil {
			if s.Enabled() && !publicPath(r.URL.Path) {
				s.requireSignIn(w, r)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if s.opts.Enricher != nil {
			if err := s.opts.Enricher.Enrich(r.Context(), p); err != nil {
				s.errs(w, r, err)
				return
			}
		}
		if p.Kind != access.KindGuest && !s.opts.RateLimit.Disabled {
			q := s.limits.request(r.Context(), p.UserRef, teams)
			q.setHeaders(w, s.now())
			if !q.ok {
				s.auditEvent(r, access.AuditEvent{Actor: p.UserRef, ActorKind: p.Kind, Action: ActionRateLimited, Resource: r.URL.Path,
					Decision: access.DecisionDeny, Reason: "request rate limit reached"})
				tooMany(w, r, fmt.Sprintf("Too many requests: the limit of %d requests per %s is reached; retry after %s.",
					q.limit, s.limits.o.Window, q.reset.UTC().Format("15:04:05 MST")))
				return
			}
		}
		if !safeMethod(r.Method) {
			// Browsers' cross-site writes are refused whatever the
			// credentials (also in local mode, where none are needed);
			// clients that send no Origin or Sec-Fetch-Site pass.
			if r.Header.Get("Authorization") == "" && crossOrigin.Check(r) != nil {
				s.auditEvent(r, access.AuditEvent{Actor: p.UserRef, ActorKind: p.Kind, Action: ActionCSRF, Resource: r.Method + " " + r.URL.Path,
					Decision: access.DecisionDeny, Reason: "cross-site request"})
				s.errs(w, r, greenroom.Errorf(greenroom.CodeForbidden, "This request was sent from another site and was refused."))
				return
			}
			if viaCookie {
				if err := checkCSRF(r); err != nil {
					s.auditEvent(r, access.AuditEvent{Actor: p.UserRef, ActorKind: p.Kind, Action: ActionCSRF, Resource: r.Method + " " + r.URL.Path,
						Decision: access.DecisionDeny, Reason: greenroom.ErrorMessage(err)})
					s.errs(w, r, err)
					return
				}
			}
			if len(p.Scopes) > 0 && !slices.Contains(p.Scopes, ScopeWrite) {
				s.errs(w, r, greenroom.Errorf(greenroom.CodeForbidden, "This token is read-only: its scopes (%s) do not include write.", strings.Join(p.Scopes, ", ")))
				return
			}
		}
		inner := r.WithContext(access.NewContext(r.Context(), p))
		next.ServeHTTP(w, inner)
		// The mux records the matched pattern on the request it was
		// handed; the access log reads it from the outer one.
		r.Pattern = inner.Pattern
	})
}

// authenticate finds the caller of r: a bearer token first, else the
// session cookie. viaCookie says the session authenticated it.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) (p *access.Principal, teams []string, viaCookie bool, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="greenroom"`)
			return nil, nil, false, unauthorized("The Authorization header must be Bearer <token>.")
		}
		ip := clientIP(r)
		if q := s.limits.blocked(r.Context(), ip); !q.ok {
			q.setHeaders(w, s.now())
			return nil, nil, false, errTooMany
		}
		p, teams, reason, err := s.bearer(r.Context(), tok)
		if err != nil {
			if greenroom.ErrorCode(err) == greenroom.CodeUnauthorized {
				s.limits.failed(r.Context(), ip)
				s.auditEvent(r, access.AuditEvent{Action: ActionTokenUse, Resource: r.Method + " " + r.URL.Path, Decision: access.DecisionDeny, Reason: reason})
				w.Header().Set("WWW-Authenticate", `Bearer realm="greenroom", error="invalid_token"`)
			}
			return nil, nil, false, err
		}
		if !safeMethod(r.Method) {
			// Reads would flood the audit log; every write with a token is kept.
			s.auditEvent(r, access.AuditEvent{Actor: p.UserRef, ActorKind: p.Kind, Action: ActionTokenUse, Resource: r.Method + " " + r.URL.Path,
				Decision: access.DecisionAllow, Details: map[string]string{"token_id": p.TokenID}})
		}
		return p, teams, false, nil
	}
	ss, err := s.session(w, r)
	if err != nil || ss == nil {
		return nil, nil, false, err
	}
	id, err := s.identity(r.Context(), ss.UserRef)
	if err != nil {
		return nil, nil, false, err
	}
	kind := access.KindUser
	if ss.Provider == "guest" {
		kind = access.KindGuest
		id.OwnershipRefs = s.guestOwnership()
	}
	p = &access.Principal{Kind: kind, UserRef: ss.UserRef, OwnershipRefs: id.OwnershipRefs, DisplayName: ss.DisplayName, Email: ss.Email}
	if p.DisplayName == "" {
		p.DisplayName = id.DisplayName
	}
	if p.Email == "" {
		p.Email = id.Email
	}
	return p, id.Teams, true, nil
}

func (s *Service) guestOwnership() []string {
	g := s.opts.Guest
	if g == nil {
		return []string{DefaultGuestUser}
	}
	if len(g.OwnershipEntityRefs) > 0 {
		return slices.Clone(g.OwnershipEntityRefs)
	}
	return []string{g.UserEntityRef}
}

func (s *Service) guestPrincipal() *access.Principal {
	return &access.Principal{Kind: access.KindGuest, UserRef: s.opts.Guest.UserEntityRef, OwnershipRefs: s.guestOwnership(), DisplayName: "Guest"}
}

func (s *Service) requireSignIn(w http.ResponseWriter, r *http.Request) {
	if isAPI(r.URL.Path) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="greenroom"`)
		s.errs(w, r, unauthorized("Authentication required: sign in, or send Authorization: Bearer <token>."))
		return
	}
	target := SignInPath
	if r.Method == http.MethodGet {
		target += "?returnTo=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// maxFormBytes bounds the form read to find the CSRF field.
const maxFormBytes = 10 << 20

// checkCSRF verifies a cookie-authenticated write: same origin (Go's
// Sec-Fetch-Site / Origin check) and the double-submit token, sent in the
// X-CSRF-Token header or the csrf form field, equal to the CSRF cookie.
func checkCSRF(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return greenroom.Errorf(greenroom.CodeForbidden, "This request was sent from another site and was refused.")
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil || c.Value == "" {
		return greenroom.Errorf(greenroom.CodeForbidden, "The security token (CSRF) is missing. Reload the page and try again.")
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		ct := r.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			if err := r.ParseForm(); err == nil {
				got = r.PostForm.Get(CSRFField)
			}
		case strings.HasPrefix(ct, "multipart/form-data"):
			if err := r.ParseMultipartForm(maxFormBytes); err == nil {
				got = r.PostFormValue(CSRFField)
			}
		}
	}
	if got == "" || !equalSecret(got, c.Value) {
		return greenroom.Errorf(greenroom.CodeForbidden, "The security token (CSRF) is missing or out of date. Reload the page and try again.")
	}
	return nil
}

// errTooMany is a refusal for too many failed attempts.
var errTooMany = errors.New("authn: too many failed attempts")

// tooMany answers 429 in Backstage's error body shape (the rate-limit
// headers are already set).
func tooMany(w http.ResponseWriter, r *http.Request, msg string) {
	var body struct {
		Error struct {
			Name      string `json:"name"`
			Message   string `json:"message"`
			RequestID string `json:"requestId,omitempty"`
		} `json:"error"`
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	}
	body.Error.Name, body.Error.Message, body.Error.RequestID = "TooManyRequestsError", msg, requestID(r)
	body.Request.Method, body.Request.URL = r.Method, r.URL.RequestURI()
	body.Response.StatusCode = http.StatusTooManyRequests
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(body) // status sent; a write error is a gone client
}

// plainErrors is the error writer when none is given: a JSON body in
// Backstage's shape.
func plainErrors(w http.ResponseWriter, r *http.Request, err error) {
	status := greenroom.HTTPStatus(err)
	var body struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
		Response struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	}
	body.Error.Name, body.Error.Message, body.Response.StatusCode = "Error", greenroom.ErrorMessage(err), status
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
