package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github/githubfake"
)

// seedOrg makes org with n repositories named svc-000…; every third has no
// catalog file, every fifth is archived.
func seedOrg(fake *githubfake.Server, org string, n int) {
	fake.AddOrg(org)
	for i := range n {
		files := map[string]string{"README.md": fmt.Sprintf("# svc-%03d\n", i)}
		if i%3 != 0 {
			files["catalog-info.yaml"] = fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-%03d\n", i)
		}
		fake.AddRepo(org, githubfake.Repo{Name: fmt.Sprintf("svc-%03d", i), Archived: i%5 == 0, Topics: []string{"team-a"}, Files: files})
	}
}

func TestOrgReposPagination(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 250)
	f.fake.AddRepo("acme", githubfake.Repo{Name: "public-docs", Visibility: "public", Fork: true, DefaultBranch: "trunk", Topics: []string{"docs", "site"}})
	ctx := context.Background()

	repos, err := f.client.OrgRepos(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 251 {
		t.Fatalf("got %d repositories, want 251", len(repos))
	}
	if got := f.client.Stats(); got.REST != 3 || got.Requests != 3 {
		t.Errorf("stats = %+v, want 3 REST requests (pages of 100)", got)
	}
	last := repos[250]
	want := Repository{Name: "public-docs", FullName: "acme/public-docs", DefaultBranch: "trunk", Fork: true,
		Visibility: "public", Topics: []string{"docs", "site"}, HTMLURL: "https://github.com/acme/public-docs"}
	got := Repository{Name: last.Name, FullName: last.FullName, DefaultBranch: last.DefaultBranch, Fork: last.Fork,
		Visibility: last.Visibility, Topics: last.Topics, HTMLURL: last.HTMLURL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("last repository (-want +got):\n%s", diff)
	}
	if last.PushedAt.IsZero() || last.ID == 0 || last.Owner.Login != "acme" {
		t.Errorf("pushed_at, id, owner not read: %+v", last)
	}
	if !repos[0].Archived || repos[1].Archived {
		t.Errorf("archived flags wrong: %v %v", repos[0].Archived, repos[1].Archived)
	}
}

func TestETagsMakeSecondScanFree(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 150)
	ctx := context.Background()
	if _, err := f.client.OrgRepos(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.File(ctx, "acme", "svc-001", "catalog-info.yaml", ""); err != nil {
		t.Fatal(err)
	}
	usedBefore := f.fake.Stats().CoreUsed
	before := f.client.Stats()

	repos, err := f.client.OrgRepos(ctx, "acme")
	if err != nil || len(repos) != 150 {
		t.Fatalf("second listing: %d repos, err %v", len(repos), err)
	}
	body, err := f.client.File(ctx, "acme", "svc-001", "catalog-info.yaml", "")
	if err != nil || !strings.Contains(string(body), "name: svc-001") {
		t.Fatalf("cached file = %q, %v", body, err)
	}
	d := f.client.Stats().Sub(before)
	if d.Requests != 3 || d.NotModified != 3 {
		t.Errorf("second scan stats = %+v, want 3 requests, all 304", d)
	}
	if used := f.fake.Stats().CoreUsed; used != usedBefore {
		t.Errorf("304s were charged: core used %d -> %d", usedBefore, used)
	}
	if f.client.RateLimit(ResourceCore).Remaining != 5000-usedBefore {
		t.Errorf("rate limit = %+v, want remaining %d", f.client.RateLimit(ResourceCore), 5000-usedBefore)
	}

	// A change shows: the file's ETag no longer matches.
	f.fake.PushFile("acme", "svc-001", "main", "catalog-info.yaml", "kind: Component\nmetadata:\n  name: renamed\n")
	before = f.client.Stats()
	body, err = f.client.File(ctx, "acme", "svc-001", "catalog-info.yaml", "")
	if err != nil || !strings.Contains(string(body), "name: renamed") {
		t.Fatalf("changed file = %q, %v", body, err)
	}
	if d := f.client.Stats().Sub(before); d.NotModified != 0 || d.Requests != 1 {
		t.Errorf("changed file stats = %+v, want one full answer", d)
	}
}

func TestNotFoundAndErrors(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	seedOrg(f.fake, "acme", 3)
	f.fake.AddRepo("acme", githubfake.Repo{Name: "empty"})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		code greenroom.Code
		msg  string
	}{
		{"unknown repository", func() error { _, err := f.client.Repo(ctx, "acme", "nope"); return err }, greenroom.CodeNotFound, "404 Not Found"},
		{"unknown org", func() error { _, err := f.client.OrgRepos(ctx, "nope"); return err }, greenroom.CodeNotFound, "/orgs/nope/repos"},
		{"missing file", func() error { _, err := f.client.File(ctx, "acme", "svc-000", "catalog-info.yaml", ""); return err }, greenroom.CodeNotFound, "contents/catalog-info.yaml"},
		{"tree of empty repository", func() error { _, err := f.client.Tree(ctx, "acme", "empty", "main"); return err }, greenroom.CodeConflict, "Git Repository is empty"},
		{"unknown ref", func() error { _, err := f.client.Tree(ctx, "acme", "svc-001", "no-such-branch"); return err }, greenroom.CodeNotFound, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if greenroom.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want code %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
	_, err := f.client.Repo(ctx, "acme", "nope")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.DocumentationURL == "" || apiErr.Message != "Not Found" {
		t.Errorf("APIError = %+v, want GitHub's body fields", apiErr)
	}

	bad, err := New(Options{APIBaseURL: f.fake.APIBaseURL(), Token: "ghp_wrong"}, Deps{HTTP: f.fake.Client(), Now: f.clock.Now, Sleep: f.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Repo(ctx, "acme", "svc-001"); greenroom.ErrorCode(err) != greenroom.CodeUnauthorized || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("bad token: err = %v", err)
	}
}

func TestTreeAndFiles(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, func(o *Options, _ *githubfake.Server) { o.MaxFileBytes = 64 })
	f.fake.AddOrg("acme")
	f.fake.AddRepo("acme", githubfake.Repo{Name: "mono", Files: map[string]string{
		"catalog-info.yaml":                 "kind: Location\n",
		"services/a/catalog-info.yaml":      "kind: Component\n",
		"services/b/deep/catalog-info.yaml": "kind: Component\n",
		"services/b/main.go":                "package main\n",
		"big.txt":                           strings.Repeat("x", 100),
	}})
	f.fake.PushFile("acme", "mono", "feature/x", "services/c/catalog-info.yaml", "kind: API\n")
	ctx := context.Background()

	tree, err := f.client.Tree(ctx, "acme", "mono", "main")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"big.txt", "catalog-info.yaml", "services/a/catalog-info.yaml", "services/b/deep/catalog-info.yaml", "services/b/main.go"}
	if diff := cmp.Diff(want, tree.Blobs()); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
	if tree.Truncated || len(tree.SHA) != 40 {
		t.Errorf("tree sha %q truncated %v", tree.SHA, tree.Truncated)
	}
	var sizes int64
	for _, e := range tree.Entries {
		sizes += e.Size
	}
	if sizes != int64(100+len("kind: Location\n")+2*len("kind: Component\n")+len("package main\n")) {
		t.Errorf("sizes sum %d", sizes)
	}

	branchTree, err := f.client.Tree(ctx, "acme", "mono", "feature/x")
	if err != nil {
		t.Fatal(err)
	}
	if len(branchTree.Blobs()) != 6 {
		t.Errorf("branch feature/x blobs = %v, want main's plus one", branchTree.Blobs())
	}
	body, err := f.client.File(ctx, "acme", "mono", "/services/c/catalog-info.yaml", "feature/x")
	if err != nil || string(body) != "kind: API\n" {
		t.Errorf("file on branch = %q, %v", body, err)
	}
	if _, err := f.client.File(ctx, "acme", "mono", "services/c/catalog-info.yaml", ""); !greenroom.IsNotFound(err) {
		t.Errorf("file of another branch on the default branch: err = %v", err)
	}
	if _, err := f.client.File(ctx, "acme", "mono", "big.txt", ""); greenroom.ErrorCode(err) != greenroom.CodeTooLarge {
		t.Errorf("big file: err = %v, want too_large", err)
	}
}

func TestOrgREST(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	fake := f.fake
	fake.AddOrg("acme")
	fake.AddUser(githubfake.User{Login: "ada", Name: "Ada Lovelace", Email: "ada@acme.test", Bio: "Engines"})
	fake.AddUser(githubfake.User{Login: "bob"})
	fake.AddTeam("acme", githubfake.Team{Slug: "eng", Name: "Engineering", Members: []string{"ada"}})
	fake.AddTeam("acme", githubfake.Team{Slug: "payments", Name: "Payments", Parent: "eng", Members: []string{"bob"}})
	for i := range 120 {
		fake.AddMember("acme", fmt.Sprintf("user-%03d", i))
	}
	ctx := context.Background()

	teams, err := f.client.Teams(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(teams) != 2 || teams[0].Parent != nil || teams[1].Parent == nil || teams[1].Parent.Slug != "eng" || teams[1].Name != "Payments" {
		t.Fatalf("teams = %+v", teams)
	}
	members, err := f.client.TeamMembers(ctx, "acme", "eng")
	if err != nil {
		t.Fatal(err)
	}
	if logins := loginsOf(members); !cmp.Equal(logins, []string{"ada", "bob"}) {
		t.Errorf("eng members (with child teams, as GitHub's REST lists them) = %v", logins)
	}
	all, err := f.client.Members(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 122 {
		t.Errorf("org members = %d, want 122 across two pages", len(all))
	}
	u, err := f.client.User(ctx, "acme", "ada")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Ada Lovelace" || u.Email != "ada@acme.test" || u.Bio != "Engines" || u.Login != "ada" {
		t.Errorf("profile = %+v", u)
	}
	if u, err := f.client.User(ctx, "acme", "bob"); err != nil || u.Email != "" || u.Name != "" {
		t.Errorf("user without public email = %+v, %v", u, err)
	}
}

func loginsOf(us []User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Login)
	}
	return out
}

func TestOrgReposWithFile(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, func(o *Options, _ *githubfake.Server) { o.RepoPageSize = 10 })
	seedOrg(f.fake, "acme", 25)
	f.fake.AddRepo("acme", githubfake.Repo{Name: "dir-not-file", Visibility: "internal", Files: map[string]string{"catalog-info.yaml/x": "no"}})
	f.fake.AddRepo("acme", githubfake.Repo{Name: "empty"})
	f.fake.AddRepo("acme", githubfake.Repo{Name: "binary", Files: map[string]string{"catalog-info.yaml": "\x00\x01"}})
	ctx := context.Background()

	repos, err := f.client.OrgReposWithFile(ctx, "acme", "/catalog-info.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 28 {
		t.Fatalf("got %d repositories, want 28", len(repos))
	}
	if st := f.client.Stats(); st.GraphQL != 3 || st.GraphQLCost != 3 {
		t.Errorf("stats = %+v, want 3 GraphQL queries costing 1 each", st)
	}
	byName := map[string]RepoWithFile{}
	for _, r := range repos {
		byName[r.Name] = r
	}
	r1 := byName["svc-001"]
	if r1.File == nil || !strings.Contains(r1.File.Text, "name: svc-001") || len(r1.File.OID) != 40 || r1.File.ByteSize != int64(len(r1.File.Text)) {
		t.Errorf("svc-001 file = %+v", r1.File)
	}
	if r1.FullName != "acme/svc-001" || r1.DefaultBranch != "main" || len(r1.HeadOID) != 40 || r1.Visibility != "private" ||
		!cmp.Equal(r1.Topics, []string{"team-a"}) || r1.URL != "https://github.com/acme/svc-001" || r1.PushedAt.IsZero() {
		t.Errorf("svc-001 = %+v", r1)
	}
	if r := byName["svc-000"]; r.File != nil || !r.Archived {
		t.Errorf("svc-000 (no file, archived) = %+v", r)
	}
	if r := byName["dir-not-file"]; r.File != nil || r.Visibility != "internal" {
		t.Errorf("a directory is not a file: %+v", r)
	}
	if r := byName["empty"]; r.File != nil || r.DefaultBranch != "" || r.HeadOID != "" {
		t.Errorf("empty repository = %+v", r)
	}
	if r := byName["binary"]; r.File == nil || !r.File.Binary || r.File.Text != "" {
		t.Errorf("binary file = %+v", r.File)
	}

	one, err := f.client.RepoWithFile(ctx, "acme", "svc-002", "catalog-info.yaml", "main")
	if err != nil || one.File == nil || !strings.Contains(one.File.Text, "svc-002") {
		t.Errorf("RepoWithFile = %+v, %v", one, err)
	}
	if _, err := f.client.RepoWithFile(ctx, "acme", "nope", "catalog-info.yaml", ""); !greenroom.IsNotFound(err) {
		t.Errorf("unknown repository: err = %v", err)
	}
	if _, err := f.client.OrgReposWithFile(ctx, "nope", "catalog-info.yaml", ""); !greenroom.IsNotFound(err) {
		t.Errorf("unknown owner: err = %v", err)
	}
	if _, err := f.client.OrgReposWithFile(ctx, "acme", "/**/catalog-info.yaml", ""); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("glob: err = %v, want invalid", err)
	}
}

func TestOrgGraphQL(t *testing.T) {
	f := newFixture(t, githubfake.Config{}, nil)
	fake := f.fake
	fake.AddOrg("acme")
	fake.AddUser(githubfake.User{Login: "ada", Name: "Ada Lovelace", Email: "ada@acme.test", VerifiedEmails: []string{"ada@acme.dev"}})
	var big []string
	for i := range 60 {
		big = append(big, fmt.Sprintf("user-%02d", i))
	}
	fake.AddTeam("acme", githubfake.Team{Slug: "eng", Name: "Engineering", Description: "All engineers", Members: []string{"ada"}})
	fake.AddTeam("acme", githubfake.Team{Slug: "platform", Parent: "eng", Members: big})
	for i := range 30 {
		fake.AddTeam("acme", githubfake.Team{Slug: fmt.Sprintf("squad-%02d", i), Parent: "platform"})
	}
	ctx := context.Background()

	users, err := f.client.OrgUsers(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 61 || users[0].Login != "ada" || users[0].Email != "ada@acme.test" || users[0].Name != "Ada Lovelace" ||
		!cmp.Equal(users[0].OrganizationVerifiedDomainEmails, []string{"ada@acme.dev"}) || users[0].ID == "" {
		t.Errorf("users = %d, first %+v", len(users), users[0])
	}

	teams, err := f.client.OrgTeams(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(teams) != 32 {
		t.Fatalf("teams = %d, want 32 across two pages of 25", len(teams))
	}
	eng, platform := teams[0], teams[1]
	if eng.Slug != "eng" || eng.ParentSlug != "" || eng.CombinedSlug != "acme/eng" || eng.Description != "All engineers" ||
		len(eng.Members) != 1 || eng.Members[0].Login != "ada" {
		t.Errorf("eng = %+v (immediate members only)", eng)
	}
	if platform.ParentSlug != "eng" || len(platform.Members) != 60 {
		t.Errorf("platform: parent %q, %d members, want eng and 60 (beyond one page of 50)", platform.ParentSlug, len(platform.Members))
	}
	if teams[31].ParentSlug != "platform" {
		t.Errorf("last squad parent = %q", teams[31].ParentSlug)
	}
	if _, err := f.client.OrgTeams(ctx, "nope"); !greenroom.IsNotFound(err) {
		t.Errorf("unknown org: err = %v", err)
	}
}

func TestEnterpriseBaseURLs(t *testing.T) {
	clock := newTestClock()
	fake := githubfake.New(t, githubfake.Config{Enterprise: true, Now: clock.Now})
	seedOrg(fake, "acme", 3)
	if !strings.HasSuffix(fake.APIBaseURL(), "/api/v3") {
		t.Fatalf("fake enterprise base = %s", fake.APIBaseURL())
	}
	// Only the REST base is configured: GraphQL must be found at /api/graphql.
	c, err := New(Options{Host: fake.Host(), APIBaseURL: fake.APIBaseURL(), Token: config.Secret(githubfake.DefaultToken)},
		Deps{HTTP: fake.Client(), Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repos, err := c.OrgRepos(ctx, "acme")
	if err != nil || len(repos) != 3 || repos[1].HTMLURL != "https://ghe.example.test/acme/svc-001" {
		t.Fatalf("REST on enterprise: %v, %+v", err, repos)
	}
	withFile, err := c.OrgReposWithFile(ctx, "acme", "catalog-info.yaml", "")
	if err != nil || len(withFile) != 3 || withFile[1].File == nil {
		t.Fatalf("GraphQL on enterprise: %v, %+v", err, withFile)
	}
	if got := fake.Stats().ByRoute["POST /graphql"]; got != 1 {
		t.Errorf("graphql requests on the fake = %d", got)
	}
}

func TestLinkOffHostRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<https://evil.example/orgs/acme/repos?page=2>; rel="next"`)
		fmt.Fprint(w, `[{"name":"a"}]`)
	}))
	defer srv.Close()
	c, err := New(Options{APIBaseURL: srv.URL, Token: "t"}, Deps{HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OrgRepos(context.Background(), "acme"); err == nil || !strings.Contains(err.Error(), "is not on 127.0.0.1") {
		t.Fatalf("err = %v, want the off-host link refused", err)
	}
}

func TestNextLink(t *testing.T) {
	c, err := New(Options{APIBaseURL: "https://api.github.com"}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ header, want string }{
		{`<https://api.github.com/organizations/1/repos?page=2&per_page=100>; rel="next", <https://api.github.com/organizations/1/repos?page=5&per_page=100>; rel="last"`, "https://api.github.com/organizations/1/repos?page=2&per_page=100"},
		{`<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"`, ""},
		{`<https://api.github.com/x?page=3>; rel="next last"`, "https://api.github.com/x?page=3"},
		{``, ""},
		{`garbage`, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Link", tt.header)
		}
		got, err := c.nextLink(h)
		if err != nil || got != tt.want {
			t.Errorf("nextLink(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
		}
	}
}
