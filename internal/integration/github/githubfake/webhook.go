package githubfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub's legacy X-Hub-Signature is HMAC-SHA1
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// hookID is the id of the fake's one webhook.
const hookID = 987654321

// Delivery is a webhook delivery as GitHub would POST it for a mutation.
type Delivery struct {
	Event string
	// ID is the X-GitHub-Delivery GUID.
	ID   string
	Body []byte
	// InstallationTarget is the org id the App hook fires for, 0 without.
	InstallationTarget int64
	secret             string
}

// Header returns the headers GitHub sends, signed with the server's
// webhook secret (both the SHA-256 and the legacy SHA-1 signature).
func (d Delivery) Header() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/7a9f3c1")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", fmt.Sprint(hookID))
	if d.InstallationTarget != 0 {
		h.Set("X-GitHub-Hook-Installation-Target-ID", fmt.Sprint(d.InstallationTarget))
		h.Set("X-GitHub-Hook-Installation-Target-Type", "organization")
	}
	mac := hmac.New(sha256.New, []byte(d.secret))
	mac.Write(d.Body)
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	mac1 := hmac.New(sha1.New, []byte(d.secret))
	mac1.Write(d.Body)
	h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac1.Sum(nil)))
	return h
}

// Request builds the signed POST of the delivery to url.
func (d Delivery) Request(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, fmt.Errorf("githubfake: delivery %s: %w", d.ID, err)
	}
	req.Header = d.Header()
	return req, nil
}

// Send POSTs the delivery to url with client (nil: http.DefaultClient);
// the caller closes the response body.
func (d Delivery) Send(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := d.Request(ctx, url)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return client.Do(req)
}

// deliver completes a payload with the fields every delivery carries
// (sender; organization and installation when it concerns an org) and
// signs it. The caller holds s.mu.
func (s *Server) deliver(event string, payload map[string]any, o *org) Delivery {
	payload["sender"] = s.userAccount(s.ensureUser(s.cfg.Actor))
	var target int64
	if o != nil {
		payload["organization"] = s.orgObject(o)
		if in := o.installation(s); in != nil {
			payload["installation"] = map[string]any{"id": in.id, "node_id": nodeID("Installation", in.id)}
			target = o.id
		}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		s.fatalf("marshal %s payload: %v", event, err)
	}
	return Delivery{Event: event, ID: uuid.NewString(), Body: body, InstallationTarget: target, secret: s.cfg.WebhookSecret}
}
