package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// Routes registers Backstage's sign-in routes, /api/auth/v1/userinfo and
// the token API on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/auth/{provider}/start", s.handle(s.start))
	mux.Handle("GET /api/auth/{provider}/handler/frame", s.handle(s.frame))
	mux.Handle("GET /api/auth/{provider}/refresh", s.handle(s.refreshSession))
	mux.Handle("POST /api/auth/{provider}/logout", s.handle(s.logout))
	mux.Handle("GET /api/auth/v1/userinfo", s.handle(s.userinfo))
	mux.Handle("GET /api/auth/tokens", s.handle(s.listTokens))
	mux.Handle("POST /api/auth/tokens", s.handle(s.createToken))
	mux.Handle("DELETE /api/auth/tokens/{id}", s.handle(s.revokeToken))
}

func (s *Service) handle(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := fn(w, r); err != nil {
			s.errs(w, r, err)
		}
	})
}

func (s *Service) provider(r *http.Request) (provider, error) {
	id := r.PathValue("provider")
	if p, ok := s.byID[id]; ok {
		return p, nil
	}
	if id == "guest" && s.GuestMode() && s.opts.Guest != nil {
		return guestProvider{}, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "Unknown auth provider '%s'", clip(id, 40))
}

// The sign-in failures the sign-in page explains; the failure redirect
// carries only the code, so no text of the request is reflected.
const (
	FailState    = "state"
	FailUsed     = "used"
	FailProvider = "provider"
	FailNoUser   = "nouser"
	FailRedirect = "redirect"
	FailLimited  = "limited"
	FailDenied   = "denied"
)

// SignInFailure returns the message for a failure code of the sign-in
// page, "" for an unknown code.
func SignInFailure(code string) string {
	switch code {
	case FailState:
		return "Sign-in failed: the answer from the sign-in provider does not belong to a sign-in started in this browser. Start again."
	case FailUsed:
		return "Sign-in failed: this sign-in link was already used or has expired. Start again."
	case FailProvider:
		return "Sign-in failed: the sign-in provider's answer could not be verified."
	case FailNoUser:
		return "Sign-in failed: no user in the catalog matches your account. Ask an administrator to add a User entity for you."
	case FailRedirect:
		return "Sign-in refused: the address to return to is not on this portal."
	case FailLimited:
		return "Too many failed sign-ins from your address. Wait a few minutes and try again."
	case FailDenied:
		return "Sign-in was cancelled or refused at the sign-in provider."
	}
	return ""
}

const maxReturnTo = 2000

// safeReturn checks a return URL: a path on this portal, or an absolute
// URL on app.baseUrl or backend.baseUrl (reduced to its path). Anything
// else — other hosts, scheme-relative //host, backslashes, control
// characters — is refused.
func (s *Service) safeReturn(raw string) (string, bool) {
	if raw == "" {
		return "/", true
	}
	if len(raw) > maxReturnTo || strings.ContainsAny(raw, "\\\x00\r\n\t") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return "", false
	}
	if u.Scheme != "" || u.Host != "" {
		same := false
		for _, b := range []string{s.opts.AppURL, s.opts.BaseURL} {
			if bu, err := url.Parse(b); err == nil && strings.EqualFold(bu.Scheme, u.Scheme) && strings.EqualFold(bu.Host, u.Host) {
				same = true
			}
		}
		if !same {
			return "", false
		}
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "", false
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, true
}

func (s *Service) failSignIn(w http.ResponseWriter, r *http.Request, prov, code string, cause error, popup bool) error {
	s.limits.failed(r.Context(), clientIP(r))
	reason := SignInFailure(code)
	if cause != nil {
		reason += " (" + clip(greenroom.ErrorMessage(cause), 200) + ")"
	}
	s.auditEvent(r, access.AuditEvent{Action: ActionSignIn, Resource: prov, Decision: access.DecisionDeny, Reason: reason})
	if cause != nil {
		s.logger.Info("sign-in failed", "provider", prov, "code", code, "request_id", requestID(r), "err", cause)
	}
	if popup {
		return s.popupError(w, "AuthenticationError", SignInFailure(code))
	}
	http.Redirect(w, r, SignInPath+"?error="+code, http.StatusSeeOther)
	return nil
}

// start begins sign-in: it records the flow (state, nonce, PKCE verifier,
// return URL) and sends the browser to the provider.
func (s *Service) start(w http.ResponseWriter, r *http.Request) error {
	p, err := s.provider(r)
	if err != nil {
		return err
	}
	q := s.limits.blocked(r.Context(), clientIP(r))
	if q.ok {
		q = s.limits.started(r.Context(), clientIP(r))
	}
	if !q.ok {
		q.setHeaders(w, s.now())
		s.auditEvent(r, access.AuditEvent{Action: ActionSignIn, Resource: p.id(), Decision: access.DecisionDeny, Reason: "too many sign-in attempts from this address"})
		tooMany(w, r, SignInFailure(FailLimited))
		return nil
	}
	if env := r.URL.Query().Get("env"); env != "" && s.opts.Environment != "" && env != s.opts.Environment {
		return greenroom.Errorf(greenroom.CodeNotFound, "No configuration available for the '%s' environment of this provider.", clip(env, 40))
	}
	popup := popupRequested(r.URL.Query())
	if origin := r.URL.Query().Get("origin"); popup && !s.originAllowed(origin) {
		s.auditEvent(r, access.AuditEvent{Action: ActionRedirect, Resource: p.id(), Decision: access.DecisionDeny,
			Reason: "popup origin is not the app origin: " + clip(origin, 200)})
		s.limits.failed(r.Context(), clientIP(r))
		return greenroom.Errorf(greenroom.CodeForbidden, "Origin '%s' is not allowed: sign-in answers only the app at %s.", clip(origin, 100), s.appOrigin())
	}
	raw := r.URL.Query().Get("returnTo")
	if raw == "" {
		raw = r.URL.Query().Get("redirectUrl") // Backstage's redirect flow
	}
	ret, ok := s.safeReturn(raw)
	if !ok {
		s.auditEvent(r, access.AuditEvent{Action: ActionRedirect, Resource: p.id(), Decision: access.DecisionDeny,
			Reason: "return URL not on this portal: " + clip(raw, 200)})
		s.limits.failed(r.Context(), clientIP(r))
		return greenroom.Errorf(greenroom.CodeInvalid, "%s", SignInFailure(FailRedirect))
	}
	if p.id() == "guest" {
		g := s.opts.Guest
		if err := s.startSession(w, r, "guest", g.UserEntityRef, Profile{Provider: "guest", DisplayName: "Guest"}, ""); err != nil {
			return err
		}
		s.auditEvent(r, access.AuditEvent{Actor: g.UserEntityRef, ActorKind: access.KindGuest, Action: ActionSignIn, Resource: "guest", Decision: access.DecisionAllow})
		if popup {
			return s.popupSignedIn(w, r, g.UserEntityRef, "", "Guest", s.guestOwnership())
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return nil
	}
	state, nonce, verifier := randomToken(32), randomToken(24), oauth2.GenerateVerifier()
	if popup {
		state += popupSuffix
	}
	target, err := p.authCodeURL(state, nonce, verifier, s.callbackURL(p))
	if err != nil {
		return err
	}
	if err := s.store.CreateFlow(r.Context(), Flow{StateHash: hashOf(state), Provider: p.id(), Nonce: nonce, Verifier: verifier,
		ReturnTo: ret, ExpiresAt: s.now().Add(flowTTL)}); err != nil {
		return err
	}
	// The state cookie binds the flow to this browser: a callback carrying
	// a state started elsewhere (login CSRF) does not match it.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/api/auth/" + p.id() + "/", HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL / time.Second)})
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// frame is the provider's callback: it checks the state against the
// cookie and the stored flow (once only), redeems the code with the PKCE
// verifier, verifies the ID token's nonce, resolves the catalog user and
// starts a session.
func (s *Service) frame(w http.ResponseWriter, r *http.Request) error {
	p, err := s.provider(r)
	if err != nil {
		return err
	}
	popup := strings.HasSuffix(r.URL.Query().Get("state"), popupSuffix)
	if q := s.limits.blocked(r.Context(), clientIP(r)); !q.ok {
		q.setHeaders(w, s.now())
		if popup {
			return s.popupError(w, "TooManyRequestsError", SignInFailure(FailLimited))
		}
		tooMany(w, r, SignInFailure(FailLimited))
		return nil
	}
	s.clearCookie(w, r, stateCookie, "/api/auth/"+p.id()+"/") // used at most once
	res, err := s.callback(r, p)
	var f *failure
	if errors.As(err, &f) {
		return s.failSignIn(w, r, p.id(), f.code, f.cause, popup)
	}
	if err != nil {
		return err
	}
	if err := s.startSession(w, r, p.id(), res.userRef, res.profile, res.token.RefreshToken); err != nil {
		return err
	}
	s.auditEvent(r, access.AuditEvent{Actor: res.userRef, ActorKind: access.KindUser, Action: ActionSignIn, Resource: p.id(), Decision: access.DecisionAllow,
		Details: map[string]string{"subject": res.profile.Subject}})
	if popup {
		return s.popupSignedIn(w, r, res.userRef, res.profile.Email, res.profile.DisplayName, nil)
	}
	http.Redirect(w, r, res.returnTo, http.StatusSeeOther)
	return nil
}

// popupSignedIn answers a popup sign-in that succeeded: the identity
// posted to the app, as /refresh returns it. ownership overrides the
// catalog's (the guest's configured refs); nil resolves it.
func (s *Service) popupSignedIn(w http.ResponseWriter, r *http.Request, userRef, email, displayName string, ownership []string) error {
	resp, err := s.identityResponse(r.Context(), userRef, email, displayName)
	if err != nil {
		return err
	}
	if ownership != nil {
		resp.BackstageIdentity.Identity.OwnershipEntityRefs = ownership
	}
	return s.writeWebMessage(w, webMessage{Type: "authorization_response", Response: &resp})
}

// failure is a refused sign-in: the code the sign-in page explains and
// the cause for the audit log.
type failure struct {
	code  string
	cause error
}

func (f *failure) Error() string {
	return "authn: sign-in refused (" + f.code + "): " + f.cause.Error()
}
func (f *failure) Unwrap() error { return f.cause }

type signedIn struct {
	userRef  string
	profile  Profile
	token    *oauth2.Token
	returnTo string
}

// callback checks a provider's answer and resolves the user; refusals
// are *failure, other errors are the server's.
func (s *Service) callback(r *http.Request, p provider) (signedIn, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return signedIn{}, &failure{FailDenied, fmt.Errorf("provider error %q", clip(e, 60))}
	}
	state := q.Get("state")
	c, cerr := r.Cookie(stateCookie)
	if state == "" || len(state) > 100 || cerr != nil || !equalSecret(c.Value, state) {
		return signedIn{}, &failure{FailState, errors.New("state missing or not matching the browser's state cookie")}
	}
	flow, err := s.store.TakeFlow(r.Context(), hashOf(state))
	switch {
	case greenroom.IsNotFound(err):
		return signedIn{}, &failure{FailUsed, errors.New("state unknown or already used")}
	case err != nil:
		return signedIn{}, err
	case flow.Provider != p.id() || !s.now().Before(flow.ExpiresAt):
		return signedIn{}, &failure{FailUsed, errors.New("flow expired or of another provider")}
	}
	code := q.Get("code")
	if code == "" || len(code) > 2000 {
		return signedIn{}, &failure{FailProvider, errors.New("no authorization code")}
	}
	prof, tok, err := p.exchange(r.Context(), code, flow.Verifier, flow.Nonce, s.callbackURL(p))
	if err != nil {
		if greenroom.ErrorCode(err) == greenroom.CodeUnavailable {
			return signedIn{}, err
		}
		return signedIn{}, &failure{FailProvider, err}
	}
	userRef, err := resolveUser(r.Context(), s.catalog, prof, p.resolvers())
	if greenroom.ErrorCode(err) == greenroom.CodeForbidden {
		return signedIn{}, &failure{FailNoUser, fmt.Errorf("%s user %q <%s>: %w", p.id(), prof.Username, prof.Email, err)}
	}
	if err != nil {
		return signedIn{}, err
	}
	return signedIn{userRef: userRef, profile: prof, token: tok, returnTo: flow.ReturnTo}, nil
}

// sessionResponse is Backstage's refresh response, in the parts a client
// reads.
type sessionResponse struct {
	Profile struct {
		Email       string `json:"email,omitempty"`
		DisplayName string `json:"displayName,omitempty"`
	} `json:"profile"`
	ProviderInfo      struct{} `json:"providerInfo"`
	BackstageIdentity struct {
		Identity struct {
			Type                string   `json:"type"`
			UserEntityRef       string   `json:"userEntityRef"`
			OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
		} `json:"identity"`
	} `json:"backstageIdentity"`
}

// refreshSession is GET /api/auth/<provider>/refresh: it renews an OIDC
// session with the provider's refresh token (ending it when the provider
// refuses or the user no longer resolves) and returns the identity.
func (s *Service) refreshSession(w http.ResponseWriter, r *http.Request) error {
	p, err := s.provider(r)
	if err != nil {
		return err
	}
	if r.Header.Get("X-Requested-With") != "XMLHttpRequest" {
		return unauthorized("Invalid X-Requested-With header")
	}
	ss, err := s.session(w, r)
	if err != nil {
		return err
	}
	if ss == nil || ss.Provider != p.id() {
		return unauthorized("Refresh failed: no session for provider " + p.id())
	}
	if ss.RefreshToken != "" {
		var prof Profile
		var tok *oauth2.Token
		rt, err := s.seal.open(ss.RefreshToken)
		if err == nil {
			prof, tok, err = p.refresh(r.Context(), rt)
		}
		if err == nil {
			var ref string
			ref, err = resolveUser(r.Context(), s.catalog, prof, p.resolvers())
			if err == nil && ref != ss.UserRef {
				err = signInError("the account now resolves to another user", fmt.Errorf("refresh resolved %s, session is %s", ref, ss.UserRef))
			}
			if err == nil {
				old := ss.IDHash
				ss.RefreshToken, ss.DisplayName, ss.Email = s.seal.seal(tok.RefreshToken), prof.DisplayName, prof.Email
				err = s.store.UpdateSession(r.Context(), old, *ss)
			}
		}
		if greenroom.ErrorCode(err) == greenroom.CodeUnavailable {
			return err
		}
		if err != nil && !errors.Is(err, errNoRefresh) {
			if derr := s.store.DeleteSession(r.Context(), ss.IDHash); derr != nil {
				return derr
			}
			s.clearCookie(w, r, SessionCookie, "/")
			s.auditEvent(r, access.AuditEvent{Actor: ss.UserRef, ActorKind: access.KindUser, Action: ActionRefresh, Resource: p.id(),
				Decision: access.DecisionDeny, Reason: clip(greenroom.ErrorMessage(err), 200)})
			if greenroom.ErrorCode(err) == greenroom.CodeUnauthorized {
				return err
			}
			return unauthorized("Refresh failed: sign in again.")
		}
	}
	out, err := s.identityResponse(r.Context(), ss.UserRef, ss.Email, ss.DisplayName)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// logout ends the browser's session; with everywhere=true (query or form)
// every session of the user. Forms are sent back to the sign-in page.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) error {
	// "session" ends whichever provider's session the browser has.
	if r.PathValue("provider") != "session" {
		if _, err := s.provider(r); err != nil {
			return err
		}
	}
	ss, err := s.session(w, r)
	if err != nil {
		return err
	}
	everywhere := r.URL.Query().Get("everywhere") == "true" || r.PostFormValue("everywhere") == "true"
	if ss != nil {
		action := ActionSignOut
		if everywhere {
			action = ActionSignOutAll
			n, err := s.store.DeleteUserSessions(r.Context(), ss.UserRef)
			if err != nil {
				return err
			}
			s.auditEvent(r, access.AuditEvent{Actor: ss.UserRef, ActorKind: access.KindUser, Action: action, Resource: ss.Provider,
				Decision: access.DecisionNone, Details: map[string]string{"sessions": fmt.Sprint(n)}})
		} else {
			if err := s.store.DeleteSession(r.Context(), ss.IDHash); err != nil {
				return err
			}
			s.auditEvent(r, access.AuditEvent{Actor: ss.UserRef, ActorKind: access.KindUser, Action: action, Resource: ss.Provider, Decision: access.DecisionNone})
		}
	}
	s.clearCookie(w, r, SessionCookie, "/")
	if r.Header.Get("X-Requested-With") == "XMLHttpRequest" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		return writeJSON(w, http.StatusOK, struct{}{})
	}
	http.Redirect(w, r, SignInPath+"?signedOut=1", http.StatusSeeOther)
	return nil
}

// userinfo is Backstage's GET /api/auth/v1/userinfo.
func (s *Service) userinfo(w http.ResponseWriter, r *http.Request) error {
	p := access.FromContext(r.Context())
	if p == nil {
		return unauthorized("Authentication required")
	}
	var out struct {
		Claims struct {
			Sub string   `json:"sub"`
			Ent []string `json:"ent"`
		} `json:"claims"`
	}
	out.Claims.Sub, out.Claims.Ent = p.UserRef, p.OwnershipRefs
	if out.Claims.Ent == nil {
		out.Claims.Ent = []string{}
	}
	return writeJSON(w, http.StatusOK, out)
}

// TokenView is a token in API responses: never its hash.
type TokenView struct {
	ID         string     `json:"id"`
	Kind       TokenKind  `json:"kind"`
	Subject    string     `json:"subject"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	// Token is the secret, only in the response that created it.
	Token string `json:"token,omitempty"`
}

// View returns t as the API shows it.
func (t Token) View() TokenView {
	v := TokenView{ID: t.ID, Kind: t.Kind, Subject: t.Subject, Name: t.Name, Scopes: t.Scopes, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if !t.LastUsedAt.IsZero() {
		lu := t.LastUsedAt
		v.LastUsedAt = &lu
	}
	if !t.RevokedAt.IsZero() {
		ra := t.RevokedAt
		v.RevokedAt = &ra
	}
	return v
}

// listTokens is GET /api/auth/tokens: the caller's tokens, or with
// all=true every token (administrators only).
func (s *Service) listTokens(w http.ResponseWriter, r *http.Request) error {
	var ts []Token
	var err error
	if r.URL.Query().Get("all") == "true" {
		ts, err = s.AllTokens(r.Context())
	} else {
		ts, err = s.Tokens(r.Context(), access.FromContext(r.Context()))
	}
	if err != nil {
		return err
	}
	out := struct {
		Items []TokenView `json:"items"`
	}{Items: make([]TokenView, len(ts))}
	for i, t := range ts {
		out.Items[i] = t.View()
	}
	return writeJSON(w, http.StatusOK, out)
}

// maxTokenBody bounds POST /api/auth/tokens.
const maxTokenBody = 16 << 10

func (s *Service) createToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name          string    `json:"name"`
		Kind          TokenKind `json:"kind"`
		Service       string    `json:"service"`
		Scopes        []string  `json:"scopes"`
		ExpiresInDays int       `json:"expiresInDays"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxTokenBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "request body must be JSON {name, kind, service, scopes, expiresInDays}: %v", err)
	}
	if body.ExpiresInDays < 0 || body.ExpiresInDays > int(MaxTokenLifetime/(24*time.Hour)) {
		return greenroom.Errorf(greenroom.CodeInvalid, "expiresInDays must be between 1 and %d", int(MaxTokenLifetime/(24*time.Hour)))
	}
	p := access.FromContext(r.Context())
	nt, err := s.CreateToken(r.Context(), p, TokenRequest{Name: body.Name, Kind: body.Kind, Service: body.Service, Scopes: body.Scopes,
		ExpiresIn: time.Duration(body.ExpiresInDays) * 24 * time.Hour})
	if err != nil {
		return err
	}
	s.AuditToken(r, p, ActionTokenCreate, nt.Token)
	v := nt.View()
	v.Token = nt.Secret
	return writeJSON(w, http.StatusCreated, v)
}

func (s *Service) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p := access.FromContext(r.Context())
	t, err := s.RevokeToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.AuditToken(r, p, ActionTokenRevoke, t)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AuditToken records a token's creation or revocation by p.
func (s *Service) AuditToken(r *http.Request, p *access.Principal, action string, t Token) {
	ev := access.AuditEvent{Action: action, Resource: "token:" + t.ID, Decision: access.DecisionNone,
		Details: map[string]string{"kind": string(t.Kind), "subject": t.Subject, "name": t.Name, "created_by": t.CreatedBy}}
	if p != nil {
		ev.Actor, ev.ActorKind = p.UserRef, p.Kind
		if p.UserRef != t.CreatedBy && p.UserRef != t.Subject {
			ev.Details["admin"] = "true" // an administrator acting on someone else's token
		}
	}
	s.auditEvent(r, ev)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // status sent; a write error is a gone client
	return nil
}

// clip shortens s for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// guestProvider is guest sign-in beside real providers: /start signs in
// as the configured guest user at once.
type guestProvider struct{}

func (guestProvider) id() string            { return "guest" }
func (guestProvider) title() string         { return "Guest" }
func (guestProvider) resolvers() []Resolver { return nil }
func (guestProvider) authCodeURL(string, string, string, string) (string, error) {
	return "", errors.New("authn: guest has no authorization URL")
}
func (guestProvider) exchange(_ context.Context, _, _, _, _ string) (Profile, *oauth2.Token, error) {
	return Profile{}, nil, errors.New("authn: guest has no code exchange")
}
func (guestProvider) refresh(context.Context, string) (Profile, *oauth2.Token, error) {
	return Profile{}, nil, errNoRefresh
}
