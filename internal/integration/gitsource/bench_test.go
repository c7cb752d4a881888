package gitsource

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"greenroom/internal/integration/gitsource/gittest"
)

// benchRepo creates a repository of 1,000 files, 200 of them catalog
// files (services/svcNNN/catalog-info.yaml beside four other files).
func benchRepo(b *testing.B) (*gittest.Server, Repo) {
	b.Helper()
	srv := gittest.NewServer(b)
	url := srv.CreateRepo("monorepo")
	files := map[string]string{}
	for i := range 200 {
		dir := fmt.Sprintf("services/svc%03d/", i)
		files[dir+"catalog-info.yaml"] = fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc%03d
  description: Service number %d of the benchmark monorepo.
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: team-%d
`, i, i, i%17)
		files[dir+"README.md"] = strings.Repeat(fmt.Sprintf("Service %d does things.\n", i), 40)
		files[dir+"main.go"] = fmt.Sprintf("package main\n\nfunc main() { println(%d) }\n", i) + strings.Repeat("// filler line of code\n", 60)
		files[dir+"docs/index.md"] = strings.Repeat(fmt.Sprintf("# svc%03d\n\nDocs.\n", i), 20)
		files[dir+"Makefile"] = "build:\n\tgo build ./...\n"
	}
	if len(files) != 1000 {
		b.Fatalf("benchmark repo has %d files, want 1000", len(files))
	}
	srv.Commit("monorepo", "main", files, "monorepo")
	return srv, Repo{URL: url}
}

func readCatalog(b *testing.B, c *Cache, repo Repo, commit string) {
	b.Helper()
	snap, err := c.Snapshot(context.Background(), repo, commit)
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	files, err := Glob(snap, "/**/catalog-info.yaml")
	if err != nil || len(files) != 200 {
		b.Fatalf("Glob = %d files, %v; want 200", len(files), err)
	}
	for _, f := range files {
		if _, err := snap.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSync measures, over loopback against git http-backend:
//
//	first:       a first (shallow) Sync into an empty cache
//	unchanged:   a Sync when nothing changed (one ref listing)
//	incremental: a Sync after one catalog file changed
//	glob+read:   Snapshot, Glob /**/catalog-info.yaml, read the 200 files
func BenchmarkSync(b *testing.B) {
	srv, repo := benchRepo(b)
	ctx := context.Background()

	ep, err := repo.endpoint()
	if err != nil {
		b.Fatal(err)
	}
	// report adds the pack bytes written and the HTTP requests made per
	// Sync to the benchmark's output.
	report := func(b *testing.B, bytes int64, reqs int64) {
		b.ReportMetric(float64(bytes)/float64(b.N), "pack-B/op")
		b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
	}

	b.Run("first", func(b *testing.B) {
		var bytes, reqs int64
		for range b.N {
			b.StopTimer()
			c := newBenchCache(b)
			r0 := srv.Requests()
			b.StartTimer()
			if _, _, err := c.Sync(ctx, repo); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			bytes += packBytes(filepath.Join(c.dir, ep.key))
			reqs += srv.Requests() - r0
			b.StartTimer()
		}
		report(b, bytes, reqs)
	})

	c := newBenchCache(b)
	commit, _, err := c.Sync(ctx, repo)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("unchanged", func(b *testing.B) {
		r0 := srv.Requests()
		for range b.N {
			if _, changed, err := c.Sync(ctx, repo); err != nil || changed {
				b.Fatalf("Sync: changed %v, %v", changed, err)
			}
		}
		report(b, 0, srv.Requests()-r0)
	})
	seq := 0 // across the runs of the sub-benchmark, so every commit changes a file
	b.Run("incremental", func(b *testing.B) {
		var bytes, reqs int64
		dir := filepath.Join(c.dir, ep.key)
		for range b.N {
			b.StopTimer()
			seq++
			n := seq
			srv.Commit("monorepo", "main", map[string]string{
				fmt.Sprintf("services/svc%03d/catalog-info.yaml", n%200): fmt.Sprintf("metadata: {name: changed-%d}\n", n),
			}, fmt.Sprint("change ", n))
			p0, r0 := packBytes(dir), srv.Requests()
			b.StartTimer()
			var changed bool
			if commit, changed, err = c.Sync(ctx, repo); err != nil || !changed {
				b.Fatalf("Sync: changed %v, %v", changed, err)
			}
			b.StopTimer()
			if p := packBytes(dir); p > p0 { // a compaction shrinks the clone
				bytes += p - p0
			}
			reqs += srv.Requests() - r0
			b.StartTimer()
		}
		report(b, bytes, reqs)
	})
	b.Run("glob+read", func(b *testing.B) {
		for b.Loop() {
			readCatalog(b, c, repo, commit)
		}
	})
}

func newBenchCache(b *testing.B) *Cache {
	b.Helper()
	c, err := NewCache(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
