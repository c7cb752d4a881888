package search

import (
	"container/heap"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unique"
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
//
// It holds every document of the index, so it is laid out for memory: a
// word is held once (its entry's text, which documents name by id), a
// posting is four bytes, the few distinct types, kinds, namespaces and
// owners are shared handles, the key and ref are the document's ID (and
// a part of it), a catalog entity's location is derived when asked, and
// documents sit in fixed-size chunks rather than one slice that doubles.
type suggester struct {
	mu   sync.RWMutex
	docs docTable
	free []int32
	// slots are the documents' slots by type, then ID (the key is the
	// type, "|" and the ID).
	slots []typeSlots
	// ids are the distinct words' entries in words by text; freeWords
	// the entries of words no longer held, for reuse.
	ids       map[string]int32
	words     []sword
	freeWords []int32
	// sorted are the word entries in the order of their text; nil when
	// words changed since (rebuilt on the next lookup).
	sorted []int32
	// names are the slots by lowercased whole name, for the exact-name
	// completion ranked first: the first slot, and moreNames the further
	// slots of a name several documents have, in the order indexed.
	names     map[string]int32
	moreNames map[string][]int32
	// extra are the location and ref of the documents whose own are
	// not derived (sdoc.ownLoc, sdoc.refLen < 0).
	extra map[int32]sextra
	ready bool
	// touched are the keys indexed or deleted while filling from disk:
	// the fill must not overwrite them with what it read earlier.
	touched map[string]bool
}

// typeSlots are the slots of one document type's documents by ID.
type typeSlots struct {
	typ string
	ids map[string]int32
}

// sword is one distinct word and the documents holding it, best first.
type sword struct {
	text string
	ps   []spost
}

// sdoc is one document as completions need it.
type sdoc struct {
	id    string
	title string
	name  string // the whole name as written (a part of id when it ends it)
	// The document type, kind, namespace and owner (ranking signal).
	typ, kind, ns, owner unique.Handle[string]
	words                []int32 // distinct words' entries, in the order of their text
	updated              int64   // Unix seconds; 0 unknown
	size                 int32   // name (or title) length: shorter completes first
	// refLen is the length of the ref, which begins id; -1 when it does
	// not (the ref is in the suggester's extra).
	refLen int32
	live   bool
	// ownLoc is set when the location is not the one derivedLocation
	// gives (it is in the suggester's extra).
	ownLoc bool
}

// sextra is what a document has beside what sdoc derives.
type sextra struct{ loc, ref string }

// docChunk is how many documents one chunk of the table holds.
const docChunk = 1024

// docTable holds documents by slot in fixed-size chunks: it grows a chunk
// at a time, never copying (nor holding twice) what it holds.
type docTable struct {
	chunks [][]sdoc
	n      int32
}

func (t *docTable) at(i int32) *sdoc { return &t.chunks[i/docChunk][i%docChunk] }

// grow adds a slot.
func (t *docTable) grow() int32 {
	if int(t.n)%docChunk == 0 {
		t.chunks = append(t.chunks, make([]sdoc, docChunk))
	}
	t.n++
	return t.n - 1
}

// ref returns the ref of document d in slot i.
func (s *suggester) ref(i int32, d *sdoc) string {
	if d.refLen >= 0 {
		return d.id[:d.refLen]
	}
	return s.extra[i].ref
}

func (s *suggester) suggestion(i int32, d *sdoc) Suggestion {
	loc := s.extra[i].loc
	if !d.ownLoc {
		loc = derivedLocation(d.typ.Value(), d.ns.Value(), d.kind.Value(), d.name)
	}
	return Suggestion{Title: d.title, Location: loc, Type: d.typ.Value(), Kind: d.kind.Value(), Ref: s.ref(i, d)}
}

// derivedLocation is the location EntityDocument gives a catalog entity
// or template of namespace ns (lowercased), kind (lowercased) and name;
// "" for other types.
func derivedLocation(typ, ns, kind, name string) string {
	switch typ {
	case TypeCatalog:
		return "/catalog/" + url.PathEscape(ns) + "/" + url.PathEscape(kind) + "/" + url.PathEscape(name)
	case TypeTemplate:
		return "/create/templates/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
	}
	return ""
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

// slotOf returns the slot of the document of key.
func (s *suggester) slotOf(key string) (int32, bool) {
	for _, ts := range s.slots {
		if len(key) > len(ts.typ) && key[len(ts.typ)] == '|' && key[:len(ts.typ)] == ts.typ {
			if i, ok := ts.ids[key[len(ts.typ)+1:]]; ok {
				return i, true
			}
		}
	}
	return 0, false
}

// typeSlotsOf returns the slots of documents of type typ, adding them.
func (s *suggester) typeSlotsOf(typ string) map[string]int32 {
	for _, ts := range s.slots {
		if ts.typ == typ {
			return ts.ids
		}
	}
	ids := map[string]int32{}
	s.slots = append(s.slots, typeSlots{typ: typ, ids: ids})
	return ids
}

// len returns the number of documents held.
func (s *suggester) len() int {
	n := 0
	for _, ts := range s.slots {
		n += len(ts.ids)
	}
	return n
}

// rankMetas returns the ranking attributes of documents by key (zero for
// a key not held).
func (s *suggester) rankMetas(keys []string) []rankMeta {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]rankMeta, len(keys))
	for i, k := range keys {
		if j, ok := s.slotOf(k); ok {
			d := s.docs.at(j)
			out[i] = rankMeta{owner: d.owner.Value(), ref: s.ref(j, d), updated: d.updated}
		}
	}
	return out
}

// spost is one document holding a word (its slot, shifted) with the best
// field it is in (the low bits).
type spost uint32

const spostRankBits = 3

func newSpost(doc int32, rank uint8) spost { return spost(uint32(doc)<<spostRankBits | uint32(rank)) }

func (p spost) doc() int32  { return int32(uint32(p) >> spostRankBits) }
func (p spost) rank() uint8 { return uint8(p & (1<<spostRankBits - 1)) }

// Field ranks of a word in a document (they fit spostRankBits).
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
	return &suggester{ids: map[string]int32{}, names: map[string]int32{}, moreNames: map[string][]int32{}, extra: map[int32]sextra{}}
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

// wordID returns the entry of word w, adding it.
func (s *suggester) wordID(w string) int32 {
	if id, ok := s.ids[w]; ok {
		return id
	}
	// A copy: w may be part of a longer text the document no longer
	// needs.
	w = strings.Clone(w)
	var id int32
	if n := len(s.freeWords); n > 0 {
		id, s.freeWords = s.freeWords[n-1], s.freeWords[:n-1]
		s.words[id] = sword{text: w}
	} else {
		id = int32(len(s.words))
		s.words = append(s.words, sword{text: w})
	}
	s.ids[w] = id
	s.sorted = nil
	return id
}

func (s *suggester) put(d Document) {
	ids := s.typeSlotsOf(d.Type)
	if i, ok := ids[d.ID]; ok {
		s.drop(i)
		delete(ids, d.ID)
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
	size := utf8.RuneCountInString(d.Name)
	if size == 0 {
		size = utf8.RuneCountInString(d.Title)
	}
	sd := sdoc{
		id: d.ID, title: d.Title, name: d.Name,
		typ: unique.Make(d.Type), kind: unique.Make(d.Kind), ns: unique.Make(d.Namespace), owner: unique.Make(d.Owner),
		size: int32(min(size, math.MaxInt32)), live: true,
	}
	// One string for the ID, the ref and the name where they are parts of
	// it (a catalog entity's are), and for a title that is the name.
	if strings.HasSuffix(sd.id, sd.name) {
		sd.name = sd.id[len(sd.id)-len(sd.name):]
	}
	if sd.title == sd.name {
		sd.title = sd.name
	}
	var ex sextra
	if strings.HasPrefix(sd.id, d.Ref) && len(d.Ref) <= math.MaxInt32 {
		sd.refLen = int32(len(d.Ref))
	} else {
		sd.refLen, ex.ref = -1, d.Ref
	}
	if d.Location != derivedLocation(d.Type, d.Namespace, d.Kind, d.Name) {
		sd.ownLoc, ex.loc = true, d.Location
	}
	if !d.UpdatedAt.IsZero() {
		sd.updated = d.UpdatedAt.Unix()
	}
	sd.words = make([]int32, 0, len(ranks))
	for w := range ranks {
		sd.words = append(sd.words, s.wordID(w))
	}
	slices.SortFunc(sd.words, func(a, b int32) int { return strings.Compare(s.words[a].text, s.words[b].text) })
	var i int32
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
	} else {
		i = s.docs.grow()
	}
	*s.docs.at(i) = sd
	if ex != (sextra{}) {
		s.extra[i] = ex
	}
	ids[sd.id] = i
	for w, r := range ranks {
		e := &s.words[s.ids[w]]
		p := newSpost(i, r)
		at := sort.Search(len(e.ps), func(k int) bool { return s.less(p, e.ps[k]) })
		e.ps = slices.Insert(e.ps, at, p)
	}
	if name := strings.ToLower(sd.name); name != "" {
		if _, ok := s.names[name]; ok {
			s.moreNames[name] = append(s.moreNames[name], i)
		} else {
			s.names[name] = i
		}
	}
}

// less orders postings best first: higher rank, shorter name, then by
// key (so that the order does not depend on the order of indexing).
func (s *suggester) less(a, b spost) bool {
	if a.rank() != b.rank() {
		return a.rank() > b.rank()
	}
	da, db := s.docs.at(a.doc()), s.docs.at(b.doc())
	if da.size != db.size {
		return da.size < db.size
	}
	return keyLess(da.typ.Value(), da.id, db.typ.Value(), db.id)
}

// keyLess reports whether the key ta|ia sorts before tb|ib, without
// building them.
func keyLess(ta, ia, tb, ib string) bool {
	if ta == tb {
		return ia < ib
	}
	at := func(t, id string, k int) byte {
		switch {
		case k < len(t):
			return t[k]
		case k == len(t):
			return '|'
		}
		return id[k-len(t)-1]
	}
	la, lb := len(ta)+1+len(ia), len(tb)+1+len(ib)
	for k := 0; k < la && k < lb; k++ {
		if x, y := at(ta, ia, k), at(tb, ib, k); x != y {
			return x < y
		}
	}
	return la < lb
}

// remove deletes documents by key.
func (s *suggester) remove(keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if s.touched != nil {
			s.touched[k] = true
		}
		if i, ok := s.slotOf(k); ok {
			d := s.docs.at(i)
			ids := s.typeSlotsOf(d.typ.Value())
			delete(ids, d.id)
			s.drop(i)
		}
	}
}

func (s *suggester) drop(i int32) {
	d := s.docs.at(i)
	for _, id := range d.words {
		e := &s.words[id]
		if e.ps = slices.DeleteFunc(e.ps, func(p spost) bool { return p.doc() == i }); len(e.ps) == 0 {
			delete(s.ids, e.text)
			*e = sword{}
			s.freeWords = append(s.freeWords, id)
			s.sorted = nil
		}
	}
	if name := strings.ToLower(d.name); name != "" {
		more := s.moreNames[name]
		if first, ok := s.names[name]; ok && first == i {
			if len(more) == 0 {
				delete(s.names, name)
			} else {
				s.names[name], more = more[0], slices.Delete(more, 0, 1)
			}
		} else {
			more = slices.DeleteFunc(more, func(x int32) bool { return x == i })
		}
		if len(more) == 0 {
			delete(s.moreNames, name)
		} else {
			s.moreNames[name] = more
		}
	}
	*d = sdoc{}
	delete(s.extra, i)
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

// allows reports whether document d, of ref ref, may be read.
func (f *visFilter) allows(d *sdoc, ref string) bool {
	if f.showNone {
		return false
	}
	if !f.all && !f.ns[d.ns.Value()] && !f.refs[ref] {
		return false
	}
	if f.exRefs[ref] || f.exKinds[d.kind.Value()] {
		return false
	}
	return !f.hasTypes || f.types[d.typ.Value()]
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
	if pa.rank() != pb.rank() {
		return pa.rank() > pb.rank()
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

// hasWordPrefix reports whether the words (entries, in the order of their
// text) hold one starting with p.
func (s *suggester) hasWordPrefix(words []int32, p string) bool {
	i := sort.Search(len(words), func(k int) bool { return s.words[words[k]].text >= p })
	return i < len(words) && strings.HasPrefix(s.words[words[i]].text, p)
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
			sorted := make([]int32, 0, len(s.ids))
			for _, id := range s.ids {
				sorted = append(sorted, id)
			}
			slices.SortFunc(sorted, func(a, b int32) int { return strings.Compare(s.words[a].text, s.words[b].text) })
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
		d := s.docs.at(i)
		if !d.live || !f.allows(d, s.ref(i, d)) {
			return false
		}
		for _, p := range prior {
			if !s.hasWordPrefix(d.words, p) {
				return false
			}
		}
		out = append(out, s.suggestion(i, d))
		return len(out) >= limit
	}
	// The whole name typed: first.
	if i, ok := s.names[whole]; ok {
		if take(i) {
			return out, true
		}
		for _, i := range s.moreNames[whole] {
			if take(i) {
				return out, true
			}
		}
	}
	sorted := s.sorted
	h := &cursorHeap{s: s}
	for k := sort.Search(len(sorted), func(k int) bool { return s.words[sorted[k]].text >= last.text }); k < len(sorted); k++ {
		e := &s.words[sorted[k]]
		if !strings.HasPrefix(e.text, last.text) {
			break
		}
		if len(e.ps) > 0 {
			h.cs = append(h.cs, &cursor{ps: e.ps, exact: e.text == last.text})
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		c := h.cs[0]
		if take(c.ps[c.at].doc()) {
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
