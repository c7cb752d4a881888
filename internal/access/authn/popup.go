package authn

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Backstage's popup sign-in. Its frontends open
// /api/auth/<provider>/start?env=…&origin=<app origin>&flow=popup in a
// popup window; the provider's callback (/handler/frame) answers with a
// small HTML page that posts
//
//	{type: 'authorization_response', response: {profile, providerInfo, backstageIdentity}}
//
// (or {type: 'authorization_response', error: {name, message}}) to
// window.opener and closes. The message's target origin is always the
// configured app origin (app.baseUrl), never '*': an origin parameter
// naming anything else is refused at /start. (Backstage also posts a
// config_info message to '*' so that its frontend can diagnose a wrong
// origin; that one is not sent.) The session cookie is set as in the
// redirect flow, so /refresh with X-Requested-With: XMLHttpRequest returns
// the same response afterwards.

// popupSuffix marks the state of a popup flow, so that the callback knows
// to answer with a web message even when the state is otherwise invalid.
// It says only how to answer: the message always goes to the app origin.
const popupSuffix = ".popup"

// appOrigin is the scheme://host of app.baseUrl.
func (s *Service) appOrigin() string {
	u, err := url.Parse(s.opts.AppURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// popupRequested reports whether a /start asks for the popup flow:
// flow=popup, or (older frontends) an origin without a redirect URL.
func popupRequested(q url.Values) bool {
	switch q.Get("flow") {
	case "popup":
		return true
	case "":
		return q.Get("origin") != "" && q.Get("redirectUrl") == "" && q.Get("returnTo") == ""
	}
	return false
}

// originAllowed reports whether a popup's origin parameter is the app's.
func (s *Service) originAllowed(origin string) bool {
	if origin == "" {
		return true // the app origin is assumed
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return false
	}
	return strings.EqualFold(u.Scheme+"://"+u.Host, s.appOrigin())
}

// clientResponse is Backstage's ClientAuthResponse in the parts Greenroom
// fills: the provider's tokens stay on the server (providerInfo is empty),
// and the identity is the signed-in catalog user.
type clientResponse = sessionResponse

// identityResponse builds the response for a signed-in user.
func (s *Service) identityResponse(ctx context.Context, userRef, email, displayName string) (clientResponse, error) {
	var out clientResponse
	out.Profile.Email, out.Profile.DisplayName = email, displayName
	out.BackstageIdentity.Identity.Type = "user"
	out.BackstageIdentity.Identity.UserEntityRef = userRef
	id, err := s.identity(ctx, userRef)
	if err != nil {
		return out, err
	}
	out.BackstageIdentity.Identity.OwnershipEntityRefs = id.OwnershipRefs
	if out.BackstageIdentity.Identity.OwnershipEntityRefs == nil {
		out.BackstageIdentity.Identity.OwnershipEntityRefs = []string{userRef}
	}
	return out, nil
}

// webMessage is what the popup posts to its opener.
type webMessage struct {
	Type     string          `json:"type"`
	Response *clientResponse `json:"response,omitempty"`
	Error    *messageError   `json:"error,omitempty"`
}

type messageError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// writeWebMessage answers the popup: a page whose only script, allowed by
// its hash in the Content-Security-Policy, posts msg to the app origin and
// closes the window.
func (s *Service) writeWebMessage(w http.ResponseWriter, msg webMessage) error {
	data, err := json.Marshal(msg) // escapes <, >, & and U+2028/9: safe in a script
	if err != nil {
		return fmt.Errorf("authn: web message: %w", err)
	}
	origin, err := json.Marshal(s.appOrigin())
	if err != nil {
		return fmt.Errorf("authn: web message: %w", err)
	}
	script := "(window.opener || window.parent).postMessage(" + string(data) + ", " + string(origin) + ");\n" +
		"setTimeout(function () { window.close(); }, 100);"
	sum := sha256.Sum256([]byte(script))
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "sameorigin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Signing in…</title></head><body><p>Signing in… this window closes by itself.</p><script>%s</script></body></html>\n", script)
	return nil
}

// popupError posts a failed sign-in to the opener.
func (s *Service) popupError(w http.ResponseWriter, name, message string) error {
	return s.writeWebMessage(w, webMessage{Type: "authorization_response", Error: &messageError{Name: name, Message: message}})
}
