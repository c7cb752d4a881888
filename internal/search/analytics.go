package search

import (
	"context"
	"strings"
	"sync"
	"time"
)

// QueryStat is how often a term was searched on a day, and how often it
// found nothing.
type QueryStat struct {
	Day         string `json:"day"` // YYYY-MM-DD, UTC
	Term        string `json:"term"`
	Queries     int    `json:"queries"`
	ZeroResults int    `json:"zeroResults"`
}

// ClickStat is how often a result at a rank was clicked for a term on a
// day.
type ClickStat struct {
	Day    string `json:"day"`
	Term   string `json:"term"`
	Rank   int    `json:"rank"`
	Clicks int    `json:"clicks"`
}

// Analytics stores aggregated search analytics (the store implements it).
type Analytics interface {
	RecordSearchAnalytics(ctx context.Context, queries []QueryStat, clicks []ClickStat) error
}

// maxAnalyticsTerm bounds a recorded term; maxAnalyticsKeys bounds the
// distinct terms held between flushes.
const (
	maxAnalyticsTerm = 200
	maxAnalyticsKeys = 10_000
	maxClickRank     = 1000
)

// analyticsTerm normalises a term for aggregation.
func analyticsTerm(t string) string {
	return cut(strings.ToLower(strings.Join(strings.Fields(t), " ")), maxAnalyticsTerm)
}

// tally aggregates in memory between flushes.
type tally struct {
	mu      sync.Mutex
	queries map[[2]string]*QueryStat
	clicks  map[[3]string]*ClickStat
}

func (t *tally) query(now time.Time, term string, zero bool) {
	term = analyticsTerm(term)
	if term == "" {
		return
	}
	day := now.UTC().Format(time.DateOnly)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.queries == nil {
		t.queries = map[[2]string]*QueryStat{}
	}
	k := [2]string{day, term}
	q := t.queries[k]
	if q == nil {
		if len(t.queries) >= maxAnalyticsKeys {
			return
		}
		q = &QueryStat{Day: day, Term: term}
		t.queries[k] = q
	}
	q.Queries++
	if zero {
		q.ZeroResults++
	}
}

func (t *tally) click(now time.Time, term string, rank int) {
	term = analyticsTerm(term)
	if term == "" || rank < 1 || rank > maxClickRank {
		return
	}
	day := now.UTC().Format(time.DateOnly)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clicks == nil {
		t.clicks = map[[3]string]*ClickStat{}
	}
	k := [3]string{day, term, itoa(rank)}
	c := t.clicks[k]
	if c == nil {
		if len(t.clicks) >= maxAnalyticsKeys {
			return
		}
		c = &ClickStat{Day: day, Term: term, Rank: rank}
		t.clicks[k] = c
	}
	c.Clicks++
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// take empties the tally.
func (t *tally) take() ([]QueryStat, []ClickStat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var qs []QueryStat
	for _, q := range t.queries {
		qs = append(qs, *q)
	}
	var cs []ClickStat
	for _, c := range t.clicks {
		cs = append(cs, *c)
	}
	t.queries, t.clicks = nil, nil
	return qs, cs
}

// put adds back what a failed flush took.
func (t *tally) put(qs []QueryStat, cs []ClickStat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.queries == nil {
		t.queries = map[[2]string]*QueryStat{}
	}
	if t.clicks == nil {
		t.clicks = map[[3]string]*ClickStat{}
	}
	for _, q := range qs {
		k := [2]string{q.Day, q.Term}
		if cur := t.queries[k]; cur != nil {
			cur.Queries += q.Queries
			cur.ZeroResults += q.ZeroResults
		} else if len(t.queries) < maxAnalyticsKeys {
			q := q
			t.queries[k] = &q
		}
	}
	for _, c := range cs {
		k := [3]string{c.Day, c.Term, itoa(c.Rank)}
		if cur := t.clicks[k]; cur != nil {
			cur.Clicks += c.Clicks
		} else if len(t.clicks) < maxAnalyticsKeys {
			c := c
			t.clicks[k] = &c
		}
	}
}
