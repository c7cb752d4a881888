package search

import (
	"container/heap"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// suggester answers as-you-type completions from memory: every word of
// each document's name, title, tags and keywords, sorted, with the
// documents holding it best first. A prefix is a range of the sorted
// words; the range's postings are merged best first and the visibility,
// type and earlier-word checks are applied to each candidate before it
// is counted, so the first limit that pass are the best limit the
// searcher may read (the filter is part of the lookup, never applied to
// a page already cut).
//
// It also holds each document's ranking attributes (owner, ref, last
// change), so the engine's rerank of the top hits reads memory rather than
// every hit's stored fields.
//
// It is kept in step with the engine's Index and Delete; an index opened
// from disk fills it in the background (ready says when), and the engine
// answers from its own query meanwhile.
type suggester struct {
	mu    sync.RWMutex
	docs  []sdoc
	free  []int32
	slot  map[string]int32 // document key → slot
	words map[string][]spost
	// sorted are the distinct words, sorted; nil when words changed
	// since (rebuilt on the next lookup).
	sorted []string
	// names are the slots by lowercased whole name, for the exact-name
	// completion ranked first.
	names map[string][]int32
	ready bool
	// touched are the keys indexed or deleted while filling from disk:
	// the fill must not overwrite them with what it read earlier.
	touched map[string]bool
}

// sdoc is one document as completions need it.
type sdoc struct {
	key   string
	sugg  Suggestion
	ns    string
	name  string   // lowercased whole name
	words []string // distinct words, sorted, for removal and word checks
	size  int      // name (or title) length: shorter completes first
	live  bool
	// The ranking signals' attributes, for the engine's rerank.
	owner   string
	updated int64 // Unix seconds; 0 unknown
}

// rankMeta are a document's attributes the ranking signals read.
type rankMeta struct {
	owner, ref string
	updated    int64
}

func (s *suggester) isReady() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ready
}

// rankMetas returns the ranking attributes of documents by key (zero for
// a key not held).
func (s *suggester) rankMetas(keys []string) []rankMeta {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]rankMeta, len(keys))
	for i, k := range keys {
		if j, ok := s.slot[k]; ok {
			d := &s.docs[j]
			out[i] = rankMeta{owner: d.owner, ref: d.sugg.Ref, updated: d.updated}
		}
	}
	return out
}

// spost is one document holding a word, with the best field it is in.
type spost struct {
	doc  int32
	rank uint8
}

// Field ranks of a word in a document.
const (
	rankKeyword uint8 = iota + 1
	rankTag
	rankTitle
	rankName
	rankNameFirst // the name starts with the word
)

// maxSuggestWords bounds the words one document adds (an API's thousands
// of operation names).
const maxSuggestWords = 256

func newSuggester() *suggester {
	return &suggester{slot: map[string]int32{}, words: map[string][]spost{}, names: map[string][]int32{}}
}

// wordRuns calls fn for each lowercased run of letters and digits in s
// (CJK runs apart), as tokens splits a query.
func wordRuns(s string, fn func(w string, cjk bool)) {
	start, curCJK := -1, false
	for i, r := range s {
		isWord := isLetterOrDigit(r)
		isCJK := isWord && isCJKRune(r)
		if start >= 0 && (!isWord || isCJK != curCJK) {
			fn(strings.ToLower(s[start:i]), curCJK)
			start = -1
		}
		if isWord && start < 0 {
			start, curCJK = i, isCJK
		}
	}
	if start >= 0 {
		fn(strings.ToLower(s[start:]), curCJK)
	}
}

// upsert adds or replaces documents (normalised, as indexed).
func (s *suggester) upsert(docs []Document) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		if s.touched != nil {
			s.touched[d.Key()] = true
		}
		s.put(d)
	}
}

// fill adds a document read from disk unless a change got there first.
func (s *suggester) fill(d Document) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.touched[d.Key()] {
		return
	}
	s.put(d)
}

func (s *suggester) put(d Document) {
	key := d.Key()
	if i, ok := s.slot[key]; ok {
		s.drop(i)
		delete(s.slot, key)
	}
	ranks := map[string]uint8{}
	add := func(text string, rank uint8) {
		first := rank == rankName
		wordRuns(text, func(w string, _ bool) {
			r := rank
			if first {
				r, first = rankNameFirst, false
			}
			if len(ranks) < maxSuggestWords && ranks[w] < r {
				ranks[w] = r
			}
		})
	}
	add(d.Name, rankName)
	add(d.Title, rankTitle)
	for _, t := range d.Tags {
		add(t, rankTag)
	}
	for _, k := range d.Keywords {
		add(k, rankKeyword)
	}
	name := strings.ToLower(d.Name)
	size := utf8.RuneCountInString(d.Name)
	if size == 0 {
		size = utf8.RuneCountInString(d.Title)
	}
	sd := sdoc{
		key:  key,
		sugg: Suggestion{Title: d.Title, Location: d.Location, Type: d.Type, Kind: d.Kind, Ref: d.Ref},
		ns:   d.Namespace, name: name, size: size, live: true, owner: d.Owner,
	}
	if !d.UpdatedAt.IsZero() {
		sd.updated = d.UpdatedAt.Unix()
	}
	for w := range ranks {
		sd.words = append(sd.words, w)
	}
	slices.Sort(sd.words)
	var i int32
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
		s.docs[i] = sd
	} else {
		i = int32(len(s.docs))
		s.docs = append(s.docs, sd)
	}
	s.slot[key] = i
	for w, r := range ranks {
		ps, known := s.words[w]
		p := spost{doc: i, rank: r}
		at := sort.Search(len(ps), func(k int) bool { return s.less(p, ps[k]) })
		s.words[w] = slices.Insert(ps, at, p)
		if !known {
			s.sorted = nil
		}
	}
	if name != "" {
		s.names[name] = append(s.names[name], i)
	}
}

// less orders postings best first: higher rank, shorter name, then by
// key (so that the order does not depend on the order of indexing).
func (s *suggester) less(a, b spost) bool {
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	da, db := &s.docs[a.doc], &s.docs[b.doc]
	if da.size != db.size {
		return da.size < db.size
	}
	return da.key < db.key
}

// remove deletes documents by key.
func (s *suggester) remove(keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if s.touched != nil {
			s.touched[k] = true
		}
		if i, ok := s.slot[k]; ok {
			s.drop(i)
			delete(s.slot, k)
		}
	}
}

func (s *suggester) drop(i int32) {
	d := &s.docs[i]
	for _, w := range d.words {
		ps := slices.DeleteFunc(s.words[w], func(p spost) bool { return p.doc == i })
		if len(ps) == 0 {
			delete(s.words, w)
			s.sorted = nil
		} else {
			s.words[w] = ps
		}
	}
	if d.name != "" {
		if ns := slices.DeleteFunc(s.names[d.name], func(x int32) bool { return x == i }); len(ns) == 0 {
			delete(s.names, d.name)
		} else {
			s.names[d.name] = ns
		}
	}
	*d = sdoc{}
	s.free = append(s.free, i)
}

// visFilter is a Visibility (and type list) ready for checking documents
// one by one, with the same meaning as restrict's engine query.
type visFilter struct {
	all                bool
	ns, refs           map[string]bool
	exRefs, exKinds    map[string]bool
	types              map[string]bool
	hasTypes, showNone bool
}

func lowerSet(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[strings.ToLower(v)] = true
	}
	return m
}

func newVisFilter(vis Visibility, types []string) visFilter {
	f := visFilter{all: vis.All, ns: lowerSet(vis.Namespaces), refs: lowerSet(vis.Refs),
		exRefs: lowerSet(vis.ExcludeRefs), exKinds: lowerSet(vis.ExcludeKinds), types: lowerSet(types), hasTypes: len(types) > 0}
	f.showNone = !vis.All && len(vis.Namespaces) == 0 && len(vis.Refs) == 0
	return f
}

func (f *visFilter) allows(d *sdoc) bool {
	if f.showNone {
		return false
	}
	if !f.all && !f.ns[d.ns] && !f.refs[d.sugg.Ref] {
		return false
	}
	if f.exRefs[d.sugg.Ref] || f.exKinds[d.sugg.Kind] {
		return false
	}
	return !f.hasTypes || f.types[d.sugg.Type]
}

// cursor walks one word's postings.
type cursor struct {
	ps    []spost
	at    int
	exact bool // the word is the typed prefix itself
}

type cursorHeap struct {
	s  *suggester
	cs []*cursor
}

func (h *cursorHeap) Len() int { return len(h.cs) }
func (h *cursorHeap) Less(i, j int) bool {
	a, b := h.cs[i], h.cs[j]
	pa, pb := a.ps[a.at], b.ps[b.at]
	if pa.rank != pb.rank {
		return pa.rank > pb.rank
	}
	if a.exact != b.exact {
		return a.exact
	}
	return h.s.less(pa, pb)
}
func (h *cursorHeap) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap) Push(x any)    { h.cs = append(h.cs, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}

// hasWordPrefix reports whether the sorted words hold one starting with p.
func hasWordPrefix(words []string, p string) bool {
	i, _ := slices.BinarySearch(words, p)
	return i < len(words) && strings.HasPrefix(words[i], p)
}

// lookup completes the last word of words; the words before it must each
// begin a word of the document. whole is the lowercased cleaned prefix,
// matched against whole names first. ok is false when the suggester
// cannot answer (not filled yet, or a CJK word, which the engine's
// bigram query completes).
func (s *suggester) lookup(words []term, whole string, vis Visibility, types []string, limit int) (out []Suggestion, ok bool) {
	last := words[len(words)-1]
	if last.cjk {
		return nil, false
	}
	s.mu.RLock()
	if !s.ready {
		s.mu.RUnlock()
		return nil, false
	}
	if s.sorted == nil {
		s.mu.RUnlock()
		s.mu.Lock()
		if s.sorted == nil {
			sorted := make([]string, 0, len(s.words))
			for w := range s.words {
				sorted = append(sorted, w)
			}
			slices.Sort(sorted)
			s.sorted = sorted
		}
		s.mu.Unlock()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	var prior []string
	for _, w := range words[:len(words)-1] {
		if !w.stop {
			prior = append(prior, w.text)
		}
	}
	f := newVisFilter(vis, types)
	seen := map[int32]bool{}
	out = []Suggestion{}
	take := func(i int32) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		d := &s.docs[i]
		if !d.live || !f.allows(d) {
			return false
		}
		for _, p := range prior {
			if !hasWordPrefix(d.words, p) {
				return false
			}
		}
		out = append(out, d.sugg)
		return len(out) >= limit
	}
	// The whole name typed: first.
	for _, i := range s.names[whole] {
		if take(i) {
			return out, true
		}
	}
	sorted := s.sorted
	h := &cursorHeap{s: s}
	for k := sort.SearchStrings(sorted, last.text); k < len(sorted) && strings.HasPrefix(sorted[k], last.text); k++ {
		if ps := s.words[sorted[k]]; len(ps) > 0 {
			h.cs = append(h.cs, &cursor{ps: ps, exact: sorted[k] == last.text})
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		c := h.cs[0]
		if take(c.ps[c.at].doc) {
			return out, true
		}
		c.at++
		if c.at == len(c.ps) {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return out, true
}
