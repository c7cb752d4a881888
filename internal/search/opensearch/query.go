package opensearch

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"greenroom/internal/search"
)

// builder makes request bodies. It mirrors the embedded engine's query
// (package search, bleve.go) clause for clause; where bleve sums a
// disjunction of per-field matches, OpenSearch gets one multi_match of
// type most_fields with the same field boosts (the same sum).
type builder struct {
	dialect      Dialect
	fuzziness    string // "" Greenroom's rule, "AUTO", or a number
	prefixLength int
	fragmentSize int
	fragments    int
}

type fieldBoost struct {
	field string
	boost float64
}

func boosted(fs []fieldBoost) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.field + "^" + strconv.FormatFloat(f.boost, 'f', -1, 64)
	}
	return out
}

func match(field, text string, boost float64) obj {
	return obj{"match": obj{field: obj{"query": text, "boost": boost}}}
}

func prefix(field, text string, boost float64) obj {
	return obj{"prefix": obj{field: obj{"value": text, "boost": boost}}}
}

func term(field, value string, boost float64) obj {
	q := obj{"value": value}
	if boost != 0 {
		q["boost"] = boost
	}
	return obj{"term": obj{field: q}}
}

func terms(field string, values []string) obj {
	vs := make([]string, len(values))
	for i, v := range values {
		vs[i] = strings.ToLower(v)
	}
	return obj{"terms": obj{field: vs}}
}

func should(min int, qs ...obj) obj {
	b := obj{"should": qs}
	if min > 0 {
		b["minimum_should_match"] = min
	}
	return obj{"bool": b}
}

var matchNone = obj{"match_none": obj{}}

// most makes the per-field matches of one text: a multi_match on
// OpenSearch, the equivalent bool.should of matches on ZincSearch (whose
// multi_match reads neither boosts nor fuzziness).
func (b builder) most(text string, fs []fieldBoost, fuzz any) []obj {
	if b.dialect == DialectOpenSearch {
		q := obj{"query": text, "type": "most_fields", "fields": boosted(fs)}
		if fuzz != nil {
			q["fuzziness"] = fuzz
			q["prefix_length"] = b.prefixLength
		}
		return []obj{{"multi_match": q}}
	}
	out := make([]obj, 0, len(fs))
	for _, f := range fs {
		m := obj{"query": text, "boost": f.boost}
		if fuzz != nil {
			m["fuzziness"] = fuzz
			m["prefix_length"] = b.prefixLength
		}
		out = append(out, obj{"match": obj{f.field: m}})
	}
	return out
}

// fuzz is the fuzziness of a word of n runes, nil for none.
func (b builder) fuzz(word string) any {
	n := utf8.RuneCountInString(word)
	if search.IsNumber(word) {
		return nil // 5163 is not a typo of 5162
	}
	switch b.fuzziness {
	case "":
		f := search.Fuzziness(n)
		if f == 0 {
			return nil
		}
		if b.dialect == DialectOpenSearch {
			return "AUTO:4,8" // the same rule, said in the DSL
		}
		return f
	case "AUTO", "auto":
		if b.dialect == DialectOpenSearch {
			return "AUTO"
		}
		switch {
		case n <= 2:
			return nil
		case n <= 5:
			return 1
		}
		return 2
	default:
		f, _ := strconv.Atoi(b.fuzziness)
		if f <= 0 {
			return nil
		}
		return f
	}
}

// word is every clause one query word makes.
func (b builder) word(w search.Word, fuzzText bool) obj {
	bs := search.Boosts
	n := utf8.RuneCountInString(w.Text)
	if w.CJK {
		qs := b.most(w.Text, []fieldBoost{{"name", bs.Name}, {"title", bs.Title}, {"tags", bs.Tags},
			{"description", bs.Description}, {"text", bs.Text}}, nil)
		qs = append(qs, obj{"match_phrase": obj{"text": obj{"query": w.Text, "boost": bs.Phrase}}})
		return should(0, qs...)
	}
	qs := b.most(w.Text, []fieldBoost{{"name", bs.Name}, {"title", bs.Title}, {"tags", bs.Tags},
		{"keywords", bs.Keywords}, {"description", bs.Description}, {"text", bs.Text}}, nil)
	if n >= 2 {
		qs = append(qs, prefix("name", w.Text, bs.NamePrefix))
	}
	if n >= 3 {
		qs = append(qs, prefix("title_raw", w.Text, bs.TitlePrefix), prefix("keywords", w.Text, bs.Keywords/2))
	}
	if f := b.fuzz(w.Text); f != nil {
		// One fuzzy clause over name, title and tag words, as bleve's.
		qs = append(qs, b.most(w.Text, []fieldBoost{{"words", bs.NameFuzzy}}, f)...)
		if n >= 6 && fuzzText {
			// Typos in body text: the match analyses (stems) the word
			// first, then allows the edits.
			qs = append(qs, b.most(w.Text, []fieldBoost{{"text", bs.TextFuzzy}}, f)...)
		}
	}
	if n >= search.GramMin && n <= search.GramMax {
		qs = append(qs, term("grams", w.Text, bs.Grams))
	}
	return should(0, qs...)
}

// text is the main query: each significant word must match in some field,
// one word in three may miss for long queries; the exact name and the
// phrase score extra.
func (b builder) text(cleaned string) obj {
	words := search.Words(cleaned)
	sig := slices.DeleteFunc(slices.Clone(words), func(w search.Word) bool { return w.Stop })
	if len(sig) == 0 {
		sig = words
	}
	if len(sig) == 0 {
		return obj{"match_all": obj{}}
	}
	per := make([]obj, len(sig))
	for i, w := range sig {
		per[i] = b.word(w, len(sig) <= 3)
	}
	bs := search.Boosts
	lower := strings.ToLower(cleaned)
	extra := []obj{term("name_kw", lower, bs.Exact)}
	if n := utf8.RuneCountInString(lower); n >= 5 && n <= 32 && len(words) > 1 {
		extra = append(extra, obj{"fuzzy": obj{"name_kw": obj{"value": strings.ReplaceAll(lower, " ", "-"), "fuzziness": 1, "boost": bs.Exact / 3}}})
	}
	if len(words) > 1 {
		joined := make([]string, len(words))
		for i, w := range words {
			joined[i] = w.Text
		}
		extra = append(extra, term("name_kw", strings.Join(joined, "-"), bs.Exact/2))
		for _, f := range []string{"title", "text"} {
			extra = append(extra, obj{"match_phrase": obj{f: obj{"query": cleaned, "boost": bs.Phrase}}})
		}
	}
	return obj{"bool": obj{
		"must":   []obj{should(len(sig)-len(sig)/3, per...)},
		"should": extra,
	}}
}

// loose is the fallback when nothing matches: any word within two edits
// of a name, title or tag, or sharing half its trigrams with one.
func (b builder) loose(cleaned string) obj {
	var qs []obj
	for _, w := range search.Words(cleaned) {
		if w.CJK || w.Stop {
			continue
		}
		r := []rune(w.Text)
		if len(r) < 3 {
			continue
		}
		qs = append(qs, obj{"fuzzy": obj{"words": obj{"value": w.Text, "fuzziness": 2}}})
		if len(r) >= 4 {
			var grams []obj
			for i := 0; i+3 <= len(r); i++ {
				grams = append(grams, term("grams", string(r[i:i+3]), 0))
			}
			qs = append(qs, should(int(math.Max(2, float64(len(grams)/2))), grams...))
		}
	}
	if len(qs) == 0 {
		return matchNone
	}
	return should(1, qs...)
}

// filterField maps a query filter name to its keyword field.
func filterField(name string) string {
	if name == "tags" {
		return "tags_kw"
	}
	return name
}

// restricted wraps q in the visibility, types and filters: non-scoring
// bool.filter clauses and must_not exclusions, inside the one query the
// engine runs, so hits, totals and aggregations obey them alike.
func restricted(q obj, vis search.Visibility, types []string, filters map[string][]string) obj {
	var filter, mustNot []obj
	if !vis.All {
		var allow []obj
		if len(vis.Namespaces) > 0 {
			allow = append(allow, terms("namespace", vis.Namespaces))
		}
		if len(vis.Refs) > 0 {
			allow = append(allow, terms("ref", vis.Refs))
		}
		if len(allow) == 0 {
			filter = append(filter, matchNone)
		} else {
			filter = append(filter, should(1, allow...))
		}
	}
	if len(vis.ExcludeRefs) > 0 {
		mustNot = append(mustNot, terms("ref", vis.ExcludeRefs))
	}
	if len(vis.ExcludeKinds) > 0 {
		mustNot = append(mustNot, terms("kind", vis.ExcludeKinds))
	}
	if len(types) > 0 {
		filter = append(filter, terms("doctype", types))
	}
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if vs := filters[k]; len(vs) > 0 {
			filter = append(filter, terms(filterField(k), vs))
		}
	}
	top := obj{"must": []obj{q}}
	if len(filter) > 0 {
		top["filter"] = filter
	}
	if len(mustNot) > 0 {
		top["must_not"] = mustNot
	}
	return obj{"bool": top}
}

// searchBody is the request of one results page: the top window (for the
// ranking signals), the total, the facets as terms aggregations, and the
// highlighted fragments.
func (b builder) searchBody(q search.Query, vis search.Visibility, window int) obj {
	body := obj{
		"size":             window,
		"track_total_hits": true,
		"query":            restricted(b.text(q.Term), vis, q.Types, q.Filters),
		"_source":          []string{"src"},
	}
	if len(q.Facets) > 0 {
		aggs := obj{}
		for _, f := range q.Facets {
			aggs[f] = obj{"terms": obj{"field": filterField(f), "size": 20}}
		}
		body["aggs"] = aggs
	}
	if q.Term != "" {
		hl := obj{"fragment_size": b.fragmentSize, "number_of_fragments": b.fragments}
		body["highlight"] = obj{
			"pre_tags": []string{search.PreTag}, "post_tags": []string{search.PostTag},
			"fields": obj{"title": obj{"number_of_fragments": 0}, "text": hl, "description": hl},
		}
	}
	return body
}

// closestBody asks for the nearest documents when nothing matched.
func (b builder) closestBody(q search.Query, vis search.Visibility) obj {
	return obj{"size": 5, "query": restricted(b.loose(q.Term), vis, q.Types, q.Filters), "_source": []string{"src"}}
}

// suggestBody completes the last word of prefix (the words before it must
// match too), best names first.
func (b builder) suggestBody(prefixText string, types []string, vis search.Visibility, limit int) obj {
	words := search.Words(prefixText)
	if len(words) == 0 {
		return nil
	}
	bs := search.Boosts
	last := words[len(words)-1]
	var qs []obj
	if last.CJK {
		qs = append(qs, obj{"match": obj{"title": obj{"query": last.Text}}})
	} else {
		qs = append(qs, prefix("name", last.Text, bs.Name), prefix("title_raw", last.Text, bs.Title), prefix("keywords", last.Text, bs.Keywords))
		if n := utf8.RuneCountInString(last.Text); n >= search.GramMin && n <= search.GramMax {
			qs = append(qs, term("grams", last.Text, bs.Grams))
		}
	}
	must := []obj{should(1, qs...)}
	for _, w := range words[:len(words)-1] {
		if !w.Stop {
			must = append(must, b.word(w, false))
		}
	}
	top := obj{"bool": obj{"must": must, "should": []obj{term("name_kw", strings.ToLower(prefixText), bs.Exact)}}}
	return obj{"size": limit, "query": restricted(top, vis, types, nil), "_source": []string{"src"}}
}
