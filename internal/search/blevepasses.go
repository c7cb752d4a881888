package search

// The engine's passes: whether a search needs its edit-distance clauses
// and for which words, and the match locations of the returned page.

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// unmatchedWords returns the words that get edit-distance clauses: those
// no document the searcher may read holds under an exact, prefix or
// in-word clause (found by the first match of each word's clauses with the
// searcher's restrictions, so hidden documents decide nothing).
func (b *Bleve) unmatchedWords(ctx context.Context, words []term, vis Visibility, types []string, filters map[string][]string) (map[string]bool, error) {
	sig := significant(words)
	adv, err := b.idx.Advanced()
	if err != nil {
		return nil, fmt.Errorf("search: query: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("search: query: %w", err)
	}
	defer r.Close()
	out := map[string]bool{}
	for i, w := range sig {
		if !fuzzable(w) {
			continue
		}
		q := withRestrictions(b.wordQuery(w, false, false, i == len(sig)-1), vis, types, filters)
		found, err := firstMatch(ctx, q, r, b.idx.Mapping())
		if err != nil {
			return nil, fmt.Errorf("search: query: %w", err)
		}
		if !found {
			out[w.text] = true
		}
	}
	return out, nil
}

// firstMatch reports whether q matches any document, stopping at the
// first.
func firstMatch(ctx context.Context, q query.Query, r index.IndexReader, m mapping.IndexMapping) (bool, error) {
	s, err := q.Searcher(ctx, r, m, bsearch.SearcherOptions{})
	if err != nil {
		return false, err
	}
	defer s.Close()
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	dm, err := s.Next(sctx)
	return dm != nil, err
}

// exactCannotMatch reports whether more words are in no document at all
// (under any exact, prefix or in-word clause) than a match may miss: the
// exact pass would then find nothing for anyone, so it is skipped. It
// looks at the whole index, hidden documents too, but only ever skips a
// pass whose result is empty whoever searches.
func (b *Bleve) exactCannotMatch(words []term) bool {
	sig := significant(words)
	if len(sig) == 0 {
		return false
	}
	adv, err := b.idx.Advanced()
	if err != nil {
		return false
	}
	r, err := adv.Reader()
	if err != nil {
		return false
	}
	defer r.Close()
	has := func(field, t string, prefix bool) bool {
		d, err := r.FieldDictPrefix(field, []byte(t))
		if err != nil {
			return true
		}
		defer d.Close()
		e, err := d.Next()
		if err != nil {
			return true
		}
		return e != nil && (prefix || e.Term == t)
	}
	absent := 0
	for i, w := range sig {
		if !fuzzable(w) {
			continue // may match through clauses not checked here
		}
		n := utf8.RuneCountInString(w.text)
		found := has("words", w.text, i == len(sig)-1) || has("keywords", w.text, n >= 3) ||
			(n >= gramMin && n <= gramMax && has("grams", w.text, false))
		if !found {
			st := b.stem(w.text)
			found = st != "" && (has("title", st, false) || has("description", st, false) || has("text", st, false))
		}
		if !found {
			absent++
		}
	}
	return absent > len(sig)/3
}

// pageLocations finds where the words match in the title, description and
// text of the page's hits only, for highlighting: gathering locations in
// the main query would cost slices for every document matched. The
// clauses are the main query's on those fields.
func (b *Bleve) pageLocations(ctx context.Context, words []term, fuzz map[string]bool, hits []*searchMatch) (map[string]searchLocations, error) {
	sig := significant(words)
	if len(hits) == 0 || len(sig) == 0 {
		return nil, nil
	}
	var qs []query.Query
	for _, w := range sig {
		for _, f := range []string{"title", "description", "text"} {
			m := bleve.NewMatchQuery(w.text)
			m.SetField(f)
			qs = append(qs, m)
		}
		if n := utf8.RuneCountInString(w.text); fuzz[w.text] && len(sig) <= 3 && n >= 6 && fuzzable(w) {
			if stem := b.stem(w.text); stem != "" {
				if f := min(1, fuzziness(utf8.RuneCountInString(stem))); f > 0 {
					fq := bleve.NewFuzzyQuery(stem)
					fq.SetField("text")
					fq.SetFuzziness(f)
					qs = append(qs, fq)
				}
			}
		}
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(bleve.NewDocIDQuery(ids), bleve.NewDisjunctionQuery(qs...)), len(ids), 0, false)
	req.IncludeLocations = true
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: highlight: %w", err)
	}
	out := make(map[string]searchLocations, len(res.Hits))
	for _, h := range res.Hits {
		out[h.ID] = h.Locations
	}
	return out, nil
}

// missedWord reports whether the exact pass may have missed a word the
// edit-distance pass would find: nothing matched, or (when a word may be
// left out, from three words on) the best hit does not hold one of the
// words that get edit-distance clauses.
func (b *Bleve) missedWord(res *bleve.SearchResult, words []term) bool {
	sig := significant(words)
	var fz []term
	for _, w := range sig {
		if fuzzable(w) {
			fz = append(fz, w)
		}
	}
	if len(fz) == 0 {
		return false
	}
	if res.Total == 0 || len(res.Hits) == 0 {
		return true
	}
	if len(sig)-len(sig)/3 == len(sig) {
		return false // every word matched in every hit
	}
	d, err := b.document(res.Hits[0].ID)
	if err != nil {
		return true
	}
	var hay strings.Builder
	for _, s := range [][]string{{d.Name, d.Title, d.Description, d.Text}, d.Tags, d.Keywords} {
		for _, v := range s {
			hay.WriteString(strings.ToLower(v))
			hay.WriteByte('\n')
		}
	}
	h := hay.String()
	for _, w := range fz {
		if strings.Contains(h, w.text) {
			continue
		}
		if st := b.stem(w.text); st != "" && strings.Contains(h, st) {
			continue
		}
		return true
	}
	return false
}
