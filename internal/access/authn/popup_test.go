package authn_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
)

var postMessage = regexp.MustCompile(`(?s)<script>(\(window\.opener \|\| window\.parent\)\.postMessage\((\{.*\}), ("[^"]*")\);.*?)</script>`)

type popupMessage struct {
	Type     string          `json:"type"`
	Response json.RawMessage `json:"response"`
	Error    *struct {
		Name, Message string
	} `json:"error"`
}

// popupPage checks the frame's answer is a web message page whose one
// script is allowed by its hash and posts to origin only, and decodes it.
func popupPage(t *testing.T, resp *http.Response, body, origin string) popupMessage {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("frame: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	m := postMessage.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no postMessage script in %s", body)
	}
	sum := sha256.Sum256([]byte(m[1]))
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("CSP %q does not allow exactly the page's script", csp)
	}
	var target string
	if err := json.Unmarshal([]byte(m[3]), &target); err != nil || target != origin {
		t.Errorf("message target origin %s, want %q", m[3], origin)
	}
	if strings.Contains(body, `'*'`) || strings.Contains(body, `"*"`) {
		t.Error("the page posts to '*'")
	}
	var msg popupMessage
	if err := json.Unmarshal([]byte(m[2]), &msg); err != nil {
		t.Fatalf("message %s: %v", m[2], err)
	}
	if msg.Type != "authorization_response" {
		t.Errorf("message type %q", msg.Type)
	}
	return msg
}

func TestPopupSignInPostsToTheAppOrigin(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	origin := h.srv.URL
	b := h.browser()
	resp, body := h.get(b, "/api/auth/oidc/start?env=development&flow=popup&origin="+url.QueryEscape(origin))
	msg := popupPage(t, resp, body, origin)
	if msg.Error != nil {
		t.Fatalf("popup sign-in failed: %+v", msg.Error)
	}
	var got struct {
		Profile struct {
			Email string `json:"email"`
		} `json:"profile"`
		ProviderInfo      map[string]any `json:"providerInfo"`
		BackstageIdentity struct {
			Identity struct {
				Type                string   `json:"type"`
				UserEntityRef       string   `json:"userEntityRef"`
				OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
			} `json:"identity"`
		} `json:"backstageIdentity"`
	}
	if err := json.Unmarshal(msg.Response, &got); err != nil {
		t.Fatal(err)
	}
	id := got.BackstageIdentity.Identity
	if id.Type != "user" || id.UserEntityRef != "user:default/jane.doe" || !strings.Contains(strings.Join(id.OwnershipEntityRefs, ","), "group:default/team-a") ||
		got.ProviderInfo == nil {
		t.Errorf("response %s", msg.Response)
	}
	// The popup shares the app's cookies: the session is there, and
	// /refresh returns the same response.
	if p, _ := h.principal(b); p == nil || p.UserRef != "user:default/jane.doe" {
		t.Fatalf("no session after the popup: %+v", p)
	}
	resp, refreshed := h.do(b, http.MethodGet, "/api/auth/oidc/refresh", nil, map[string]string{"X-Requested-With": "XMLHttpRequest"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, refreshed)
	}
	var a, r2 any
	_ = json.Unmarshal(msg.Response, &a)
	_ = json.Unmarshal([]byte(refreshed), &r2)
	ab, _ := json.Marshal(a)
	rb, _ := json.Marshal(r2)
	if string(ab) != string(rb) {
		t.Errorf("refresh response differs from the popup's:\n%s\n%s", ab, rb)
	}
	if len(h.audit.find(authn.ActionSignIn, access.DecisionAllow)) != 1 {
		t.Error("popup sign-in not audited")
	}
}

func TestPopupRefusesOtherOrigins(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	for _, origin := range []string{"https://evil.example", h.srv.URL + ".evil.example", "null", strings.Replace(h.srv.URL, "http:", "https:", 1)} {
		resp, body := h.do(noRedirect(nil), http.MethodGet, "/api/auth/oidc/start?env=development&flow=popup&origin="+url.QueryEscape(origin), nil, nil)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" || !strings.Contains(body, "is not allowed") {
			t.Errorf("origin %q: %d %s", origin, resp.StatusCode, body)
		}
	}
	if got := len(h.audit.find(authn.ActionRedirect, access.DecisionDeny)); got != 4 {
		t.Errorf("%d refusals audited, want 4", got)
	}
}

// A popup callback that fails (here: a state not started in this browser)
// posts the error to the app origin, never a session.
func TestPopupFailurePostsError(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	resp, body := h.get(h.browser(), "/api/auth/oidc/handler/frame?code=x&state=forged"+".popup")
	msg := popupPage(t, resp, body, h.srv.URL)
	if msg.Error == nil || msg.Error.Name != "AuthenticationError" || !strings.Contains(msg.Error.Message, "does not belong to a sign-in started in this browser") || msg.Response != nil {
		t.Errorf("error message %+v %s", msg.Error, msg.Response)
	}
	if len(h.audit.find(authn.ActionSignIn, access.DecisionDeny)) != 1 {
		t.Error("failed popup sign-in not audited")
	}
}

// The redirect flow is unchanged by the popup's: without flow=popup the
// callback redirects.
func TestRedirectFlowStillRedirects(t *testing.T) {
	m := startOIDC(t)
	h := oidcHarness(t, m)
	b := h.browser()
	resp, _ := h.get(b, "/api/auth/oidc/start?env=development&flow=redirect&redirectUrl="+url.QueryEscape(h.srv.URL+"/catalog"))
	if resp.Request.URL.Path != "/catalog" {
		t.Errorf("redirect flow ended at %s", resp.Request.URL)
	}
}

func TestPopupSignInGitHub(t *testing.T) {
	g := startGitHub(t, "octocat")
	h := githubHarness(t, g, ghSecret)
	b := h.browser()
	// Backstage's older frontends send the origin without flow.
	resp, body := h.get(b, "/api/auth/github/start?env=development&origin="+url.QueryEscape(h.srv.URL))
	msg := popupPage(t, resp, body, h.srv.URL)
	if msg.Error != nil || !strings.Contains(string(msg.Response), `"userEntityRef":"user:default/octocat"`) {
		t.Fatalf("github popup: %+v %s", msg.Error, msg.Response)
	}
	if p, _ := h.principal(b); p == nil || p.UserRef != "user:default/octocat" {
		t.Errorf("no session after the GitHub popup: %+v", p)
	}
}

// Guest sign-in in local mode answers the popup at once, from /start.
func TestPopupGuest(t *testing.T) {
	h := newHarness(t, nil, func(o *authn.Options) {
		o.Guest = &authn.GuestOptions{OwnershipEntityRefs: []string{"group:default/team-a"}}
	})
	b := h.browser()
	resp, body := h.get(b, "/api/auth/guest/start?env=development&flow=popup&origin="+url.QueryEscape(h.srv.URL))
	msg := popupPage(t, resp, body, h.srv.URL)
	if msg.Error != nil || !strings.Contains(string(msg.Response), `"userEntityRef":"user:development/guest"`) ||
		!strings.Contains(string(msg.Response), `"ownershipEntityRefs":["group:default/team-a"]`) {
		t.Errorf("guest popup: %+v %s", msg.Error, msg.Response)
	}
}
