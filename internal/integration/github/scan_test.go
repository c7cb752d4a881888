package github

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github/githubfake"
)

// The benchmark org: 500 repositories, as issue 5 measures. Of them 400
// have /catalog-info.yaml (25 of those archived), 50 have only
// services/api/catalog-info.yaml, 50 have none; each has a handful of other
// files.
const (
	benchRepos       = 500
	benchArchived    = 25
	benchNestedOnly  = 50
	benchNoCatalog   = 50
	benchRootCatalog = benchRepos - benchNestedOnly - benchNoCatalog
)

func seedBenchOrg(fake *githubfake.Server) {
	fake.AddOrg("bigco")
	for i := range benchRepos {
		name := fmt.Sprintf("repo-%03d", i)
		files := map[string]string{
			"README.md": "# " + name + "\n", "go.mod": "module bigco/" + name + "\n", "main.go": "package main\n",
			"docs/index.md": "docs\n", ".github/workflows/ci.yaml": "on: push\n",
		}
		entity := fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n  type: service\n  owner: team-%d\n  lifecycle: production\n", name, i%20)
		switch i % 10 {
		case 0: // no catalog file
		case 5:
			files["services/api/catalog-info.yaml"] = entity
		default:
			files["catalog-info.yaml"] = entity
		}
		fake.AddRepo("bigco", githubfake.Repo{Name: name, Archived: i%20 == 19, Topics: []string{"bench"}, Files: files})
	}
}

// scanner is one way of finding every catalog file of the org, as the
// entity provider would run it on a schedule. found counts the files read.
type scanner struct {
	name  string
	scan  func(ctx context.Context, c *Client, st *scanState) (found int, err error)
	glob  bool // finds nested files too
	state *scanState
}

// scanState is what a provider keeps between scans: each repository's
// head commit and the catalog files found at it.
type scanState struct {
	heads  map[string]string
	nested map[string]int // catalog files below the root, per repository
}

func newScanState() *scanState {
	return &scanState{heads: map[string]string{}, nested: map[string]int{}}
}

func isCatalogFile(p string) bool { return path.Base(p) == "catalog-info.yaml" }

// restFixed lists repositories and reads /catalog-info.yaml from each.
func restFixed(ctx context.Context, c *Client, _ *scanState) (int, error) {
	repos, err := c.OrgRepos(ctx, "bigco")
	if err != nil {
		return 0, err
	}
	found := 0
	for _, r := range repos {
		if r.Archived {
			continue
		}
		_, err := c.File(ctx, "bigco", r.Name, "catalog-info.yaml", "")
		switch {
		case greenroom.IsNotFound(err):
		case err != nil:
			return found, err
		default:
			found++
		}
	}
	return found, nil
}

// graphqlFixed lists repositories with /catalog-info.yaml in one query per
// 100.
func graphqlFixed(ctx context.Context, c *Client, _ *scanState) (int, error) {
	repos, err := c.OrgReposWithFile(ctx, "bigco", "/catalog-info.yaml", "")
	if err != nil {
		return 0, err
	}
	found := 0
	for _, r := range repos {
		if !r.Archived && r.File != nil {
			found++
		}
	}
	return found, nil
}

// restTrees lists repositories, then each one's tree, and reads every
// file matching /**/catalog-info.yaml.
func restTrees(ctx context.Context, c *Client, _ *scanState) (int, error) {
	repos, err := c.OrgRepos(ctx, "bigco")
	if err != nil {
		return 0, err
	}
	found := 0
	for _, r := range repos {
		if r.Archived {
			continue
		}
		tree, err := c.Tree(ctx, "bigco", r.Name, r.DefaultBranch)
		if err != nil {
			return found, err
		}
		for _, p := range tree.Blobs() {
			if isCatalogFile(p) {
				if _, err := c.File(ctx, "bigco", r.Name, p, r.DefaultBranch); err != nil {
					return found, err
				}
				found++
			}
		}
	}
	return found, nil
}

// graphqlTrees lists repositories with the root file and head commit by
// GraphQL, and lists trees (and reads nested files) only of repositories
// whose head moved since the last scan: the thrifty /**/ scan.
func graphqlTrees(ctx context.Context, c *Client, st *scanState) (int, error) {
	repos, err := c.OrgReposWithFile(ctx, "bigco", "/catalog-info.yaml", "")
	if err != nil {
		return 0, err
	}
	found := 0
	for _, r := range repos {
		if r.Archived || r.HeadOID == "" {
			continue
		}
		if r.File != nil {
			found++
		}
		if st.heads[r.Name] == r.HeadOID {
			found += st.nested[r.Name] // unchanged: the files found at this head still stand
			continue
		}
		tree, err := c.Tree(ctx, "bigco", r.Name, r.HeadOID)
		if err != nil {
			return found, err
		}
		nested := 0
		for _, p := range tree.Blobs() {
			if isCatalogFile(p) && p != "catalog-info.yaml" {
				if _, err := c.File(ctx, "bigco", r.Name, p, r.HeadOID); err != nil {
					return found, err
				}
				nested++
			}
		}
		found += nested
		st.heads[r.Name], st.nested[r.Name] = r.HeadOID, nested
	}
	return found, nil
}

type scanFigures struct {
	requests, notModified, points int64
}

func measure(t testing.TB, fake *githubfake.Server, c *Client, s *scanner) (scanFigures, int) {
	t.Helper()
	before, fakeBefore := c.Stats(), fake.Stats()
	found, err := s.scan(context.Background(), c, s.state)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	d, fd := c.Stats().Sub(before), fake.Stats()
	return scanFigures{requests: d.Requests, notModified: d.NotModified,
		points: int64(fd.CoreUsed - fakeBefore.CoreUsed + fd.GraphQLUsed - fakeBefore.GraphQLUsed)}, found
}

func benchScanners() []*scanner {
	return []*scanner{
		{name: "REST: list + read /catalog-info.yaml per repo", scan: restFixed},
		{name: "GraphQL: list with /catalog-info.yaml blob", scan: graphqlFixed},
		{name: "REST: list + tree per repo for /**/catalog-info.yaml", scan: restTrees, glob: true},
		{name: "GraphQL list + trees of moved heads for /**/", scan: graphqlTrees, glob: true},
	}
}

func newBenchClient(t testing.TB, fake *githubfake.Server) *Client {
	t.Helper()
	c, err := New(Options{APIBaseURL: fake.APIBaseURL(), GraphQLURL: fake.GraphQLURL(), Token: config.Secret(githubfake.DefaultToken)},
		Deps{HTTP: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestScanRequests measures requests per full scan of a 500-repository org
// on each path, cold, again unchanged (ETags), and after 10 pushes; it fails
// when a path costs more than its design says. The figures are the ones in
// docs/BENCHMARKS.md ("GitHub discovery: requests per scan"); run with -v
// to print them.
func TestScanRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("500-repository scan")
	}
	fake := githubfake.New(t, githubfake.Config{CoreLimit: 100000, GraphQLLimit: 100000})
	seedBenchOrg(fake)
	live := benchRepos - benchArchived
	pages := int64((benchRepos + 99) / 100)
	lines := []string{"| scan | files found | 1st scan: requests (rate-limit points) | 2nd scan, unchanged: requests (304s, points) | after 10 pushes: requests (points) |", "| --- | --- | --- | --- | --- |"}
	for i, s := range benchScanners() {
		s.state = newScanState()
		c := newBenchClient(t, fake)
		first, found := measure(t, fake, c, s)
		second, found2 := measure(t, fake, c, s)
		for j := range 10 { // touch a file in ten live repositories with a root catalog file, two per page
			fake.PushFile("bigco", fmt.Sprintf("repo-%03d", 50*j+i+1), "main", "README.md", fmt.Sprintf("# pushed %d\n", j))
		}
		third, _ := measure(t, fake, c, s)

		wantFound := benchRootCatalog - benchArchived
		if s.glob {
			wantFound += benchNestedOnly
		}
		if found != wantFound || found2 != wantFound {
			t.Errorf("%s: found %d then %d files, want %d", s.name, found, found2, wantFound)
		}
		// What each path must cost, from its design.
		var want [3]scanFigures
		rootLive := int64(benchRootCatalog - benchArchived)
		missing := int64(live) - rootLive // repositories without a root file: 404s, never cached
		switch i {
		case 0:
			n := pages + int64(live)
			// After the pushes every page changes (pushed_at); the files do not.
			want = [3]scanFigures{{n, 0, n}, {n, pages + rootLive, missing}, {n, rootLive, missing + pages}}
		case 1:
			want = [3]scanFigures{{pages, 0, pages}, {pages, 0, pages}, {pages, 0, pages}}
		case 2:
			n := pages + int64(live) + rootLive + benchNestedOnly
			// After the pushes: the pages and ten trees change; files do not.
			want = [3]scanFigures{{n, 0, n}, {n, n, 0}, {n, n - pages - 10, pages + 10}}
		case 3:
			n := pages + int64(live) + benchNestedOnly
			want = [3]scanFigures{{n, 0, n}, {pages, 0, pages}, {pages + 10, 0, pages + 10}}
		}
		for k, got := range []scanFigures{first, second, third} {
			if got != want[k] {
				t.Errorf("%s, scan %d: got %+v, want %+v", s.name, k+1, got, want[k])
			}
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %d (%d) | %d (%d, %d) | %d (%d) |", s.name, found,
			first.requests, first.points, second.requests, second.notModified, second.points, third.requests, third.points))
	}
	t.Log("requests per full scan of a " + fmt.Sprint(benchRepos) + "-repository org\n" + strings.Join(lines, "\n"))
}

// BenchmarkScan runs cold full scans of the 500-repository org and
// reports requests and rate-limit points per scan.
func BenchmarkScan(b *testing.B) {
	fake := githubfake.New(b, githubfake.Config{CoreLimit: 1 << 30, GraphQLLimit: 1 << 30})
	seedBenchOrg(fake)
	for _, s := range benchScanners() {
		b.Run(strings.NewReplacer(" ", "_", "/", "", ":", "").Replace(s.name), func(b *testing.B) {
			var total scanFigures
			for b.Loop() {
				s.state = newScanState()
				got, _ := measure(b, fake, newBenchClient(b, fake), s)
				total.requests += got.requests
				total.points += got.points
			}
			b.ReportMetric(float64(total.requests)/float64(b.N), "requests/scan")
			b.ReportMetric(float64(total.points)/float64(b.N), "points/scan")
		})
	}
}
