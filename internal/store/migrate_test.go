package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
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

// TestSQLiteSearchClusteredMigration applies SQLite's 0020 to rows written
// under the earlier schema: every row survives, numbered 0, 1, … within
// its entity in the order written, and the per-entity index is gone.
func TestSQLiteSearchClusteredMigration(t *testing.T) {
	ms, err := loadMigrations(DriverSQLite)
	if err != nil {
		t.Fatal(err)
	}
	at := slices.IndexFunc(ms, func(m migration) bool { return m.name == "search_clustered" })
	if at < 0 {
		t.Fatal("no migration search_clustered")
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	for _, m := range ms[:at] {
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %04d: %v", m.version, err)
		}
	}
	// Two entities, rows interleaved as batches write them, one row
	// repeated within an entity and a NULL value.
	if _, err := db.ExecContext(ctx, `INSERT INTO entity_search (entity_id, key, value, original_value, kind) VALUES
		(2, 'kind', 'user', 'User', 'user'),
		(1, 'kind', 'component', 'Component', 'component'),
		(1, 'metadata.name', 'a', NULL, 'component'),
		(2, 'spec.x', NULL, NULL, 'user'),
		(1, 'metadata.tags', 't', NULL, 'component'),
		(1, 'metadata.tags', 't', NULL, 'component')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, ms[at].sql); err != nil {
		t.Fatalf("migration %04d: %v", ms[at].version, err)
	}
	rows, err := db.QueryContext(ctx, "SELECT entity_id, seq, key, COALESCE(value, '<null>'), COALESCE(original_value, ''), kind FROM entity_search ORDER BY entity_id, seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, seq int
		var key, value, original, kind string
		if err := rows.Scan(&id, &seq, &key, &value, &original, &kind); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d/%d %s=%s %s %s", id, seq, key, value, original, kind))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1/0 kind=component Component component",
		"1/1 metadata.name=a  component",
		"1/2 metadata.tags=t  component",
		"1/3 metadata.tags=t  component",
		"2/0 kind=user User user",
		"2/1 spec.x=<null>  user",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows after the migration (-want +got):\n%s", diff)
	}
	var indexes []string
	rs, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entity_search' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var name string
		if err := rs.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if diff := cmp.Diff([]string{"entity_search_key_kind", "entity_search_key_value"}, indexes); diff != "" {
		t.Errorf("indexes of entity_search (-want +got):\n%s", diff)
	}
}

// TestSQLiteTextTrigramsMigration applies SQLite's 0021 to search rows
// written before it, then what Open does after the migrations
// (createTextIndex): the trigram table holds the non-null values of the
// name, title and display name rows, under their rowids, and no others;
// doing it again changes nothing; from then on the triggers keep it in
// step.
func TestSQLiteTextTrigramsMigration(t *testing.T) {
	ms, err := loadMigrations(DriverSQLite)
	if err != nil {
		t.Fatal(err)
	}
	at := slices.IndexFunc(ms, func(m migration) bool { return m.version == 21 })
	if at < 0 || ms[at].name != "trigram_table" {
		t.Fatal("no migration 0021 trigram_table")
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := t.Context()
	for _, m := range ms[:at] {
		if _, err := db.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("migration %04d: %v", m.version, err)
		}
	}
	exec := func(q string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO entity_search (entity_id, seq, key, value, original_value, kind) VALUES
		(1, 0, 'kind', 'component', 'Component', 'component'),
		(1, 1, 'metadata.name', 'payments', NULL, 'component'),
		(1, 2, 'metadata.title', 'the payments service', 'The Payments Service', 'component'),
		(1, 3, 'metadata.description', 'payments', NULL, 'component'),
		(2, 0, 'metadata.name', 'jane', NULL, 'user'),
		(2, 1, 'spec.profile.displayname', NULL, NULL, 'user'),
		(2, 2, 'spec.profile.displayname', 'jane pay', 'Jane Pay', 'user')`)
	exec(ms[at].sql)
	fill := func() {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqliteDialect.createTextIndex(ctx, &Tx{tx: tx, d: sqliteDialect}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	holding := func(term string) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT rowid >> 32, (rowid >> 6) & 67108863, (rowid >> 2) & 15, rowid & 3 FROM entity_text WHERE entity_text MATCH ? ORDER BY rowid`, `"`+term+`"`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id, seq, kind, key int
			if err := rows.Scan(&id, &seq, &kind, &key); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d/%d kind %d key %d", id, seq, kind, key))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := holding("pay"); got != nil {
		t.Fatalf("the migration alone filled the trigram table: %v", got)
	}
	fill()
	fill()
	if diff := cmp.Diff([]string{"1/1 kind 1 key 0", "1/2 kind 1 key 1", "2/2 kind 7 key 2"}, holding("pay")); diff != "" {
		t.Errorf("trigram rows holding \"pay\" (-want +got):\n%s", diff)
	}
	exec(`DELETE FROM entity_search WHERE entity_id = 1 AND seq = 2`)
	exec(`INSERT INTO entity_search (entity_id, seq, key, value, original_value, kind) VALUES (3, 0, 'metadata.title', 'paypal', 'PayPal', 'api'), (4, 0, 'metadata.title', 'paycheck', 'Paycheck', 'custom')`)
	exec(`UPDATE entity_search SET value = 'jane doe' WHERE entity_id = 2 AND seq = 2`)
	if diff := cmp.Diff([]string{"1/1 kind 1 key 0", "3/0 kind 2 key 1", "4/0 kind 0 key 1"}, holding("pay")); diff != "" {
		t.Errorf("trigram rows holding \"pay\" after writes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"2/2 kind 7 key 2"}, holding("doe")); diff != "" {
		t.Errorf("trigram rows holding \"doe\" after an update (-want +got):\n%s", diff)
	}
}

// TestSQLiteEntityProbePlan checks that a probe of one entity's rows of a
// key, written with rowKey, reads the entity's range of the clustered
// table, not all of the key's rows in a key index (which SQLite's planner,
// without statistics, prefers for a range on the value: 0.5 s for a page
// ordered by name at 100k entities).
func TestSQLiteEntityProbePlan(t *testing.T) {
	ms, err := loadMigrations(DriverSQLite)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range ms {
		if _, err := db.ExecContext(t.Context(), m.sql); err != nil {
			t.Fatalf("migration %04d: %v", m.version, err)
		}
	}
	d := dialect{name: DriverSQLite}
	probes := []string{
		"SELECT (SELECT MIN(m.value) FROM entity_search m WHERE m.entity_id = r.id AND " + d.rowKey("m") + " = 'metadata.name') FROM entity_search_refs r",
		"SELECT r.id FROM entity_search_refs r WHERE NOT EXISTS (SELECT 1 FROM entity_search m WHERE m.entity_id = r.id AND " + d.rowKey("m") + " = 'spec.lifecycle' AND m.value < 'b')",
		"SELECT r.id FROM entity_search_refs r WHERE EXISTS (SELECT 1 FROM entity_search f WHERE f.entity_id = +r.id AND " + d.rowKey("f") + " = 'metadata.name' AND f.value >= 'pay' AND f.value < 'paz')",
	}
	for _, probe := range probes {
		rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+probe)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "; ")
		if strings.Contains(text, "entity_search_key_") || !strings.Contains(text, "PRIMARY KEY (entity_id=?)") {
			t.Errorf("%s\nplan: %s\nwant the probe on entity_search's primary key", probe, text)
		}
	}
}
