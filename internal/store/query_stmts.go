package store

import (
	"context"
	"database/sql"
	"sync"
)

// readStmtCache keeps the read pool's statements prepared, on SQLite, by SQL
// text: parsing and planning a statement costs SQLite more than running
// the indexed reads of a by-name lookup or of most by-query pages, and the
// read path's statements come in a few hundred shapes (values are bound
// parameters). pgx caches prepared statements per connection itself, so
// PostgreSQL does not use it.
//
// A statement is prepared in the background the first time its text is
// seen (DB.PrepareContext needs a connection of the pool, which the
// caller's own transaction may be holding with every other one taken);
// until then, and for texts beyond maxCachedStmts, the query is prepared
// per use as before. Tx.StmtContext then prepares it once on each pooled
// connection and reuses it there.
type readStmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt // nil value: being prepared
}

// maxCachedStmts bounds the statements kept (each prepared on up to every
// read connection).
const maxCachedStmts = 512

// get returns the prepared statement of query, or nil when there is none
// yet (and starts preparing it).
func (c *readStmtCache) get(db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, seen := c.stmts[query]
	if seen || len(c.stmts) >= maxCachedStmts {
		return st
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = nil
	go func() {
		st, err := db.PrepareContext(context.Background(), query)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			delete(c.stmts, query) // tried again on next use
			return
		}
		c.stmts[query] = st
	}()
	return nil
}

// readStmt returns query (already rebound) prepared for the read pool, or
// nil when it runs unprepared.
func (s *Store) readStmt(query string) *sql.Stmt {
	if s.d.name == DriverPostgres {
		return nil
	}
	return s.stmts.get(s.read, query)
}
