package githubfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// get sends a GET as a client of the fake would and returns status,
// headers and body.
func get(t *testing.T, s *Server, path, token string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.APIBaseURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRESTShapes(t *testing.T) {
	s := New(t, Config{})
	s.AddOrg("acme")
	for i := range 65 {
		s.AddRepo("acme", Repo{Name: fmt.Sprintf("r%02d", i), Visibility: map[bool]string{true: "public", false: "private"}[i < 5], Files: map[string]string{"a.txt": "a"}})
	}

	status, h, body := get(t, s, "/orgs/acme/repos?type=all", DefaultToken, nil)
	var repos []map[string]any
	if err := json.Unmarshal([]byte(body), &repos); err != nil || status != 200 {
		t.Fatalf("status %d, %v", status, err)
	}
	if len(repos) != 30 {
		t.Errorf("default page size gave %d, want GitHub's 30", len(repos))
	}
	wantLink := fmt.Sprintf(`<%s/orgs/acme/repos?page=2&per_page=30&type=all>; rel="next", <%s/orgs/acme/repos?page=3&per_page=30&type=all>; rel="last"`, s.APIBaseURL(), s.APIBaseURL())
	if h.Get("Link") != wantLink {
		t.Errorf("Link = %s\nwant   %s", h.Get("Link"), wantLink)
	}
	for _, k := range []string{"id", "node_id", "full_name", "default_branch", "archived", "fork", "visibility", "topics", "html_url", "pushed_at", "owner"} {
		if _, ok := repos[0][k]; !ok {
			t.Errorf("repository lacks %q", k)
		}
	}
	if h.Get("X-RateLimit-Limit") != "5000" || h.Get("X-RateLimit-Remaining") != "4999" || h.Get("X-RateLimit-Used") != "1" || h.Get("X-RateLimit-Resource") != "core" {
		t.Errorf("rate headers: %v", h)
	}

	etag := h.Get("ETag")
	status, h, body = get(t, s, "/orgs/acme/repos?type=all", DefaultToken, map[string]string{"If-None-Match": etag})
	if status != http.StatusNotModified || body != "" || h.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("conditional request: status %d, remaining %s, body %q", status, h.Get("X-RateLimit-Remaining"), body)
	}

	status, _, body = get(t, s, "/repos/acme/nope", DefaultToken, nil)
	var nf map[string]string
	_ = json.Unmarshal([]byte(body), &nf)
	if status != 404 || nf["message"] != "Not Found" || !strings.HasPrefix(nf["documentation_url"], "https://docs.github.com/") {
		t.Errorf("404 body = %s", body)
	}

	// Anonymous callers see public repositories only, with 60 requests an hour.
	status, h, body = get(t, s, "/orgs/acme/repos?per_page=100", "", nil)
	_ = json.Unmarshal([]byte(body), &repos)
	if status != 200 || len(repos) != 5 || h.Get("X-RateLimit-Limit") != "60" {
		t.Errorf("anonymous: status %d, %d repos, limit %s", status, len(repos), h.Get("X-RateLimit-Limit"))
	}
	if status, _, _ := get(t, s, "/repos/acme/r10", "", nil); status != 404 {
		t.Errorf("anonymous read of a private repository: %d, want 404", status)
	}
	if status, _, _ := get(t, s, "/repos/acme/r10", "ghp_unknown", nil); status != 401 {
		t.Errorf("unknown token: %d, want 401", status)
	}
}

func TestLimitsAndFaults(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s := New(t, Config{Now: func() time.Time { return now }, CoreLimit: 2})
	s.AddOrg("acme")
	s.AddRepo("acme", Repo{Name: "r"})
	for range 2 {
		if status, _, _ := get(t, s, "/repos/acme/r", DefaultToken, nil); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	status, h, body := get(t, s, "/repos/acme/r", DefaultToken, nil)
	if status != 403 || h.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(body, "API rate limit exceeded for user ID 1") {
		t.Errorf("exhausted: %d %s %s", status, h.Get("X-RateLimit-Remaining"), body)
	}
	if h.Get("X-RateLimit-Reset") != fmt.Sprint(now.Add(time.Hour).Unix()) {
		t.Errorf("reset = %s", h.Get("X-RateLimit-Reset"))
	}
	now = now.Add(time.Hour)
	if status, _, _ := get(t, s, "/repos/acme/r", DefaultToken, nil); status != 200 {
		t.Errorf("after the reset: %d", status)
	}

	s.SecondaryLimitNext(1, 429, 30*time.Second)
	status, h, body = get(t, s, "/repos/acme/r", DefaultToken, nil)
	if status != 429 || h.Get("Retry-After") != "30" || !strings.Contains(body, "secondary rate limit") {
		t.Errorf("secondary: %d %v %s", status, h.Get("Retry-After"), body)
	}
	s.FailNext(1, 502)
	if status, _, _ := get(t, s, "/repos/acme/r", DefaultToken, nil); status != 502 {
		t.Errorf("fault: %d", status)
	}
}

func TestGraphQLFaithfulness(t *testing.T) {
	s := New(t, Config{})
	s.AddOrg("acme")
	s.AddRepo("acme", Repo{Name: "r", Files: map[string]string{"catalog-info.yaml": "kind: Component\n"}})
	post := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.GraphQLURL(), strings.NewReader(body))
		req.Header.Set("Authorization", "bearer "+DefaultToken)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	q := func(fields string, first int) string {
		b, _ := json.Marshal(map[string]any{
			"query":     "query repositories($org: String!, $catalogPathRef: String!, $cursor: String, $repositoriesPageSize: Int!) { repositoryOwner(login: $org) { repositories(first: $repositoriesPageSize, after: $cursor) { nodes { " + fields + " } pageInfo { hasNextPage endCursor } } } }",
			"variables": map[string]any{"org": "acme", "catalogPathRef": "HEAD:catalog-info.yaml", "repositoriesPageSize": first},
		})
		return string(b)
	}
	_, out := post(q("name catalogInfoFile: object(expression: $catalogPathRef) { ... on Blob { text } }", 10))
	nodes := out["data"].(map[string]any)["repositoryOwner"].(map[string]any)["repositories"].(map[string]any)["nodes"].([]any)
	node := nodes[0].(map[string]any)
	if _, ok := node["isArchived"]; ok {
		t.Errorf("unselected field answered: %v", node)
	}
	if file := node["catalogInfoFile"].(map[string]any); file["text"] != "kind: Component\n" || file["__typename"] != "Blob" {
		t.Errorf("aliased object = %v", file)
	}
	if _, ok := out["data"].(map[string]any)["rateLimit"]; ok {
		t.Error("rateLimit answered though not selected")
	}
	_, out = post(q("name", 101))
	if errs, _ := out["errors"].([]any); len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "exceeds the `first` limit of 100 records") {
		t.Errorf("first: 101 = %v", out)
	}
	req, _ := http.NewRequest(http.MethodPost, s.GraphQLURL(), strings.NewReader(q("name", 1)))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("anonymous GraphQL: %d, want 401", resp.StatusCode)
	}
}

func TestDeliverySignature(t *testing.T) {
	s := New(t, Config{WebhookSecret: "It's a Secret to Everybody"})
	s.AddOrg("acme")
	d := s.AddMember("acme", "ada")
	d.Body = []byte("Hello, World!") // GitHub's documented example
	if got := d.Header().Get("X-Hub-Signature-256"); got != "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" {
		t.Errorf("signature = %s", got)
	}
	if d.Header().Get("X-GitHub-Event") != "organization" || len(d.ID) != 36 {
		t.Errorf("headers = %v", d.Header())
	}
}
