package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"greenroom/internal/greenroom"
)

// The headers of a webhook delivery.
const (
	HeaderEvent        = "X-GitHub-Event"
	HeaderDelivery     = "X-GitHub-Delivery"
	HeaderSignature256 = "X-Hub-Signature-256"
	HeaderHookID       = "X-GitHub-Hook-ID"
)

// MaxWebhookBytes is GitHub's cap on a delivery's payload (25 MB); larger
// ones are never sent, so a larger body is not GitHub's.
const MaxWebhookBytes = 25 << 20

// Signature errors. Each is wrapped in a *greenroom.Error with code
// unauthorized.
var (
	ErrNoSignature  = errors.New("no X-Hub-Signature-256 header")
	ErrBadSignature = errors.New("signature does not match")
)

// VerifySignature checks a delivery's X-Hub-Signature-256 header
// ("sha256=" and the hex HMAC-SHA256 of body keyed with secret) in constant
// time. A missing, malformed or wrong signature is an unauthorized error; an
// empty secret is an invalid one, since nothing could be verified.
func VerifySignature(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return greenroom.Errorf(greenroom.CodeInvalid, "github webhook: no webhook secret configured")
	}
	if header == "" {
		return &greenroom.Error{Code: greenroom.CodeUnauthorized, Message: "github webhook: " + ErrNoSignature.Error(), Err: ErrNoSignature}
	}
	algo, digest, ok := strings.Cut(header, "=")
	if !ok || algo != "sha256" {
		return greenroom.Errorf(greenroom.CodeUnauthorized, "github webhook: signature %q: want the form sha256=<hex>", clip(header, 16))
	}
	got, err := hex.DecodeString(digest)
	if err != nil || len(got) != sha256.Size {
		return greenroom.Errorf(greenroom.CodeUnauthorized, "github webhook: signature: want %d hex digits after sha256=", 2*sha256.Size)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return &greenroom.Error{Code: greenroom.CodeUnauthorized, Message: "github webhook: " + ErrBadSignature.Error(), Err: ErrBadSignature}
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value for body, as GitHub computes it.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Delivery is one verified webhook delivery.
type Delivery struct {
	// Event is the X-GitHub-Event header, e.g. "push".
	Event string
	// ID is the X-GitHub-Delivery GUID, the same on redeliveries: the key
	// to de-duplicate with.
	ID     string
	HookID string
	Body   []byte
}

// ReadDelivery reads and verifies a webhook request: body at most maxBytes
// (≤ 0 means MaxWebhookBytes), signature checked with secret before anything
// else is trusted, event and delivery headers present. Errors are
// unauthorized (signature), too_large, or invalid (headers).
func ReadDelivery(r *http.Request, secret []byte, maxBytes int64) (Delivery, error) {
	if maxBytes <= 0 {
		maxBytes = MaxWebhookBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return Delivery{}, greenroom.Errorf(greenroom.CodeInvalid, "github webhook: read body: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return Delivery{}, greenroom.Errorf(greenroom.CodeTooLarge, "github webhook: body larger than %d bytes", maxBytes)
	}
	if err := VerifySignature(secret, body, r.Header.Get(HeaderSignature256)); err != nil {
		return Delivery{}, err
	}
	d := Delivery{Event: r.Header.Get(HeaderEvent), ID: r.Header.Get(HeaderDelivery), HookID: r.Header.Get(HeaderHookID), Body: body}
	var missing []string
	if d.Event == "" {
		missing = append(missing, HeaderEvent)
	}
	if d.ID == "" {
		missing = append(missing, HeaderDelivery)
	}
	if len(missing) > 0 {
		return Delivery{}, greenroom.Errorf(greenroom.CodeInvalid, "github webhook: missing header %s", strings.Join(missing, ", "))
	}
	if len(d.Event) > 64 || len(d.ID) > 128 {
		return Delivery{}, greenroom.Errorf(greenroom.CodeInvalid, "github webhook: event or delivery header too long")
	}
	return d, nil
}

// Payload decodes the delivery's body by its event; see ParsePayload.
func (d Delivery) Payload() (any, error) {
	p, err := ParsePayload(d.Event, d.Body)
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	return p, nil
}
