package search

import (
	"math"
	"strings"
	"time"
)

// The values below expose the embedded engine's matching and ranking rules
// to the other engines (search/opensearch), so that every engine analyses
// query words, boosts fields and ranks alike.

// Word is one query word as the engines match it.
type Word struct {
	Text string // lowercased
	CJK  bool   // a run of CJK characters, matched by bigrams
	Stop bool   // an English stop word
}

// Words splits a cleaned term (CleanTerm) into the words matched, as the
// embedded engine does: duplicates dropped, at most MaxTokens.
func Words(cleaned string) []Word {
	ts := tokens(cleaned)
	out := make([]Word, len(ts))
	for i, t := range ts {
		out[i] = Word{Text: t.text, CJK: t.cjk, Stop: t.stop}
	}
	return out
}

// Fuzziness is the edit distance allowed for a word of n runes.
func Fuzziness(n int) int { return fuzziness(n) }

// IsNumber reports whether a word is all digits (never matched fuzzily).
func IsNumber(w string) bool { return isNumber(w) }

// Normalise bounds a document and fills its derived values, as the Service
// does before indexing.
func Normalise(d Document) Document { return d.normalise() }

// Boosts are the field weights of one query word's clauses.
var Boosts = struct {
	Exact, Name, NamePrefix, NameFuzzy, Title, TitlePrefix, Tags, Keywords, Grams, Description, Text, TextFuzzy, Phrase float64
}{boostExact, boostName, boostNamePrefix, boostNameFuzzy, boostTitle, boostTitlePrefix, boostTags, boostKeywords,
	boostGrams, boostDescription, boostText, boostTextFuzzy, boostPhrase}

// Ranking constants: the window of top hits the signals re-rank, and the
// n-gram lengths of the in-word field.
const (
	RerankWindow = rerankWindow
	GramMin      = gramMin
	GramMax      = gramMax
)

// RankFactor is the multiplier the ranking signals give a hit: the
// searcher's own (owner or ref among own, lowercased) and recent changes.
func RankFactor(owner, ref string, updated time.Time, own map[string]bool, now time.Time) float64 {
	factor := 1.0
	if (owner != "" && own[owner]) || (ref != "" && own[ref]) {
		factor += ownBoost
	}
	if !updated.IsZero() {
		days := max(now.Sub(updated).Hours()/24, 0)
		factor += recentBoost * math.Exp2(-days/recentHalfDay)
	}
	return factor
}

// SectionOf returns the anchor of the page section holding most of the
// matched words (highlighted fragments' words), "" for none.
func SectionOf(d Document, matched []string) string {
	var b strings.Builder
	var sp []span
	for _, m := range matched {
		if m == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		sp = append(sp, span{b.Len(), b.Len() + len(m)})
		b.WriteString(m)
	}
	return section(d, b.String(), sp)
}
