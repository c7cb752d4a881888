package search

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"greenroom/internal/greenroom"
)

// Bounds on queries.
const (
	MaxTermLength = 1000 // bytes of a search term
	MaxTokens     = 16   // query words that are matched; more are ignored
	DefaultLimit  = 25
	MaxLimit      = 100
	MaxOffset     = 1000
	SuggestLimit  = 8
	maxFilterVals = 20
)

// FilterFields are the document fields a query may filter and facet on.
var FilterFields = []string{"kind", "type", "lifecycle", "owner", "namespace", "system", "category", "tags"}

// Query is one search.
type Query struct {
	Term string
	// Types restricts the document types (Backstage's types[]).
	Types []string
	// Filters restrict fields (FilterFields) to any of their values.
	Filters map[string][]string
	// Facets lists the fields to count values of.
	Facets        []string
	Offset, Limit int
	// OwnerRefs boosts the searcher's own (and their teams') entities.
	OwnerRefs []string
}

// Visibility says what the searcher may read; the engine applies it inside
// the query, so results, counts, facets and suggestions never include
// anything else. The zero value (All false, nothing listed) shows nothing.
type Visibility struct {
	// All shows every document, apart from ExcludeRefs.
	All bool
	// Namespaces shows the documents of these namespaces.
	Namespaces []string
	// Refs shows these entity refs' documents in any namespace.
	Refs []string
	// ExcludeRefs hides these entity refs' documents, whatever else says.
	ExcludeRefs []string
	// ExcludeKinds hides whole kinds (user, for a contractor, say).
	ExcludeKinds []string
}

// Everything is the visibility of a portal without authorization.
var Everything = Visibility{All: true}

// Hit is one result.
type Hit struct {
	Document Document
	// Rank is the 1-based position over all pages.
	Rank  int
	Score float64
	// Highlight holds title and text fragments with the matches between
	// PreTag and PostTag (Backstage's ResultHighlight); the text around
	// them is as indexed, not escaped.
	Highlight map[string]string
	// Section is the anchor of the matching section of a page, already
	// appended to Document.Location.
	Section string
}

// FacetValue is one value of a facet with its count.
type FacetValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Result is one page of results.
type Result struct {
	Hits   []Hit
	Total  int
	Facets map[string][]FacetValue
	// DidYouMean proposes terms when nothing matched; Closest holds the
	// nearest entities then.
	DidYouMean []string
	Closest    []Hit
	// Notice is a visible degradation note (index being rebuilt after
	// corruption), empty when all is well.
	Notice string
}

// Suggestion is one as-you-type completion.
type Suggestion struct {
	Title    string `json:"title"`
	Location string `json:"location"`
	Type     string `json:"type"`
	Kind     string `json:"kind,omitempty"`
	Ref      string `json:"ref,omitempty"`
}

// Highlight tags; they are characters no indexed text carries, so a
// renderer can escape the fragment and then turn them into <mark>.
const (
	PreTag  = "\u0002"
	PostTag = "\u0003"
)

// term is a query word: its text, lowercased, and whether it is CJK
// (matched by bigrams, never fuzzily).
type term struct {
	text string
	cjk  bool
	stop bool
}

// CleanTerm makes a search term plain text: control characters go, query
// syntax characters (" * ~ : brackets ^ + - ! \ /) become spaces, and
// space runs collapse. It fails with CodeInvalid for a term over
// MaxTermLength bytes or one that is not UTF-8 text.
func CleanTerm(s string) (string, error) {
	if len(s) > MaxTermLength {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "search term is %d bytes long; at most %d are allowed", len(s), MaxTermLength)
	}
	if !utf8.ValidString(s) {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "search term is not UTF-8 text")
	}
	binary := 0
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == 0 || (unicode.IsControl(r) && !unicode.IsSpace(r)):
			binary++
			b.WriteRune(' ')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	if binary > 0 && binary*4 > utf8.RuneCountInString(s) {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "search term looks binary (%d control characters); send text", binary)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// tokens splits a cleaned term into the words matched: runs of letters and
// digits (kept whole across '-', '_' and '.' joins for the exact-name
// clause elsewhere), CJK runs kept together for the bigram analyzer.
func tokens(s string) []term {
	var out []term
	var cur []rune
	curCJK := false
	flush := func() {
		if len(cur) > 0 {
			t := strings.ToLower(string(cur))
			out = append(out, term{text: t, cjk: curCJK, stop: !curCJK && isStop(t)})
		}
		cur = cur[:0]
	}
	for _, r := range s {
		isCJK := isCJKRune(r)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if len(cur) > 0 && isCJK != curCJK {
				flush()
			}
			curCJK = isCJK
			cur = append(cur, r)
			continue
		}
		flush()
	}
	flush()
	// Drop duplicates, keep order, bound the count.
	seen := map[string]bool{}
	out = slices.DeleteFunc(out, func(t term) bool {
		if seen[t.text] {
			return true
		}
		seen[t.text] = true
		return false
	})
	if len(out) > MaxTokens {
		out = out[:MaxTokens]
	}
	return out
}

func isCJKRune(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// stopWords are the English stop words the text analyzer drops; a query
// word among them does not count towards the words a match must have.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with how do does i we you our what when where which who why can`) {
		stopWords[w] = true
	}
}

func isStop(w string) bool { return stopWords[w] }

// fuzziness is the edit distance allowed for a word of n runes: none up to
// 3 runes, 1 up to 7, 2 from 8.
func fuzziness(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 7:
		return 1
	default:
		return 2
	}
}

// Validate checks the query's shape and normalises it: the term cleaned,
// filters on known fields, bounds on paging.
func (q Query) Validate() (Query, error) {
	t, err := CleanTerm(q.Term)
	if err != nil {
		return q, err
	}
	q.Term = t
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return q, greenroom.Errorf(greenroom.CodeInvalid, "page limit %d: choose 1 to %d", q.Limit, MaxLimit)
	}
	if q.Offset < 0 || q.Offset > MaxOffset {
		return q, greenroom.Errorf(greenroom.CodeInvalid, "page offset %d: choose 0 to %d", q.Offset, MaxOffset)
	}
	for k, vs := range q.Filters {
		if !slices.Contains(FilterFields, k) {
			return q, greenroom.Errorf(greenroom.CodeInvalid, "filter %q is not supported; use one of %s", k, strings.Join(FilterFields, ", "))
		}
		if len(vs) > maxFilterVals {
			return q, greenroom.Errorf(greenroom.CodeInvalid, "filter %q has %d values; at most %d", k, len(vs), maxFilterVals)
		}
	}
	for _, f := range q.Facets {
		if !slices.Contains(FilterFields, f) {
			return q, greenroom.Errorf(greenroom.CodeInvalid, "facet %q is not supported; use one of %s", f, strings.Join(FilterFields, ", "))
		}
	}
	for _, t := range q.Types {
		if len(t) > 100 {
			return q, fmt.Errorf("search: %w", greenroom.Errorf(greenroom.CodeInvalid, "document type is too long"))
		}
	}
	return q, nil
}
