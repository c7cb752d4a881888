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
	// preparing counts the background prepares under way, which close
	// cancels (stop) and waits for: a connection they still hold would
	// otherwise be closed after the store, its files with it.
	preparing sync.WaitGroup
	stop      context.CancelFunc
	ctx       context.Context
	closed    bool
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
	if seen || len(c.stmts) >= maxCachedStmts || c.closed {
		return st
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
		c.ctx, c.stop = context.WithCancel(context.Background())
	}
	c.stmts[query] = nil
	c.preparing.Add(1)
	go func() {
		defer c.preparing.Done()
		st, err := db.PrepareContext(c.ctx, query)
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

// close stops preparing statements and waits for the prepares under way,
// before the pool they use is closed.
func (c *readStmtCache) close() {
	c.mu.Lock()
	c.closed = true
	if c.stop != nil {
		c.stop()
	}
	c.mu.Unlock()
	c.preparing.Wait()
}

// readStmt returns query (already rebound) prepared for the read pool, or
// nil when it runs unprepared.
func (s *Store) readStmt(query string) *sql.Stmt {
	if s.d.name == DriverPostgres {
		return nil
	}
	return s.stmts.get(s.read, query)
}
