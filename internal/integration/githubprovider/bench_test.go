package githubprovider

import (
	"fmt"
	"testing"

	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/store/storetest"
)

// TestFullScanRequests measures the requests one full scan of a
// 500-repository org costs through the provider, catalog and store (the
// figures in docs/BENCHMARKS.md, "GitHub discovery"): 400 repositories
// with /catalog-info.yaml, 26 of them archived, 100 without.
func TestFullScanRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("500-repository scan")
	}
	fake := githubfake.New(t, githubfake.Config{CoreLimit: 100000, GraphQLLimit: 100000})
	fake.AddOrg("bigco")
	for i := range 500 {
		name := fmt.Sprintf("repo-%03d", i)
		files := map[string]string{"README.md": "# " + name}
		if i%5 != 0 {
			files["catalog-info.yaml"] = component(name)
		}
		fake.AddRepo("bigco", githubfake.Repo{Name: name, Archived: i%5 != 0 && i%16 == 1, Files: files})
	}
	e := newEnv(t, storetest.SQLite(t), fake, providerConfig("bigco"))
	for _, pass := range []string{"cold", "unchanged"} {
		fake.ResetStats()
		e.scan()
		st := e.prov.Status()
		if st.Requests != 5 || fake.Stats().Requests != 5 || st.FilesFound != 374 {
			t.Errorf("%s scan: %d requests (fake saw %d), %d files; want 5 requests and 374 files", pass, st.Requests, fake.Stats().Requests, st.FilesFound)
		}
		t.Logf("%s full scan of 500 repositories: %d requests, %d files, %s", pass, st.Requests, st.FilesFound, st.Duration)
	}
	if got := e.present("repo-001", "repo-002", "repo-005"); got["repo-001"] || !got["repo-002"] || got["repo-005"] {
		t.Errorf("after the scans: %v, want only repo-002 (repo-001 is archived, repo-005 has no catalog file)", got)
	}
}
