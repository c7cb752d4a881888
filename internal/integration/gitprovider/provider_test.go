package gitprovider_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/gitprovider"
	"greenroom/internal/store/storetest"
)

func TestNewRefusesBadSettings(t *testing.T) {
	cat := newCatalog(t, storetest.SQLite(t))
	tests := []struct {
		name     string
		git      []config.GitProvider
		dirs     []config.DirectoryProvider
		cacheDir string
		want     string
	}{
		{"bad url", []config.GitProvider{{ID: "a", URL: "ftp://h/a.git", File: "app-config.yaml", Line: 7}}, nil, "x",
			`app-config.yaml:7: catalog.providers.git.a: gitsource: `},
		{"token over plain http", []config.GitProvider{{ID: "a", URL: "http://git.acme.dev/a.git", Auth: config.GitAuth{Token: "t0ken-value"}}}, nil, "x",
			"a token is sent over plain http only to a loopback host"},
		{"ssh key that is no key", []config.GitProvider{{ID: "a", URL: "ssh://git@h/a.git", Auth: config.GitAuth{SSHKey: "not-a-key", KnownHosts: "h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}}}, nil, "x",
			"auth.sshKey is not a PEM private key"},
		{"bad pattern", []config.GitProvider{{ID: "a", URL: "https://h/a.git", CatalogPath: "!/x"}}, nil, "x",
			"catalog.providers.git.a.catalogPath"},
		{"no cache directory", []config.GitProvider{{ID: "a", URL: "https://h/a.git"}}, nil, "",
			"git providers need a cache directory"},
		{"directory without a path", nil, []config.DirectoryProvider{{ID: "d"}}, "",
			"catalog.providers.directory.d.path: a directory is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := ""
			if tt.cacheDir != "" {
				dir = t.TempDir()
			}
			_, err := gitprovider.New(tt.git, tt.dirs, gitprovider.Options{Catalog: cat, Enqueue: noEnqueue, CacheDir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error with %q", err, tt.want)
			}
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
				t.Errorf("code %q, want invalid", greenroom.ErrorCode(err))
			}
			if strings.Contains(err.Error(), "t0ken-value") {
				t.Errorf("token in the error: %v", err)
			}
		})
	}
}

// enqueued records what providers queue.
type enqueued struct {
	mu   sync.Mutex
	jobs []queued
}

type queued struct {
	kind, key string
	at        time.Time
	payload   []byte
}

func (e *enqueued) enqueue(_ context.Context, kind string, payload any, at time.Time, key string) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.jobs = append(e.jobs, queued{kind: kind, key: key, at: at, payload: b})
	return nil
}

// TestScheduleChain checks the first run's slot and dedupe key, that a job
// queues the next slot before running, and that payloads are checked.
func TestScheduleChain(t *testing.T) {
	cat := newCatalog(t, storetest.SQLite(t))
	root := t.TempDir()
	write(t, root, "catalog-info.yaml", component("chain"))
	now := time.UnixMilli(1_000_000_500) // inside slot 100_000 of 10 s
	var q enqueued
	ps, err := gitprovider.New(nil, []config.DirectoryProvider{{ID: "d", Path: root,
		Schedule: config.ProviderSchedule{Frequency: 10 * time.Second, Timeout: time.Minute, InitialDelay: 2 * time.Second}}},
		gitprovider.Options{Catalog: cat, Enqueue: q.enqueue, Now: func() time.Time { return now }, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 1 {
		t.Fatalf("Start queued %d jobs, want 1", len(q.jobs))
	}
	first := q.jobs[0]
	if first.kind != gitprovider.JobKind || first.key != "catalog.provider.git:directory-d:10000:100000" || !first.at.Equal(now.Add(2*time.Second)) {
		t.Errorf("first job %+v", first)
	}
	if err := ps.RunJob(t.Context(), first.payload); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 2 {
		t.Fatalf("the job queued %d jobs, want 1 more", len(q.jobs)-1)
	}
	second := q.jobs[1]
	if second.key != "catalog.provider.git:directory-d:10000:100001" || !second.at.Equal(time.UnixMilli(1_000_010_000)) {
		t.Errorf("next job %+v", second)
	}
	if !live(t, cat, "component:default/chain") {
		t.Error("the job did not apply the directory")
	}
	if s := ps.Provider("directory-d").State(); !s.NextRun.Equal(second.at) {
		t.Errorf("state next run %v, want %v", s.NextRun, second.at)
	}
	// A job queued under another frequency restarts from now's slot.
	if err := ps.RunJob(t.Context(), []byte(`{"provider":"directory-d","slot":5,"frequencyMs":60000}`)); err != nil {
		t.Fatal(err)
	}
	if got := q.jobs[len(q.jobs)-1].key; got != "catalog.provider.git:directory-d:10000:100001" {
		t.Errorf("job of an old frequency queued %s", got)
	}
	// A provider removed from the configuration: dropped, nothing queued.
	n := len(q.jobs)
	if err := ps.RunJob(t.Context(), []byte(`{"provider":"git-gone","slot":1,"frequencyMs":1000}`)); err != nil || len(q.jobs) != n {
		t.Errorf("job of an unknown provider: %v, %d jobs queued", err, len(q.jobs)-n)
	}
	for _, bad := range []string{`{`, `{"slot":1}`, `[]`} {
		if err := ps.RunJob(t.Context(), []byte(bad)); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("payload %s: %v, want invalid", bad, err)
		}
	}
}
