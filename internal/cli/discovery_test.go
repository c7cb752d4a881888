package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"greenroom/internal/integration/github/githubfake"
)

const discoveryComponent = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
spec:
  type: service
  lifecycle: production
  owner: team-a
`

// TestServeGitHubDiscovery runs serve with a GitHub provider over the fake
// GitHub: the scheduled scan finds a repository's catalog file, and a
// signed push webhook makes a new repository's entity queryable within
// 10 s (the target), measured from the delivery.
func TestServeGitHubDiscovery(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t, githubfake.Config{})
	fake.AddOrg("acme")
	fake.AddRepo("acme", githubfake.Repo{Name: "payments", Files: map[string]string{"catalog-info.yaml": fmt.Sprintf(discoveryComponent, "gh-payments")}})
	dir := t.TempDir()
	mono := filepath.Join(dir, "mono")
	if err := os.MkdirAll(filepath.Join(mono, "svc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mono, "svc", "catalog-info.yaml"), fmt.Appendf(nil, discoveryComponent, "mono-svc"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(`integrations:
  github:
    - host: github.com
      apiBaseUrl: %s
      token: %s
events:
  modules:
    github:
      webhookSecret: %s
greenroom:
  demo: false
catalog:
  providers:
    github:
      acme:
        organization: acme
        schedule:
          frequency: { minutes: 30 }
          timeout: { minutes: 1 }
    directory:
      mono:
        path: %s
        catalogPath: /**/catalog-info.yaml
`, fake.APIBaseURL(), githubfake.DefaultToken, fake.WebhookSecret(), mono))
	p := serve(t, dir, nil, "--config", cfg)
	waitEntities(t, p.base, "?filter=metadata.name=gh-payments", 1)

	// A new repository with a catalog file, announced by its push webhook.
	fake.AddRepo("acme", githubfake.Repo{Name: "ledger"})
	d := fake.PushFile("acme", "ledger", "main", "catalog-info.yaml", fmt.Sprintf(discoveryComponent, "gh-ledger"))
	sent := time.Now()
	res, err := d.Send(context.Background(), http.DefaultClient, p.base+"/api/events/http/github")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %d, want 202", res.StatusCode)
	}
	waitEntities(t, p.base, "?filter=metadata.name=gh-ledger", 1)
	t.Logf("push webhook to queryable entity through serve: %v", time.Since(sent).Round(time.Millisecond))

	// A replay of the same delivery is acknowledged and ignored; a forged
	// signature is refused.
	res, err = d.Send(context.Background(), http.DefaultClient, p.base+"/api/events/http/github")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("replayed delivery: %d, want 200", res.StatusCode)
	}
	req, err := d.Request(context.Background(), p.base+"/api/events/http/github")
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged signature: %d, want 401", res.StatusCode)
	}
	// Every provider kind reports its state on one route.
	waitEntities(t, p.base, "?filter=metadata.name=mono-svc", 1)
	var status struct {
		Items []struct {
			Name, Type, Target string
			LastSuccess        time.Time
			FilesFound         int
		} `json:"items"`
	}
	if code := getJSON(t, p.base+"/api/catalog/providers", &status); code != 200 || len(status.Items) != 2 {
		t.Fatalf("providers status: %d %+v", code, status)
	}
	if gh := status.Items[0]; gh.Type != "github" || gh.LastSuccess.IsZero() {
		t.Errorf("github provider state: %+v", gh)
	}
	if dp := status.Items[1]; dp.Type != "directory" || dp.Target != mono || dp.FilesFound != 1 || dp.LastSuccess.IsZero() {
		t.Errorf("directory provider state: %+v", dp)
	}
}
