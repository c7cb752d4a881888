package search

import (
	"sort"
	"strings"
	"unicode/utf8"

	bsearch "github.com/blevesearch/bleve/v2/search"
)

type (
	searchMatch     = bsearch.DocumentMatch
	searchLocations = bsearch.FieldTermLocationMap
)

// fragmentBytes is about how much text a highlighted fragment shows.
const fragmentBytes = 220

type span struct{ start, end int }

// spans returns the sorted, merged match spans of field within value.
func spans(locs searchLocations, field string, value string) []span {
	var out []span
	for _, ls := range locs[field] {
		for _, l := range ls {
			s, e := int(l.Start), int(l.End)
			if s < 0 || e > len(value) || s >= e {
				continue
			}
			out = append(out, span{s, e})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.start <= merged[n-1].end {
			merged[n-1].end = max(merged[n-1].end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// mark wraps the spans of value[from:to] in PreTag/PostTag.
func mark(value string, sp []span, from, to int) string {
	var b strings.Builder
	pos := from
	for _, s := range sp {
		if s.end <= from || s.start >= to {
			continue
		}
		st, en := max(s.start, from), min(s.end, to)
		b.WriteString(value[pos:st])
		b.WriteString(PreTag)
		b.WriteString(value[st:en])
		b.WriteString(PostTag)
		pos = en
	}
	b.WriteString(value[pos:to])
	return b.String()
}

// highlight returns the title and text fragments with matches marked, and
// the anchor of the page section the matches fall in.
func highlight(d Document, locs searchLocations, words []term) (map[string]string, string) {
	out := map[string]string{}
	if sp := spans(locs, "title", d.Title); len(sp) > 0 {
		out["title"] = mark(d.Title, sp, 0, len(d.Title))
	}
	text, field := d.Text, "text"
	sp := spans(locs, "text", text)
	if len(sp) == 0 {
		if dsp := spans(locs, "description", d.Description); len(dsp) > 0 {
			text, field, sp = d.Description, "description", dsp
		}
	}
	if len(sp) == 0 {
		return out, ""
	}
	// The window of fragmentBytes holding the most matches.
	best, bestN := 0, 0
	for i := range sp {
		n := 0
		for j := i; j < len(sp) && sp[j].end-sp[i].start <= fragmentBytes; j++ {
			n++
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	from := sp[best].start - fragmentBytes/4
	from = max(0, from)
	for from > 0 && !utf8.RuneStart(text[from]) {
		from--
	}
	if i := strings.LastIndexAny(text[max(0, from-20):from], " \n"); from > 0 && i >= 0 {
		from = max(0, from-20) + i + 1
	}
	to := min(len(text), from+fragmentBytes)
	for to < len(text) && !utf8.RuneStart(text[to]) {
		to++
	}
	frag := mark(text, sp, from, to)
	frag = strings.Join(strings.Fields(frag), " ")
	if from > 0 {
		frag = "…" + frag
	}
	if to < len(text) {
		frag += "…"
	}
	out[field] = frag
	return out, section(d, text, sp)
}

// section picks the page section holding the most matched words, headings
// counting double.
func section(d Document, text string, sp []span) string {
	if len(d.Sections) == 0 {
		return ""
	}
	seen := map[string]bool{}
	var needles []string
	for _, s := range sp {
		w := strings.ToLower(text[s.start:s.end])
		if !seen[w] {
			seen[w] = true
			needles = append(needles, w)
		}
	}
	best, bestScore := "", 0
	for _, s := range d.Sections {
		h, t := strings.ToLower(s.Heading), strings.ToLower(s.Text)
		score := 0
		for _, n := range needles {
			score += 2*strings.Count(h, n) + strings.Count(t, n)
		}
		if score > bestScore && s.Anchor != "" {
			best, bestScore = s.Anchor, score
		}
	}
	return best
}

// Excerpt returns the start of text, at most n bytes, cut at a word.
func Excerpt(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if len(text) <= n {
		return text
	}
	s := cut(text, n)
	if i := strings.LastIndexByte(s, ' '); i > n/2 {
		s = s[:i]
	}
	return s + "…"
}
