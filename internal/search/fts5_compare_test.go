package search

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	_ "modernc.org/sqlite"
)

// BenchmarkFTS5Trigram measures the alternative engine the design weighed:
// SQLite FTS5 with the trigram tokenizer (modernc.org/sqlite), on the same
// corpus and judged set, ranked by bm25 with the same field order. It
// reports its MRR@10 and recall@10, indexing time and query latency, for
// docs/search.md's choice.
func BenchmarkFTS5Trigram(b *testing.B) {
	c := fullCorpus(b)
	db, err := sql.Open("sqlite", "file:fts5cmp?mode=memory&cache=shared")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE VIRTUAL TABLE docs USING fts5(key UNINDEXED, name, title, tags, description, body, tokenize='trigram')`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO docs (key, name, title, tags, description, body) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, src := range c.sources {
		if err := src.Collect(context.Background(), func(d Document) error {
			d = d.normalise()
			n++
			_, err := ins.Exec(d.Key(), d.Name, d.Title, strings.Join(d.Tags, " "), d.Description, d.Text+"\n"+strings.Join(d.Keywords, " "))
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	indexTime := time.Since(start)

	set := readJudged(b)
	// Each word of three or more characters must occur (FTS5's implicit
	// AND); the trigram tokenizer cannot match shorter words at all.
	ftsQuery := func(term string) string {
		var parts []string
		for _, w := range tokens(term) {
			if utf8.RuneCountInString(w.text) >= 3 {
				parts = append(parts, `"`+strings.ReplaceAll(w.text, `"`, `""`)+`"`)
			}
		}
		return strings.Join(parts, " ")
	}
	search := func(term string) []string {
		q := ftsQuery(term)
		if q == "" {
			return nil
		}
		rows, err := db.Query(`SELECT key FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 10, 6, 4, 2, 1) LIMIT 10`, q)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var keys []string
		for rows.Next() {
			var k string
			rows.Scan(&k)
			keys = append(keys, k)
		}
		return keys
	}
	var mrr, recall float64
	for _, j := range set {
		keys := search(j.term)
		if len(j.relevant) == 0 {
			if len(keys) == 0 {
				mrr++
				recall++
			}
			continue
		}
		found, rr := 0, 0.0
		for i, k := range keys {
			for _, r := range j.relevant {
				if k == r {
					if rr == 0 {
						rr = 1 / float64(i+1)
					}
					found++
				}
			}
		}
		mrr += rr
		recall += float64(found) / float64(len(j.relevant))
	}
	b.ResetTimer()
	for i := range b.N {
		search(set[i%len(set)].term)
	}
	b.StopTimer()
	b.ReportMetric(mrr/float64(len(set)), "MRR@10")
	b.ReportMetric(recall/float64(len(set)), "recall@10")
	b.ReportMetric(indexTime.Seconds(), "index-s")
	b.ReportMetric(float64(n), "docs")
}
