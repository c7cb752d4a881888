package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"greenroom/internal/greenroom"
)

// contentSecurityPolicy allows only the portal's own scripts, styles and
// images (and data: images), no inline script or style, no plugins, no
// framing, and forms posting only to the portal.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// setSecurityHeaders sets the headers every portal response carries.
func setSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if r.TLS != nil {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// The double-submit CSRF token: a random value in a cookie that every form
// repeats in a hidden field. Another site can make the browser send the
// cookie but cannot read it to fill in the field. Sign-in will later bind
// the token to the session; until then this is the whole defence, with
// Go's cross-origin check (Sec-Fetch-Site / Origin) in front of it.
const (
	csrfCookie = "greenroom_csrf"
	csrfField  = "csrf"
	csrfBytes  = 32
)

var crossOrigin = http.NewCrossOriginProtection()

// csrfToken returns the request's token, setting a new cookie when it has
// none (or a malformed one).
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && validToken(c.Value) {
		return c.Value
	}
	b := make([]byte, csrfBytes)
	rand.Read(b) // never fails (crypto/rand)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: 60 * 60 * 24 * 30,
	})
	return tok
}

func validToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == csrfBytes
}

// checkCSRF verifies a form post: same origin, and the field equals the
// cookie. Call it after ParseForm.
func checkCSRF(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return greenroom.Errorf(greenroom.CodeForbidden, "This form was sent from another site and was refused.")
	}
	c, err := r.Cookie(csrfCookie)
	field := r.PostFormValue(csrfField)
	if err != nil || !validToken(c.Value) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(field)) != 1 {
		return greenroom.Errorf(greenroom.CodeForbidden, "The form's security token is missing or out of date. Reload the page and try again.")
	}
	return nil
}
