package store

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// writeStmtCache keeps the write pool's largest statements prepared across
// transactions, on SQLite. A bulk write prepares the same few multi-row
// statements in every transaction (an insert of 500 entities, of 2,000
// search rows, of 200 relations: tens of kilobytes of SQL each), and
// compiling them was a twelfth of a first load's writer time.
//
// SQLite's write pool is one connection, which the transaction asking for
// a statement holds: a statement is prepared on the pool in the background,
// once the connection is free again, and serves from the next transaction
// on (Tx.StmtContext then reuses it on that connection). Only statements
// of at least writeStmtMinLen bytes are kept, the writeStmtSlots most
// recently used: the full batches stay, while the odd sizes of the last
// batch of each write pass through and are dropped.
type writeStmtCache struct {
	mu    sync.Mutex
	db    *sql.DB
	byKey map[string]*list.Element // of *writeStmt
	lru   list.List                // front: most recently used
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc
}

type writeStmt struct {
	query string
	seen  int       // uses so far
	st    *sql.Stmt // nil until prepared
}

const (
	writeStmtSlots  = 24
	writeStmtMinLen = 2048
)

func newWriteStmtCache(db *sql.DB) *writeStmtCache {
	ctx, stop := context.WithCancel(context.Background())
	return &writeStmtCache{db: db, byKey: map[string]*list.Element{}, ctx: ctx, stop: stop}
}

// get returns query prepared on the pool, or nil. A statement is prepared
// on the pool, in the background, the second time it is asked for: the
// odd-sized statements of a write's last batch, asked for once, are not
// compiled twice.
func (c *writeStmtCache) get(query string) *sql.Stmt {
	if c == nil || len(query) < writeStmtMinLen {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return nil
	}
	if e, ok := c.byKey[query]; ok {
		c.lru.MoveToFront(e)
		ws := e.Value.(*writeStmt)
		if ws.seen++; ws.seen == 2 {
			c.prepare(ws) // in use again: worth preparing once more
		}
		return ws.st
	}
	ws := &writeStmt{query: query, seen: 1}
	c.byKey[query] = c.lru.PushFront(ws)
	for c.lru.Len() > writeStmtSlots {
		old := c.lru.Remove(c.lru.Back()).(*writeStmt)
		delete(c.byKey, old.query)
		if old.st != nil {
			// database/sql closes it on the connection once the
			// connection is back in the pool.
			_ = old.st.Close()
		}
	}
	return nil
}

// prepare prepares ws on the pool in the background; c.mu is held.
func (c *writeStmtCache) prepare(ws *writeStmt) {
	query := ws.query
	c.wg.Go(func() {
		st, err := c.db.PrepareContext(c.ctx, query)
		c.mu.Lock()
		defer c.mu.Unlock()
		e, kept := c.byKey[query]
		switch {
		case err != nil:
			if kept && e.Value.(*writeStmt) == ws {
				c.lru.Remove(e)
				delete(c.byKey, query) // tried again on next use
			}
		case !kept || e.Value.(*writeStmt) != ws || c.ctx.Err() != nil:
			_ = st.Close() // evicted while it was being prepared
		default:
			ws.st = st
		}
	})
}

// close stops preparing, waits for the prepares under way and closes the
// statements, before the pool is closed.
func (c *writeStmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.stop()
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		if st := e.Value.(*writeStmt).st; st != nil {
			_ = st.Close()
		}
	}
	c.lru.Init()
	clear(c.byKey)
}
