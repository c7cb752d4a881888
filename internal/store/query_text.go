package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"greenroom/internal/catalog/query"
)

// trigramWarning is logged once per process when a PostgreSQL store runs
// full-text filters without pg_trgm (migration 0018 could not create it).
var trigramWarning sync.Once

// checkTextIndex logs, the first time a full-text filter runs on a
// PostgreSQL database without pg_trgm, that such filters scan the search
// rows (they stay correct: the trigram index is only a faster path the
// planner may take). The answer is cached per catalog version.
//
// On SQLite it reads whether the trigram table is kept in step
// (textTriggersQuery), which the statements need to use it (textLive).
func (pq *pageQuery) checkTextIndex(ctx context.Context) error {
	if pq.d.name == DriverSQLite && pq.r.FullText.Term != "" {
		n, err := pq.rd.snapshotInt(ctx, pq.version, textTriggersQuery)
		if err != nil {
			return fmt.Errorf("store: trigram table: %w", err)
		}
		pq.textLive = n == len(textTriggers)
		return nil
	}
	if pq.d.name != DriverPostgres || pq.r.FullText.Term == "" {
		return nil
	}
	n, err := pq.rd.snapshotInt(ctx, pq.version, "SELECT COUNT(*) FROM pg_extension WHERE extname = 'pg_trgm'")
	if err != nil {
		return fmt.Errorf("store: pg_trgm: %w", err)
	}
	if n == 0 {
		trigramWarning.Do(func() {
			pq.s.log.Warn("pg_trgm is not installed: full-text filters scan the search rows; CREATE EXTENSION pg_trgm (postgresql-contrib) in the database and the next catalog write builds their index")
		})
	}
	return nil
}

// trigramText reports whether ft (resolved) can be answered by SQLite's
// trigram table entity_text (migration 0021), which q may read (trigrams,
// set from pageQuery.textLive): a term of three characters
// or more, valid UTF-8 (the trigrams are of characters, LIKE compares
// bytes), none NUL (no value holds one), on trigramKeys only. It returns
// the key codes of the fields searched, nil for all of them.
func (q *sqlText) trigramText(ft query.FullTextFilter) ([]int, bool) {
	if !q.trigrams || q.d.name != DriverSQLite || len(ft.Fields) == 0 {
		return nil, false
	}
	term := query.Lower(ft.Term)
	if utf8.RuneCountInString(term) < 3 || strings.IndexByte(term, 0) >= 0 || !utf8.ValidString(term) {
		return nil, false
	}
	var codes []int
	for _, f := range lowerAll(ft.Fields) {
		code := slices.Index(trigramKeys, f)
		if code < 0 {
			return nil, false
		}
		if !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	if len(codes) == len(trigramKeys) {
		codes = nil
	}
	slices.Sort(codes)
	return codes, true
}

// trigramIDs writes a SELECT of the ids (alias id, repeated for an entity
// matching in several fields) of the entities whose values of the fields
// of codes (nil: all trigramKeys) hold ft's term, and, unless kinds is
// nil, whose kind has one of the codes kinds (textKindCodes): the rows of
// entity_text holding the term's trigrams in a row, which is the term
// itself. The term's quotes are doubled, so that it is one FTS5 string
// whatever it holds.
func (q *sqlText) trigramIDs(ft query.FullTextFilter, codes, kinds []int) {
	phrase := `"` + strings.ReplaceAll(query.Lower(ft.Term), `"`, `""`) + `"`
	q.add("SELECT rowid >> 32 AS id FROM entity_text WHERE entity_text MATCH ?", phrase)
	list := func(col string, values []int) {
		if values == nil {
			return
		}
		q.add(" AND " + col + " IN (")
		for i, c := range values {
			if i > 0 {
				q.add(", ")
			}
			q.add(strconv.Itoa(c))
		}
		q.add(")")
	}
	list("(rowid & 3)", codes)
	list("((rowid >> 2) & 15)", kinds)
}

// textKindCodes returns the codes the trigram table's rowids give kinds
// (textKinds), and whether every kind has one; nil, true for no kinds.
func textKindCodes(kinds []string) ([]int, bool) {
	if kinds == nil {
		return nil, true
	}
	codes := make([]int, 0, len(kinds))
	for _, k := range kinds {
		i := slices.Index(textKinds, k)
		if i < 0 {
			return nil, false
		}
		codes = append(codes, i+1)
	}
	return codes, true
}

// textSet writes a SELECT of the ids (alias id), each once, of the
// entities matching ft (resolved) within q's kinds, off the trigram table;
// the caller has checked trigramText (and textScoped, with kinds).
func (q *sqlText) textSet(ft query.FullTextFilter) {
	codes, _ := q.trigramText(ft)
	if kinds, ok := textKindCodes(q.kinds); ok {
		q.add("SELECT DISTINCT id FROM (")
		q.trigramIDs(ft, codes, kinds)
		q.add(") t")
		return
	}
	// A kind without a code: those of the refs, one range each of a small
	// table, where the kind rows of entity_search are a random page per
	// match.
	q.add("SELECT r.id AS id FROM entity_search_refs r WHERE r.id IN (")
	q.trigramIDs(ft, codes, nil)
	q.add(") AND ")
	q.refRanges("r.ref", q.kinds)
}

// textScoped reports whether textSet may scope the set to q's kinds (by
// ref ranges for a kind without a code): no kind with a ':' or '/', which
// a ref's kind part cannot hold (refKindPlan's rule).
func (q *sqlText) textScoped() bool {
	for _, k := range q.kinds {
		if k == "" || strings.ContainsAny(k, ":/") {
			return false
		}
	}
	return true
}

// textDriverFactor bounds the matches of a full-text filter, per row of
// the page, for which their set drives the page (textDriver): each costs
// a look-up of its order value (a random page of the search rows, ~3 µs
// warm), where the walk of the order with the set as a test costs ~0.13 µs
// a row walked, N·n/m rows for m matches among N to fill n. At 60k
// components and n = 21 they break even near m = 230.
const textDriverFactor = 10

// textDriver makes the set of the full-text filter's matches the page's
// driver when the count, made first, found few (at most textDriverFactor
// a row of the page) and the trigram table gives the set: a rare term
// then reads its matches, not a walk of the whole order that they seldom
// stop (9.6 ms for one match among 60k components, 0.3 ms driven).
func (pq *pageQuery) textDriver() {
	if pq.matches < 0 || pq.refKinds != nil || !pq.trigrams() {
		return
	}
	q := pq.sql()
	q.kinds = pq.kinds
	if !q.textScoped() {
		return
	}
	need := pq.r.Offset + max(pq.r.FetchLimit(), 1)
	if pq.matches > textDriverFactor*need || (pq.small != nil && pq.small.est <= pq.matches) {
		return
	}
	ft := pq.r.FullText
	pq.small = &candidates{text: &ft, est: pq.matches}
}

// sql returns a statement for pq's dialect, which may read the trigram
// table when it is kept in step.
func (pq *pageQuery) sql() sqlText { return sqlText{d: pq.d, trigrams: pq.textLive} }
