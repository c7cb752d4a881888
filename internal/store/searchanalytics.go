package store

import (
	"context"
	"fmt"
)

// SearchQueryStat is one day's count of a search term (SearchQueryStat;
// the store does not import the search package, whose tests use the
// store).
type SearchQueryStat struct {
	Day         string
	Term        string
	Queries     int
	ZeroResults int
}

// SearchClickStat is one day's clicks on a rank for a term.
type SearchClickStat struct {
	Day    string
	Term   string
	Rank   int
	Clicks int
}

// RecordSearchAnalytics adds aggregated search counts, in one transaction.
func (s *Store) RecordSearchAnalytics(ctx context.Context, queries []SearchQueryStat, clicks []SearchClickStat) error {
	if len(queries) == 0 && len(clicks) == 0 {
		return nil
	}
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		for _, q := range queries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_queries (day, term, queries, zero_results) VALUES (?, ?, ?, ?)
ON CONFLICT (day, term) DO UPDATE SET queries = search_queries.queries + excluded.queries,
	zero_results = search_queries.zero_results + excluded.zero_results`, q.Day, q.Term, q.Queries, q.ZeroResults); err != nil {
				return err
			}
		}
		for _, c := range clicks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO search_clicks (day, term, rank, clicks) VALUES (?, ?, ?, ?)
ON CONFLICT (day, term, rank) DO UPDATE SET clicks = search_clicks.clicks + excluded.clicks`, c.Day, c.Term, c.Rank, c.Clicks); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record search analytics: %w", err)
	}
	return nil
}

// ZeroResultQueries returns the terms that found nothing most often since
// day (YYYY-MM-DD), most frequent first.
func (s *Store) ZeroResultQueries(ctx context.Context, since string, limit int) ([]SearchQueryStat, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.queryContext(ctx, `SELECT term, SUM(queries), SUM(zero_results) FROM search_queries
WHERE day >= ? AND zero_results > 0 GROUP BY term ORDER BY SUM(zero_results) DESC, term LIMIT ?`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("store: zero-result queries: %w", err)
	}
	defer rows.Close()
	var out []SearchQueryStat
	for rows.Next() {
		var q SearchQueryStat
		if err := rows.Scan(&q.Term, &q.Queries, &q.ZeroResults); err != nil {
			return nil, fmt.Errorf("store: zero-result queries: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// SearchClicks returns click counts by rank since day, over all terms.
func (s *Store) SearchClicks(ctx context.Context, since string) (map[int]int, error) {
	rows, err := s.queryContext(ctx, `SELECT rank, SUM(clicks) FROM search_clicks WHERE day >= ? GROUP BY rank ORDER BY rank`, since)
	if err != nil {
		return nil, fmt.Errorf("store: search clicks: %w", err)
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var rank, n int
		if err := rows.Scan(&rank, &n); err != nil {
			return nil, fmt.Errorf("store: search clicks: %w", err)
		}
		out[rank] = n
	}
	return out, rows.Err()
}
