package authn

import (
	"net/http"

	"greenroom/internal/greenroom"
)

// signInError is a failed sign-in: 401 with a message safe to show (no
// tokens, codes or secrets), the cause kept for logs and audit.
func signInError(msg string, cause error) error {
	return &greenroom.Error{Code: greenroom.CodeUnauthorized, Message: "Sign-in failed: " + msg + ".", Err: cause}
}

func unauthorized(msg string) error {
	return greenroom.Errorf(greenroom.CodeUnauthorized, "%s", msg)
}

// ErrorWriter renders an error response; the API transport supplies one
// that writes Backstage's error body.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)
