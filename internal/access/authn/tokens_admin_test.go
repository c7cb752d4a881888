package authn_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
)

// adminTokens is a harness whose permission layer is the real one: the
// role resolver enriches principals and the Cedar authorizer decides the
// admin action; admins lists who is bound platform_admin.
func adminTokens(t *testing.T, admins ...string) (*harness, *http.Client) {
	t.Helper()
	policy := access.Policy{Enabled: true, DefaultRole: access.RoleDeveloper}
	if len(admins) > 0 {
		policy.Bindings = []access.Binding{{Role: access.RolePlatformAdmin, Members: admins}}
	}
	authz, err := access.NewAuthorizer(policy, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, b := signedInOIDC(t, func(o *authn.Options) { o.Enricher = access.NewResolver(policy, loadCatalog(t)) })
	h.svc.SetAdminCheck(func(ctx context.Context) access.Decision {
		return authz.Check(ctx, access.ActionAdmin, access.Resource{Type: "admin"})
	})
	return h, b
}

// bobsToken stores a token of another user and returns its id and secret.
func bobsToken(t *testing.T, h *harness) (string, string) {
	t.Helper()
	now := time.Now()
	const secret = authn.TokenPrefix + "bobs-secret-token-0000000000000000000000"
	tok := authn.Token{ID: "bob-1", Kind: authn.TokenPersonal, Subject: "user:default/octocat", Name: "bob laptop", Hash: sha(secret),
		Scopes: []string{authn.ScopeRead}, CreatedBy: "user:default/octocat", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if err := h.store.CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return tok.ID, secret
}

func TestAdminTokensRefusedToNonAdmins(t *testing.T) {
	h, b := adminTokens(t) // jane is a developer
	id, secret := bobsToken(t, h)
	resp, body := h.get(b, "/api/auth/tokens?all=true")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only administrators") {
		t.Fatalf("non-admin list all: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.get(b, "/api/auth/tokens"); resp.StatusCode != http.StatusOK {
		t.Errorf("own list: %d", resp.StatusCode)
	}
	if resp, _ := h.do(b, http.MethodDelete, "/api/auth/tokens/"+id, nil, csrfHeader); resp.StatusCode != http.StatusNotFound {
		t.Errorf("non-admin revoking another's token: %d, want 404", resp.StatusCode)
	}
	if resp, _ := h.get(&http.Client{}, "/api/whoami"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous whoami: %d", resp.StatusCode)
	}
	resp, _ = h.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, bearer(secret))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("bob's token stopped working after a refused revoke: %d", resp.StatusCode)
	}
}

func TestAdminListsAndRevokesAnyonesToken(t *testing.T) {
	h, b := adminTokens(t, "user:default/jane.doe")
	id, secret := bobsToken(t, h)
	own := createToken(t, h, b, `{"name":"mine"}`)
	resp, body := h.get(b, "/api/auth/tokens?all=true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"id":"bob-1"`) || !strings.Contains(body, `"id":"`+own.ID+`"`) ||
		strings.Contains(body, sha(secret)) || strings.Contains(body, secret) {
		t.Fatalf("admin list all: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.get(b, "/api/auth/tokens"); resp.StatusCode != http.StatusOK {
		t.Fatalf("own list: %d", resp.StatusCode)
	}
	if resp, body := h.do(b, http.MethodDelete, "/api/auth/tokens/"+id, nil, csrfHeader); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("admin revoke: %d %s", resp.StatusCode, body)
	}
	resp, _ = h.do(&http.Client{}, http.MethodGet, "/api/whoami", nil, bearer(secret))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("revoked token still works: %d", resp.StatusCode)
	}
	evs := h.audit.find(authn.ActionTokenRevoke, access.DecisionNone)
	if len(evs) != 1 || evs[0].Actor != "user:default/jane.doe" || evs[0].Details["admin"] != "true" || evs[0].Details["created_by"] != "user:default/octocat" {
		t.Errorf("admin revoke audit: %+v", evs)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
