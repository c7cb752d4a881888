package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/greenroom"
)

// SignIn is what the sign-in and settings pages need from sign-in.
type SignIn interface {
	Providers() []authn.ProviderInfo
	GuestMode() bool
	Tokens(ctx context.Context, p *access.Principal) ([]authn.Token, error)
	CreateToken(ctx context.Context, p *access.Principal, req authn.TokenRequest) (authn.NewToken, error)
	RevokeToken(ctx context.Context, p *access.Principal, id string) (authn.Token, error)
	AuditToken(r *http.Request, p *access.Principal, action string, t authn.Token)
}

// IdentifyFromPrincipal is the IdentifyFunc of a portal behind the
// sign-in middleware: the viewer is the request's Principal.
func IdentifyFromPrincipal(r *http.Request) (string, bool) {
	p := access.FromContext(r.Context())
	if p == nil || p.UserRef == "" || p.Kind == access.KindService {
		return "", false
	}
	return p.UserRef, true
}

// AuthPages serves the sign-in page, the profile and token settings and
// the CLI login page.
type AuthPages struct {
	h      *Handler
	signIn SignIn
}

// AuthPages returns the sign-in pages over s.
func (h *Handler) AuthPages(s SignIn) *AuthPages { return &AuthPages{h: h, signIn: s} }

// Routes registers the pages on mux.
func (a *AuthPages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /signin", a.h.handle(a.signInPage)) // authn.SignInPath
	mux.Handle("GET /settings", a.h.handle(a.settings))
	mux.Handle("POST /settings/tokens", a.h.handle(a.createToken))
	mux.Handle("POST /settings/tokens/{id}/revoke", a.h.handle(a.revokeToken))
	mux.Handle("GET /settings/cli-login", a.h.handle(a.cliLogin))
	mux.Handle("POST /settings/cli-login", a.h.handle(a.cliAuthorize))
}

type signInView struct {
	Providers []providerLink
	Error     string
	SignedOut bool
	GuestMode bool
}

type providerLink struct {
	Title, URL string
}

func (a *AuthPages) signInPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ret := q.Get("returnTo")
	v := signInView{Error: authn.SignInFailure(q.Get("error")), SignedOut: q.Get("signedOut") == "1", GuestMode: a.signIn.GuestMode()}
	for _, p := range a.signIn.Providers() {
		u := p.StartPath
		if ret != "" {
			u += "?returnTo=" + url.QueryEscape(ret) // checked by /start
		}
		v.Providers = append(v.Providers, providerLink{Title: p.Title, URL: u})
	}
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusUnauthorized
	}
	return a.h.render(w, r, status, "auth_signin", &page{Title: "Sign in", Data: v})
}

type settingsView struct {
	Principal *access.Principal
	Groups    []string
	Tokens    []tokenRow
	NewToken  *authn.NewToken
	Error     string
	Scopes    []string
	CanCreate control // may the viewer create tokens
}

type tokenRow struct {
	authn.Token
	State string // active, revoked, expired
}

func (a *AuthPages) principal(r *http.Request) (*access.Principal, error) {
	p := access.FromContext(r.Context())
	if p == nil || p.UserRef == "" {
		return nil, greenroom.Errorf(greenroom.CodeUnauthorized, "Sign in to see your settings.")
	}
	return p, nil
}

// formPrincipal reads a settings form posted by a signed-in user: the form
// parsed, its CSRF token checked, and the principal it acts for.
func (a *AuthPages) formPrincipal(r *http.Request) (*access.Principal, error) {
	if err := r.ParseForm(); err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "the form could not be read")
	}
	if err := checkCSRF(r); err != nil {
		return nil, err
	}
	return a.principal(r)
}

func (a *AuthPages) settings(w http.ResponseWriter, r *http.Request) error {
	return a.renderSettings(w, r, http.StatusOK, nil, "")
}

func (a *AuthPages) renderSettings(w http.ResponseWriter, r *http.Request, status int, nt *authn.NewToken, msg string) error {
	p, err := a.principal(r)
	if err != nil {
		return err
	}
	v := settingsView{Principal: p, NewToken: nt, Error: msg, Scopes: authn.Scopes,
		CanCreate: fromDecision(authn.CanCreateToken(p), "token-why", "create tokens")}
	for _, o := range p.OwnershipRefs {
		if strings.HasPrefix(o, "group:") {
			v.Groups = append(v.Groups, o)
		}
	}
	ts, err := a.signIn.Tokens(r.Context(), p)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range ts {
		row := tokenRow{Token: t, State: "active"}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !now.Before(t.ExpiresAt):
			row.State = "expired"
		}
		v.Tokens = append(v.Tokens, row)
	}
	return a.h.render(w, r, status, "auth_settings", &page{Title: "Settings", Nav: "settings", Data: v})
}

func (a *AuthPages) createToken(w http.ResponseWriter, r *http.Request) error {
	p, err := a.formPrincipal(r)
	if err != nil {
		return err
	}
	days, _ := strconv.Atoi(r.PostFormValue("days"))
	req := authn.TokenRequest{Name: r.PostFormValue("name"), Kind: authn.TokenKind(r.PostFormValue("kind")), Service: r.PostFormValue("service"),
		ExpiresIn: time.Duration(days) * 24 * time.Hour}
	if sc := r.PostFormValue("scope"); sc != "" && sc != "all" {
		req.Scopes = []string{sc}
	}
	nt, err := a.signIn.CreateToken(r.Context(), p, req)
	if greenroom.ErrorCode(err) == greenroom.CodeInvalid || greenroom.ErrorCode(err) == greenroom.CodeConflict {
		return a.renderSettings(w, r, http.StatusBadRequest, nil, greenroom.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	a.signIn.AuditToken(r, p, authn.ActionTokenCreate, nt.Token)
	return a.renderSettings(w, r, http.StatusCreated, &nt, "")
}

func (a *AuthPages) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p, err := a.formPrincipal(r)
	if err != nil {
		return err
	}
	t, err := a.signIn.RevokeToken(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	a.signIn.AuditToken(r, p, authn.ActionTokenRevoke, t)
	http.Redirect(w, r, "/settings#tokens", http.StatusSeeOther)
	return nil
}

// cliView is the CLI login page: the loopback port and state the CLI
// waits with, and after authorizing the token to hand over.
type cliView struct {
	Port     int
	State    string
	Token    string
	Callback string
	Error    string
}

// cliPort reads the CLI's loopback port; 0 when absent (paste flow).
func cliPort(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1024 && n <= 65535
}

func validCLIState(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (a *AuthPages) cliLogin(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.principal(r); err != nil {
		return err
	}
	port, ok := cliPort(r.URL.Query().Get("port"))
	state := r.URL.Query().Get("state")
	if !ok || !validCLIState(state) {
		return greenroom.Errorf(greenroom.CodeInvalid, "this CLI login link is malformed: run greenroom login again")
	}
	return a.h.render(w, r, http.StatusOK, "auth_cli", &page{Title: "Authorize the Greenroom CLI", Nav: "settings", Data: cliView{Port: port, State: state}})
}

// cliTokenLifetime is the lifetime of the token greenroom login gets.
const cliTokenLifetime = 30 * 24 * time.Hour

func (a *AuthPages) cliAuthorize(w http.ResponseWriter, r *http.Request) error {
	p, err := a.formPrincipal(r)
	if err != nil {
		return err
	}
	port, ok := cliPort(r.PostFormValue("port"))
	state := r.PostFormValue("state")
	if !ok || !validCLIState(state) {
		return greenroom.Errorf(greenroom.CodeInvalid, "this CLI login link is malformed: run greenroom login again")
	}
	nt, err := a.signIn.CreateToken(r.Context(), p, authn.TokenRequest{Name: "greenroom login " + time.Now().UTC().Format("2006-01-02 15:04"), ExpiresIn: cliTokenLifetime})
	if err != nil {
		return err
	}
	a.signIn.AuditToken(r, p, authn.ActionTokenCreate, nt.Token)
	v := cliView{Port: port, State: state, Token: nt.Secret}
	if port != 0 {
		// A link, not a redirect: the CSP's form-action 'self' rightly
		// forbids a form's redirect to another origin.
		v.Callback = "http://127.0.0.1:" + strconv.Itoa(port) + "/callback?" + url.Values{"state": {state}, "token": {nt.Secret}}.Encode()
	}
	return a.h.render(w, r, http.StatusOK, "auth_cli", &page{Title: "Authorize the Greenroom CLI", Nav: "settings", Data: v})
}
