package catalog

import (
	"crypto/sha256"
	"testing"
)

// Every recorded file name comes back from its relative form through
// resolveTarget, the way the refresh that re-reads it resolves it.
func TestRelativeName(t *testing.T) {
	tests := []struct{ root, name, want string }{
		{"cat/all.yaml", "cat/all.yaml", "all.yaml"},
		{"cat/all.yaml", "cat/sub/b.yaml", "sub/b.yaml"},
		{"cat/all.yaml", "other/x.yaml", "/other/x.yaml"},
		{"cat/all.yaml", "catalog/x.yaml", "/catalog/x.yaml"},
		{"all.yaml", "sub/b.yaml", "sub/b.yaml"},
		{"https://h.example/repo/all.yaml", "https://h.example/repo/a.yaml", "https://h.example/repo/a.yaml"},
		{"cat/all.yaml", "https://h.example/a.yaml", "https://h.example/a.yaml"},
	}
	for _, tt := range tests {
		got, ok := relativeName(tt.root, tt.name)
		if !ok || got != tt.want {
			t.Errorf("relativeName(%q, %q) = %q, %t; want %q", tt.root, tt.name, got, ok, tt.want)
			continue
		}
		if back, err := resolveTarget(tt.root, got); err != nil || back != tt.name {
			t.Errorf("resolveTarget(%q, %q) = %q, %v; want %q", tt.root, got, back, err, tt.name)
		}
	}
}

// A file read twice in one walk with different bytes makes the walk's
// inputs unusable: nothing is recorded for it.
func TestInputLogUnstable(t *testing.T) {
	l := newInputLog()
	l.add("a.yaml", sha256.Sum256([]byte("one")))
	l.add("a.yaml", sha256.Sum256([]byte("one")))
	ri := rawInputs{config: "c", log: l, clean: true}
	if ri.encode(Source{Root: "a.yaml"}, "h", nil) == "" || len(l.names) != 1 {
		t.Fatalf("a file read twice alike: names %v", l.names)
	}
	l.add("a.yaml", sha256.Sum256([]byte("two")))
	if got := ri.encode(Source{Root: "a.yaml"}, "h", nil); got != "" {
		t.Errorf("inputs recorded for a file that changed during the walk: %s", got)
	}
}
