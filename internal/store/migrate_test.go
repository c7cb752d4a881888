package store

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMigrationsSameInBothDialects(t *testing.T) {
	type id struct {
		Version int
		Name    string
	}
	ids := func(dialect string) []id {
		t.Helper()
		ms, err := loadMigrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("no %s migrations", dialect)
		}
		var out []id
		for _, m := range ms {
			if strings.TrimSpace(m.sql) == "" {
				t.Errorf("%s migration %04d_%s is empty", dialect, m.version, m.name)
			}
			out = append(out, id{m.version, m.name})
		}
		return out
	}
	if diff := cmp.Diff(ids(DriverSQLite), ids(DriverPostgres)); diff != "" {
		t.Errorf("sqlite and postgres migrations differ (-sqlite +postgres):\n%s", diff)
	}
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
		{`"we?ird" = ? AND z = 'it''s ?' OR w = ?`, `"we?ird" = $1 AND z = 'it''s ?' OR w = $2`},
	}
	for _, tt := range tests {
		if got := postgresDialect.rebind(tt.in); got != tt.pg {
			t.Errorf("postgres rebind(%q) = %q, want %q", tt.in, got, tt.pg)
		}
		if got := sqliteDialect.rebind(tt.in); got != tt.in {
			t.Errorf("sqlite rebind(%q) = %q, want it unchanged", tt.in, got)
		}
	}
}

func TestCleanError(t *testing.T) {
	long := strings.Repeat("é", maxErrorLen)
	tests := []struct{ in, want string }{
		{"boom", "boom"},
		{"nul\x00byte", "nulbyte"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := cleanError(tt.in); got != tt.want {
			t.Errorf("cleanError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := cleanError(long)
	if len(got) > maxErrorLen+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("cleanError(long) has length %d and ends %q", len(got), got[len(got)-8:])
	}
}
