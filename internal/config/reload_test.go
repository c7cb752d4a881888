package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRestartNeededAndPermissionChanged(t *testing.T) {
	base := `backend:
  baseUrl: http://localhost:7007
permission:
  enabled: true
  bindings:
    - {role: viewer, members: [user:default/jane]}
`
	tests := []struct {
		name        string
		next        string
		restart     []string
		permChanged bool
	}{
		{"same bytes", base, nil, false},
		{"binding changed", `backend:
  baseUrl: http://localhost:7007
permission:
  enabled: true
  bindings:
    - {role: platform_admin, members: [user:default/jane]}
`, nil, true},
		{"listen and binding changed", `backend:
  baseUrl: http://localhost:7007
  listen: {port: 7100}
permission:
  enabled: false
`, []string{"backend.listen"}, true},
		{"base url changed", `backend:
  baseUrl: http://localhost:7008
permission:
  enabled: true
  bindings:
    - {role: viewer, members: [user:default/jane]}
`, []string{"app", "backend.baseUrl"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := filepath.Join(dir, "app-config.yaml")
			write(t, f, base)
			old, _ := mustLoad(t, LoadOptions{Files: []string{f}})
			write(t, f, tt.next)
			next, _ := mustLoad(t, LoadOptions{Files: []string{f}})
			if got := old.RestartNeeded(next); !slices.Equal(got, tt.restart) {
				t.Errorf("RestartNeeded = %q, want %q", got, tt.restart)
			}
			if got := old.PermissionChanged(next); got != tt.permChanged {
				t.Errorf("PermissionChanged = %v, want %v", got, tt.permChanged)
			}
		})
	}
}

func TestFingerprintFollowsContent(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.cedar")
	write(t, a, "x: 1\n")
	write(t, b, "permit(principal, action, resource);\n")
	fp := func() string {
		t.Helper()
		s, err := Fingerprint([]string{a, b})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := fp()
	write(t, a, "x: 1\n") // same bytes, new mtime
	if fp() != first {
		t.Error("rewriting the same bytes changed the fingerprint")
	}
	write(t, b, "forbid(principal, action, resource);\n")
	second := fp()
	if second == first {
		t.Error("a changed policy file did not change the fingerprint")
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if fp() == second {
		t.Error("a removed file did not change the fingerprint")
	}
}

func TestWatchedFilesIncludePolicyFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "app-config.yaml")
	write(t, filepath.Join(dir, "extra.cedar"), "permit(principal, action, resource);\n")
	write(t, f, "permission:\n  enabled: true\n  policyFiles: [extra.cedar]\n")
	c, _ := mustLoad(t, LoadOptions{Files: []string{f}})
	want := []string{f, filepath.Join(dir, "extra.cedar")}
	if got := c.WatchedFiles(); !slices.Equal(got, want) {
		t.Errorf("WatchedFiles = %q, want %q", got, want)
	}
}

func write(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
