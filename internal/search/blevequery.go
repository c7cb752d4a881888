package search

// The engine's queries: the clauses a term makes, and the restrictions
// (visibility, types, filters) every query carries.

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// filterField maps a query filter name to its keyword field.
func filterField(name string) string {
	if name == "tags" {
		return "tags_kw"
	}
	return name
}

func termQ(field, value string, boost float64) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	if boost != 0 {
		q.SetBoost(boost)
	}
	return q
}

func anyOf(field string, values []string) query.Query {
	qs := make([]query.Query, 0, len(values))
	for _, v := range values {
		qs = append(qs, termQ(field, strings.ToLower(v), 0))
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// restrict returns the non-scoring filter (visibility, types, filters) and
// the must-not clauses.
func restrict(vis Visibility, types []string, filters map[string][]string) (filter query.Query, mustNot []query.Query) {
	var musts []query.Query
	if !vis.All {
		var allow []query.Query
		if len(vis.Namespaces) > 0 {
			allow = append(allow, anyOf("namespace", vis.Namespaces))
		}
		if len(vis.Refs) > 0 {
			allow = append(allow, anyOf("ref", vis.Refs))
		}
		if len(allow) == 0 {
			musts = append(musts, bleve.NewMatchNoneQuery())
		} else {
			musts = append(musts, bleve.NewDisjunctionQuery(allow...))
		}
	}
	if len(vis.ExcludeRefs) > 0 {
		mustNot = append(mustNot, anyOf("ref", vis.ExcludeRefs))
	}
	if len(vis.ExcludeKinds) > 0 {
		mustNot = append(mustNot, anyOf("kind", vis.ExcludeKinds))
	}
	if len(types) > 0 {
		musts = append(musts, anyOf("doctype", types))
	}
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if vs := filters[k]; len(vs) > 0 {
			musts = append(musts, anyOf(filterField(k), vs))
		}
	}
	switch len(musts) {
	case 0:
		return nil, mustNot
	case 1:
		return musts[0], mustNot
	}
	return bleve.NewConjunctionQuery(musts...), mustNot
}

// wordQuery is every clause one query word makes; the edit-distance
// clauses only when fuzz is set (fuzzText adds one over the body text),
// the name and title prefix clauses only when prefixes is (the word being
// typed: the last one; the in-word grams cover the others' partial
// matches). Keywords keep theirs: the analyzer keeps "ledger.example" of
// an e-mail address as one word.
func (b *Bleve) wordQuery(w term, fuzz, fuzzText, prefixes bool) query.Query {
	var qs []query.Query
	match := func(field, text string, boost float64) {
		q := bleve.NewMatchQuery(text)
		q.SetField(field)
		q.SetBoost(boost)
		qs = append(qs, q)
	}
	prefix := func(field, text string, boost float64) {
		if !prefixes && field != "keywords" {
			return
		}
		q := bleve.NewPrefixQuery(text)
		q.SetField(field)
		q.SetBoost(boost)
		qs = append(qs, q)
	}
	fuzzy := func(field, text string, f int, boost float64) {
		if f == 0 || !fuzz {
			return
		}
		q := bleve.NewFuzzyQuery(text)
		q.SetField(field)
		q.SetFuzziness(f)
		q.SetBoost(boost)
		qs = append(qs, q)
	}
	n := utf8.RuneCountInString(w.text)
	if w.cjk {
		match("name", w.text, boostName)
		match("title", w.text, boostTitle)
		match("tags", w.text, boostTags)
		match("description", w.text, boostDescription)
		match("text", w.text, boostText)
		p := bleve.NewMatchPhraseQuery(w.text)
		p.SetField("text")
		p.SetBoost(boostPhrase)
		qs = append(qs, p)
		return bleve.NewDisjunctionQuery(qs...)
	}
	f := fuzziness(n)
	if isNumber(w.text) {
		f = 0 // 5163 is not a typo of 5162
	}
	match("name", w.text, boostName)
	if n >= 2 {
		prefix("name", w.text, boostNamePrefix)
	}
	match("title", w.text, boostTitle)
	if n >= 3 {
		prefix("title_raw", w.text, boostTitlePrefix)
	}
	match("tags", w.text, boostTags)
	// One Levenshtein automaton over name, title and tag words: building
	// automata is the costly part of a fuzzy clause.
	fuzzy("words", w.text, f, boostNameFuzzy)
	match("keywords", w.text, boostKeywords)
	if n >= 3 {
		prefix("keywords", w.text, boostKeywords/2)
	}
	match("description", w.text, boostDescription)
	match("text", w.text, boostText)
	if n >= 6 && fuzzText && f > 0 {
		if stem := b.stem(w.text); stem != "" {
			fuzzy("text", stem, min(1, fuzziness(utf8.RuneCountInString(stem))), boostTextFuzzy)
		}
	}
	if n >= gramMin && n <= gramMax {
		qs = append(qs, termQ("grams", w.text, boostGrams))
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func isNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// stem returns the text analyzer's single term for a word ("" for a stop
// word).
func (b *Bleve) stem(word string) string {
	ts := b.text.Analyze([]byte(word))
	if len(ts) != 1 {
		return ""
	}
	return string(ts[0].Term)
}

// significant returns the words a match must have: all but the stop
// words, or the stop words when there is nothing else.
func significant(words []term) []term {
	sig := slices.DeleteFunc(slices.Clone(words), func(t term) bool { return t.stop })
	if len(sig) == 0 {
		return words
	}
	return sig
}

// fuzzable reports whether a word gets edit-distance clauses.
func fuzzable(w term) bool {
	return !w.cjk && !isNumber(w.text) && fuzziness(utf8.RuneCountInString(w.text)) > 0
}

// textQuery matches the term: each significant word (stop words only when
// there is nothing else) must match in some field, allowing one word in
// three to miss for long queries; the exact name and the phrase score
// extra. The edit-distance clauses (the costly part: a Levenshtein
// automaton per word) are added only for the words in fuzz.
func (b *Bleve) textQuery(cleaned string, fuzz map[string]bool) query.Query {
	words := tokens(cleaned)
	sig := significant(words)
	if len(sig) == 0 {
		return bleve.NewMatchAllQuery()
	}
	per := make([]query.Query, len(sig))
	for i, w := range sig {
		// Typos in body text are looked for in short queries only: long
		// ones are phrases, whose other words carry the match.
		per[i] = b.wordQuery(w, fuzz[w.text], len(sig) <= 3, i == len(sig)-1)
	}
	words2 := bleve.NewDisjunctionQuery(per...)
	need := len(sig) - len(sig)/3
	words2.SetMin(float64(need))
	top := bleve.NewBooleanQuery()
	top.AddMust(words2)
	lower := strings.ToLower(cleaned)
	top.AddShould(termQ("name_kw", lower, boostExact))
	// The whole term within a few edits of a whole name: "ledgr-service".
	// Single words are covered by the per-word fuzzy clause; the whole
	// term's automaton is built only for joined names, and short ones (an
	// automaton's cost, allocation included, grows with its length: up to 16
	// runes; the judged set ranks the same without it).
	if n := utf8.RuneCountInString(lower); len(fuzz) > 0 && n >= 5 && n <= 16 && len(words) > 1 {
		f := bleve.NewFuzzyQuery(strings.ReplaceAll(lower, " ", "-"))
		f.SetField("name_kw")
		f.SetFuzziness(1) // two edits are the per-word clauses' job
		f.SetBoost(boostExact / 3)
		top.AddShould(f)
	}
	if len(words) > 1 {
		joined := make([]string, len(words))
		for i, w := range words {
			joined[i] = w.text
		}
		top.AddShould(termQ("name_kw", strings.Join(joined, "-"), boostExact/2))
		for _, t := range b.phrase.Analyze([]byte(cleaned)) {
			top.AddShould(termQ("phrases", string(t.Term), boostPhrase))
		}
	}
	return top
}

// looseQuery is the fallback when nothing matches: any word within two
// edits of a name, title or tag, or sharing trigrams with one.
func (b *Bleve) looseQuery(cleaned string) query.Query {
	var qs []query.Query
	for _, w := range tokens(cleaned) {
		if w.cjk || w.stop {
			continue
		}
		n := utf8.RuneCountInString(w.text)
		if n < 3 {
			continue
		}
		q := bleve.NewFuzzyQuery(w.text)
		q.SetField("words")
		q.SetFuzziness(2)
		qs = append(qs, q)
		if n >= 4 {
			r := []rune(w.text)
			var grams []query.Query
			for i := 0; i+3 <= len(r); i++ {
				grams = append(grams, termQ("grams", string(r[i:i+3]), 0))
			}
			g := bleve.NewDisjunctionQuery(grams...)
			// Half the trigrams, at least two, must be shared.
			g.SetMin(math.Max(2, float64(len(grams)/2)))
			qs = append(qs, g)
		}
	}
	if len(qs) == 0 {
		return bleve.NewMatchNoneQuery()
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func withRestrictions(q query.Query, vis Visibility, types []string, filters map[string][]string) query.Query {
	filter, mustNot := restrict(vis, types, filters)
	if filter == nil && len(mustNot) == 0 {
		return q
	}
	top := bleve.NewBooleanQuery()
	top.AddMust(q)
	top.AddMustNot(mustNot...)
	if filter != nil {
		top.AddFilter(filter)
	}
	return top
}
