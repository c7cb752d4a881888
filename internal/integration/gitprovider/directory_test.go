package gitprovider_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/internal/config"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func write(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// touch moves a file's modification time forward, so an edit within the
// file system's time granularity is seen.
func touch(t *testing.T, root, name string, d time.Duration) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	at := time.Now().Add(d)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

// TestDirectoryProvider finds, updates and retires files of a local tree,
// skips an unchanged one, and reads nothing outside it.
func TestDirectoryProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		root := t.TempDir()
		outside := t.TempDir()
		write(t, outside, "secret.yaml", component("outside"))
		write(t, root, "catalog-info.yaml", component("dir-top"))
		write(t, root, "svc/a/catalog-info.yaml", component("dir-a"))
		write(t, root, "node_modules/x/catalog-info.yaml", component("vendored"))
		escape := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: escape\nspec:\n  targets: [" +
			filepath.ToSlash(must(filepath.Rel(filepath.Join(root, "svc", "b"), filepath.Join(outside, "secret.yaml")))) + "]\n"
		write(t, root, "svc/b/catalog-info.yaml", escape)
		if err := os.MkdirAll(filepath.Join(root, "svc", "link"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "svc", "link", "catalog-info.yaml")); err != nil {
			t.Fatal(err)
		}

		cat := newCatalog(t, st)
		ps := newProviders(t, cat, "", nil, []config.DirectoryProvider{{ID: "mono", Path: root, CatalogPath: "/**/catalog-info.yaml"}})
		s := run(t, ps, "directory-mono", false)
		if s.Files != 3 || s.Kind != "directory" || s.Target != root {
			t.Fatalf("state %+v, want 3 files (no node_modules, no symlink)", s)
		}
		for _, ref := range []string{"dir-top", "dir-a"} {
			if !live(t, cat, "component:default/"+ref) {
				t.Errorf("%s missing", ref)
			}
		}
		for _, ref := range []string{"vendored", "outside"} {
			if _, ok := get(t, cat, "component:default/"+ref); ok {
				t.Errorf("%s read", ref)
			}
		}
		if len(s.Problems) == 0 || !strings.Contains(strings.Join(s.Problems, "\n"), "secret.yaml") {
			t.Errorf("the Location escaping the directory is not reported: %q", s.Problems)
		}

		// Unchanged: skipped.
		if s := run(t, ps, "directory-mono", false); !s.Skipped {
			t.Errorf("unchanged tree not skipped: %+v", s)
		}

		// An edit (same size, newer mtime) and a new file are seen; a
		// deleted file's entity is orphaned.
		write(t, root, "svc/a/catalog-info.yaml", component("dir-b"))
		touch(t, root, "svc/a/catalog-info.yaml", time.Second)
		write(t, root, "svc/c/deeper/catalog-info.yaml", component("dir-c"))
		if err := os.Remove(filepath.Join(root, "catalog-info.yaml")); err != nil {
			t.Fatal(err)
		}
		s = run(t, ps, "directory-mono", false)
		if s.Skipped || s.Files != 3 {
			t.Fatalf("state after edits %+v", s)
		}
		if !live(t, cat, "component:default/dir-c") {
			t.Error("new file's entity missing")
		}
		if !live(t, cat, "component:default/dir-b") {
			t.Error("edited file's new entity missing")
		}
		if e, ok := get(t, cat, "component:default/dir-a"); !ok || !e.orphan() {
			t.Errorf("entity edited out %+v %v, want an orphan", e, ok)
		}
		if e, ok := get(t, cat, "component:default/dir-top"); !ok || !e.orphan() {
			t.Errorf("deleted file's entity %+v %v, want an orphan", e, ok)
		}
	})
}

// TestDirectoryProviderSchedule runs the directory provider through the
// jobs pool on a 1 s schedule.
func TestDirectoryProviderSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		root := t.TempDir()
		write(t, root, "catalog-info.yaml", component("sched-top"))
		cat := newCatalog(t, st)
		const freq = time.Second
		ps := startScheduled(t, st, cat, nil, []config.DirectoryProvider{{ID: "dev", Path: root,
			CatalogPath: "/**/catalog-info.yaml", Schedule: config.ProviderSchedule{Frequency: freq, Timeout: 10 * time.Second}}})
		waitFor(t, 5*time.Second, "first run", func() bool { return live(t, cat, "component:default/sched-top") })
		write(t, root, "x/catalog-info.yaml", component("sched-x"))
		if took := waitFor(t, 3*time.Second, "new file", func() bool { return live(t, cat, "component:default/sched-x") }); took > freq+freq/10+time.Second {
			t.Errorf("new file took %v, more than one interval", took)
		}
		// A directory that vanishes is an error in the state; the
		// catalog keeps its entities.
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		p := ps.Provider("directory-dev")
		waitFor(t, 3*time.Second, "error recorded", func() bool { return p.State().LastError != "" })
		if !live(t, cat, "component:default/sched-x") || !live(t, cat, "component:default/sched-top") {
			t.Error("a failed scan changed the catalog")
		}
		if s := p.State(); s.LastSuccess.IsZero() {
			t.Errorf("last success lost: %+v", s)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
