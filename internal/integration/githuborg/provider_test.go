package githuborg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/integration/githuborg"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// seedAcme gives the fake a small org: a team hierarchy
// (platform > infra), a second top-level team, users with and without a
// public email, one user in no team.
func seedAcme(fake *githubfake.Server) {
	fake.AddOrg("acme")
	fake.AddUser(githubfake.User{Login: "alice", Name: "Alice Liddell", Email: "alice@acme.example", Bio: "Platform lead"})
	fake.AddUser(githubfake.User{Login: "bob", Name: "Bob Builder"})
	fake.AddUser(githubfake.User{Login: "carol"})
	fake.AddUser(githubfake.User{Login: "dave", Name: "Dave", VerifiedEmails: []string{"dave@acme.example"}})
	fake.AddTeam("acme", githubfake.Team{Slug: "platform", Name: "Platform", Description: "Runs the platform", Members: []string{"alice"}})
	fake.AddTeam("acme", githubfake.Team{Slug: "infra", Name: "Infrastructure", Parent: "platform", Members: []string{"bob", "alice"}})
	fake.AddTeam("acme", githubfake.Team{Slug: "web", Members: []string{"carol"}})
	fake.AddMember("acme", "dave")
}

type env struct {
	fake *githubfake.Server
	svc  *catalog.Service
	prov *githuborg.Provider
	pool *jobs.Pool
}

func newClient(t *testing.T, fake *githubfake.Server) *github.Client {
	t.Helper()
	c, err := github.New(github.Options{Host: fake.Host(), APIBaseURL: fake.APIBaseURL(), GraphQLURL: fake.GraphQLURL(),
		Token: config.Secret(githubfake.DefaultToken), MaxRetries: 1, ServerErrorBackoff: time.Millisecond},
		github.Deps{HTTP: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newEnv builds the provider over a real catalog on st; with a pool, its
// jobs run for real.
func newEnv(t *testing.T, st *store.Store, fake *githubfake.Server, cfg config.GitHubOrgProvider, withPool bool) *env {
	t.Helper()
	svc, err := catalog.NewService(st, nil, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetOrphanStrategy(catalog.OrphanDelete); err != nil {
		t.Fatal(err)
	}
	e := &env{fake: fake, svc: svc}
	opts := githuborg.Options{Config: cfg, DefaultNamespace: githuborg.UseDefaultNamespace([]config.GitHubOrgProvider{cfg}),
		Client: newClient(t, fake), Catalog: svc, Logger: storetest.Logger(t), Debounce: 300 * time.Millisecond}
	if withPool {
		e.pool = jobs.New(st, jobs.Options{PollInterval: 20 * time.Millisecond, Logger: storetest.Logger(t),
			Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
		opts.Enqueue = func(ctx context.Context, kind string, payload any, at time.Time, key string) error {
			_, err := e.pool.Enqueue(ctx, kind, payload, jobs.RunAt(at), jobs.DedupeKey(key))
			return err
		}
	}
	e.prov, err = githuborg.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	svc.RegisterProvider(e.prov.Name(), e.prov.RefreshSource)
	if withPool {
		e.pool.Register(e.prov.ReadJobKind(), func(ctx context.Context, j store.Job) error { return e.prov.RunReadJob(ctx, j.Payload) })
		e.pool.Register(e.prov.ScheduledJobKind(), func(ctx context.Context, j store.Job) error { return e.prov.RunScheduledRead(ctx, j.Payload) })
		e.pool.Start(t.Context())
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.pool.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	return e
}

func acmeConfig() config.GitHubOrgProvider {
	return config.GitHubOrgProvider{ID: "main", GitHubURL: "https://github.com", Host: "github.com", Orgs: []string{"acme"},
		Schedule: config.ProviderSchedule{Frequency: time.Hour, Timeout: time.Minute}}
}

type served struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec      map[string]any `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

func (s served) orphan() bool { return s.Metadata.Annotations[catalog.OrphanAnnotation] == "true" }

func (s served) rel(typ string) []string {
	var out []string
	for _, r := range s.Relations {
		if r.Type == typ {
			out = append(out, r.TargetRef)
		}
	}
	sort.Strings(out)
	return out
}

func get(t *testing.T, svc *catalog.Service, ref string) (served, bool) {
	t.Helper()
	r, err := greenroom.ParseEntityRef(ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := svc.EntityByName(context.Background(), r)
	if greenroom.IsNotFound(err) {
		return served{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var s served
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s, true
}

// orgEntities are the served User and Group entities without the fields
// the catalog generates per run (uid, etag).
func orgEntities(t *testing.T, svc *catalog.Service) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, kind := range []string{"Group", "User"} {
		raws, err := svc.Entities(t.Context(), catalog.Query{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			meta := m["metadata"].(map[string]any)
			delete(meta, "uid")
			delete(meta, "etag")
			out = append(out, m)
		}
	}
	return out
}

func golden(t *testing.T, path string, got any) {
	t.Helper()
	body, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	body = append(body, '\n')
	if *update {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, body) {
		var w any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		var g any
		_ = json.Unmarshal(body, &g)
		t.Errorf("%s (-want +got):\n%s", path, cmp.Diff(w, g))
	}
}

func TestReadSmallOrg(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		seedAcme(fake)
		e := newEnv(t, st, fake, acmeConfig(), false)
		if err := e.prov.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
		golden(t, "testdata/acme.golden.json", orgEntities(t, e.svc))
		s := e.prov.State()
		if s.Users != 4 || s.Groups != 3 || s.LastError != "" || s.LastSuccess.IsZero() {
			t.Errorf("state: %+v", s)
		}
		// A second read of unchanged data changes nothing.
		before := orgEntities(t, e.svc)
		if err := e.prov.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, orgEntities(t, e.svc)); diff != "" {
			t.Errorf("second read changed entities:\n%s", diff)
		}
	})
}

func TestReadSeveralOrgs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		seedAcme(fake)
		fake.AddOrg("Beta")
		fake.AddTeam("Beta", githubfake.Team{Slug: "platform", Name: "Beta platform", Members: []string{"alice", "erin"}})
		cfg := acmeConfig()
		cfg.Orgs = []string{"acme", "Beta"}
		e := newEnv(t, st, fake, cfg, false)
		if err := e.prov.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Groups are namespaced per organization; users are shared.
		for ref, parent := range map[string]string{"group:acme/platform": "", "group:acme/infra": "group:acme/platform", "group:beta/platform": ""} {
			g, ok := get(t, e.svc, ref)
			if !ok {
				t.Fatalf("%s missing", ref)
			}
			if got := g.rel("childOf"); parent != "" && !slices.Equal(got, []string{parent}) || parent == "" && len(got) != 0 {
				t.Errorf("%s childOf = %v, want %q", ref, got, parent)
			}
		}
		alice, ok := get(t, e.svc, "user:default/alice")
		if !ok {
			t.Fatal("alice missing")
		}
		if diff := cmp.Diff([]any{"acme/platform", "acme/infra", "beta/platform"}, alice.Spec["memberOf"]); diff != "" {
			t.Errorf("alice memberOf (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"group:acme/infra", "group:acme/platform", "group:beta/platform"}, alice.rel("memberOf")); diff != "" {
			t.Errorf("alice memberOf relations (-want +got):\n%s", diff)
		}
		bp, _ := get(t, e.svc, "group:beta/platform")
		if diff := cmp.Diff([]string{"user:default/alice", "user:default/erin"}, bp.rel("hasMember")); diff != "" {
			t.Errorf("beta/platform hasMember (-want +got):\n%s", diff)
		}
	})
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func deliver(t *testing.T, e *env, d githubfake.Delivery) {
	t.Helper()
	if err := e.prov.HandleOrgEvent(t.Context(), d.Event, d.Body); err != nil {
		t.Fatalf("%s event: %v", d.Event, err)
	}
}

func TestOrgEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		seedAcme(fake)
		e := newEnv(t, st, fake, acmeConfig(), true)
		if err := e.prov.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first read", func() bool { _, ok := get(t, e.svc, "user:default/alice"); return ok })
		if e.prov.State().NextRun.IsZero() {
			t.Error("no scheduled read queued")
		}
		// Within the debounce window and a worker's poll: debounce 300 ms.
		const within = 3 * time.Second

		// Re-parent: web moves under platform.
		deliver(t, e, fake.SetTeamParent("acme", "web", "platform"))
		took := waitFor(t, "web under platform", func() bool {
			g, _ := get(t, e.svc, "group:default/web")
			return slices.Equal(g.rel("childOf"), []string{"group:default/platform"})
		})
		if took > within {
			t.Errorf("re-parent applied after %v", took)
		}
		p, _ := get(t, e.svc, "group:default/platform")
		if diff := cmp.Diff([]string{"group:default/infra", "group:default/web"}, p.rel("parentOf")); diff != "" {
			t.Errorf("platform parentOf (-want +got):\n%s", diff)
		}

		// A member leaves a team: memberOf follows.
		deliver(t, e, fake.RemoveTeamMember("acme", "infra", "alice"))
		waitFor(t, "alice out of infra", func() bool {
			u, _ := get(t, e.svc, "user:default/alice")
			return slices.Equal(u.rel("memberOf"), []string{"group:default/platform"})
		})
		infra, _ := get(t, e.svc, "group:default/infra")
		if diff := cmp.Diff([]string{"user:default/bob"}, infra.rel("hasMember")); diff != "" {
			t.Errorf("infra hasMember (-want +got):\n%s", diff)
		}

		// Several events at once are one read.
		before := fake.Stats().ByRoute
		deliver(t, e, fake.AddTeamMember("acme", "web", "dave"))
		deliver(t, e, fake.AddTeamMember("acme", "platform", "dave"))
		waitFor(t, "dave in web and platform", func() bool {
			u, _ := get(t, e.svc, "user:default/dave")
			return slices.Equal(u.rel("memberOf"), []string{"group:default/platform", "group:default/web"})
		})
		time.Sleep(400 * time.Millisecond)
		after := fake.Stats().ByRoute
		if n := after["POST /graphql"] - before["POST /graphql"]; n > 4 {
			t.Errorf("two events cost %d GraphQL queries, want at most 4 (one read, maybe two)", n)
		}

		// A user leaves the org: orphaned, then deleted by the next full refresh.
		deliver(t, e, fake.RemoveMember("acme", "bob"))
		waitFor(t, "bob orphaned", func() bool { u, ok := get(t, e.svc, "user:default/bob"); return ok && u.orphan() })
		if err := e.svc.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(t, e.svc, "user:default/bob"); ok {
			t.Error("bob kept after the cleanup under the delete strategy")
		}

		// A team is deleted: its Group goes, its child moves to its parent.
		deliver(t, e, fake.DeleteTeam("acme", "infra"))
		waitFor(t, "infra orphaned", func() bool { g, ok := get(t, e.svc, "group:default/infra"); return !ok || g.orphan() })
		if err := e.svc.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(t, e.svc, "group:default/infra"); ok {
			t.Error("deleted team's group kept")
		}

		// Events of other organizations and other actions are ignored.
		fake.AddOrg("other")
		for _, d := range []githubfake.Delivery{fake.AddMember("other", "zed")} {
			if err := e.prov.HandleOrgEvent(t.Context(), d.Event, d.Body); err != nil {
				t.Error(err)
			}
		}
	})
}

func TestOutageKeepsCatalog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		seedAcme(fake)
		e := newEnv(t, st, fake, acmeConfig(), false)
		if err := e.prov.Read(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := orgEntities(t, e.svc)
		fake.RemoveMember("acme", "carol") // would orphan carol, were it read

		fake.FailNext(20, 502)
		err := e.prov.Read(t.Context())
		if err == nil || greenroom.ErrorCode(err) != greenroom.CodeUnavailable {
			t.Fatalf("read during an outage: %v, want unavailable", err)
		}
		if s := e.prov.State(); s.LastError == "" || s.LastSuccess.After(s.LastAttempt) {
			t.Errorf("state after the outage: %+v", s)
		}
		fake.FailNext(0, 0)
		fake.ExhaustRateLimit("graphql", time.Hour)
		if err := e.prov.Read(t.Context()); err == nil {
			t.Fatal("read with an exhausted rate limit succeeded")
		}
		if diff := cmp.Diff(want, orgEntities(t, e.svc)); diff != "" {
			t.Errorf("failed reads changed the catalog (-want +got):\n%s", diff)
		}
	})
}

func TestHandleOrgEventBadInput(t *testing.T) {
	st := storetest.SQLite(t)
	fake := githubfake.New(t, githubfake.Config{})
	fake.AddOrg("acme")
	e := newEnv(t, st, fake, acmeConfig(), true)
	for _, tc := range []struct {
		event, body string
		code        greenroom.Code
	}{
		{"team", `{"action":`, greenroom.CodeInvalid},
		{"team", `{"team":{}}`, greenroom.CodeInvalid},
		{"membership", `{"action":"added"}`, greenroom.CodeInvalid},
		{"team", `{"action":"added_to_repository","organization":{"login":"acme"}}`, ""},
		{"push", `not json at all`, ""},
		{"team", `{"action":"created","organization":{"login":"elsewhere"}}`, ""},
	} {
		err := e.prov.HandleOrgEvent(t.Context(), tc.event, []byte(tc.body))
		if tc.code == "" && err != nil || tc.code != "" && greenroom.ErrorCode(err) != tc.code {
			t.Errorf("%s %s: %v, want code %q", tc.event, tc.body, err, tc.code)
		}
	}
}
