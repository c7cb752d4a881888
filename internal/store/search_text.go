package store

import (
	"context"
	"fmt"
	"strings"
)

// SQLite's trigram table entity_text (migration 0021) holds the values of
// trigramKeys, one FTS5 row per search row, under the rowid textRowID
// gives it. The triggers below keep it in step with every write of
// entity_search. A bulk load drops them, as it drops the key indexes
// (trigger work was a fifth of a first load's time: 44 → 54 s at 100k
// entities), and createSearchIndex fills the table again in one statement
// and puts them back. Queries read the table only while all the triggers
// exist (pageQuery.checkTextIndex); otherwise they test the search rows.

// textKinds are the kinds the trigram table's rowids name by a code, the
// index + 1 (0: any other kind), so that a full-text filter scoped to them
// keeps only their rows without reading any table but its own.
var textKinds = []string{"component", "api", "resource", "system", "domain", "group", "user", "location", "template"}

// textKeyList is trigramKeys as an SQL list of literals.
var textKeyList = "('" + strings.Join(trigramKeys, "', '") + "')"

// textRowID is the rowid of the trigram row of the search row of alias
// (new or old in a trigger): (entity_id << 32) | (seq << 6) | (kind code
// << 2) | key code. seq numbers the rows of one entity (an entity has far
// fewer than 2^26 of them), and is unique among those of one key.
func textRowID(alias string) string {
	key := "CASE " + alias + ".key"
	for i, k := range trigramKeys {
		key += fmt.Sprintf(" WHEN '%s' THEN %d", k, i)
	}
	kind := "CASE " + alias + ".kind"
	for i, k := range textKinds {
		kind += fmt.Sprintf(" WHEN '%s' THEN %d", k, i+1)
	}
	return "(" + alias + ".entity_id << 32) | (" + alias + ".seq << 6) | ((" + kind + " ELSE 0 END) << 2) | (" + key + " END)"
}

// textTriggers are the triggers that keep entity_text in step.
var textTriggers = []struct{ name, create string }{
	{"entity_text_insert", "CREATE TRIGGER IF NOT EXISTS entity_text_insert AFTER INSERT ON entity_search" +
		" WHEN new.key IN " + textKeyList + " AND new.value IS NOT NULL BEGIN" +
		" INSERT INTO entity_text (rowid, value) VALUES (" + textRowID("new") + ", new.value); END"},
	{"entity_text_delete", "CREATE TRIGGER IF NOT EXISTS entity_text_delete AFTER DELETE ON entity_search" +
		" WHEN old.key IN " + textKeyList + " AND old.value IS NOT NULL BEGIN" +
		" DELETE FROM entity_text WHERE rowid = " + textRowID("old") + "; END"},
	// The store never updates a search row in place; should anyone, the
	// table follows.
	{"entity_text_update", "CREATE TRIGGER IF NOT EXISTS entity_text_update AFTER UPDATE ON entity_search" +
		" WHEN old.key IN " + textKeyList + " OR new.key IN " + textKeyList + " BEGIN" +
		" DELETE FROM entity_text WHERE old.value IS NOT NULL AND old.key IN " + textKeyList + " AND rowid = " + textRowID("old") + ";" +
		" INSERT INTO entity_text (rowid, value) SELECT " + textRowID("new") + ", new.value" +
		" WHERE new.value IS NOT NULL AND new.key IN " + textKeyList + "; END"},
}

// textTriggersQuery counts the triggers of textTriggers that exist.
var textTriggersQuery = func() string {
	names := make([]string, len(textTriggers))
	for i, t := range textTriggers {
		names[i] = t.name
	}
	return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('" + strings.Join(names, "', '") + "')"
}()

// textIndexMissing reports whether, on SQLite, entity_text is not kept
// in step (some trigger is missing); always false on PostgreSQL.
func (d dialect) textIndexMissing(ctx context.Context, tx *Tx) (bool, error) {
	if d.name != DriverSQLite {
		return false, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, textTriggersQuery).Scan(&n); err != nil {
		return false, fmt.Errorf("store: trigram table: %w", err)
	}
	return n < len(textTriggers), nil
}

// dropTextIndex stops keeping entity_text in step, for a bulk load, and
// empties it (createTextIndex fills it again).
func (d dialect) dropTextIndex(ctx context.Context, tx *Tx) error {
	if d.name != DriverSQLite {
		return nil
	}
	for _, t := range textTriggers {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+t.name); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO entity_text (entity_text) VALUES ('delete-all')"); err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	return nil
}

// createTextIndex fills entity_text from the search rows and creates its
// triggers, when they are missing; built says it did.
func (d dialect) createTextIndex(ctx context.Context, tx *Tx) (built bool, err error) {
	missing, err := d.textIndexMissing(ctx, tx)
	if err != nil || !missing {
		return false, err
	}
	stmts := []string{
		"INSERT INTO entity_text (entity_text) VALUES ('delete-all')",
		"INSERT INTO entity_text (rowid, value) SELECT " + textRowID("s") + ", s.value FROM entity_search s" +
			" WHERE s.key IN " + textKeyList + " AND s.value IS NOT NULL",
	}
	for _, t := range textTriggers {
		stmts = append(stmts, t.create)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("store: trigram table: %w", err)
		}
	}
	return true, nil
}
