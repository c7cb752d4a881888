package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/ngram"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/token/shingle"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// SchemaVersion is the version of the index layout (fields, analyzers).
// An index written by another version is rebuilt at start.
const SchemaVersion = 4

var schemaKey = []byte("greenroom.search.schema")

// Analyzer names of the mapping.
const (
	anName           = "gr_name"   // words as written, lowercased; CJK as bigrams
	anText           = "gr_text"   // English: stop words, Porter stems; CJK bigrams
	anGram           = "gr_gram"   // 3- to 12-grams of words, for in-word matching
	anPhrase         = "gr_phrase" // pairs of adjacent text words, for phrases
	gramMin, gramMax = 3, 12
)

// Boosts of the clauses one query word makes: name > title > tags >
// keywords > description > body.
const (
	boostExact       = 30
	boostName        = 10
	boostNamePrefix  = 7
	boostNameFuzzy   = 5
	boostTitle       = 6
	boostTitlePrefix = 3
	boostTags        = 4
	boostKeywords    = 3
	boostGrams       = 2
	boostDescription = 2
	boostText        = 1
	boostTextFuzzy   = 0.5
	boostPhrase      = 4
)

// Ranking signals applied to the top of the results.
const (
	rerankWindow  = 50
	ownBoost      = 0.25 // ×1.25 for the searcher's own and their teams' entities
	recentBoost   = 0.15 // up to ×1.15 for a change today, decaying
	recentHalfDay = 30   // days: half the recency boost after a month
)

// Bleve is the embedded engine: a bleve (scorch) index in a directory.
type Bleve struct {
	idx    bleve.Index
	dir    string
	text   analysis.Analyzer
	phrase analysis.Analyzer
	now    func() time.Time
	mu     sync.RWMutex // guards done; the suggester's fill holds it shared
	done   bool
	// closing stops the suggester's fill so Close need not wait for it.
	closing atomic.Bool
	sugg    *suggester
}

var _ Engine = (*Bleve)(nil)

// ErrSchema reports an index written by another schema version.
var ErrSchema = errors.New("search index has another schema version")

func indexMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomTokenFilter("gr_ngram", map[string]any{"type": ngram.Name, "min": float64(gramMin), "max": float64(gramMax)}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(anName, map[string]any{"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{cjk.WidthName, lowercase.Name, cjk.BigramName}}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(anText, map[string]any{"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{cjk.WidthName, lowercase.Name, cjk.BigramName, en.PossessiveName, en.StopName, porter.Name}}); err != nil {
		return nil, err
	}
	// A phrase is scored by its word pairs as single terms: a phrase
	// query over positions walks every document holding both words, which
	// for common words is most of the index. A removed stop word leaves
	// "_" in its place, in the document and the query alike.
	if err := m.AddCustomTokenFilter("gr_pairs", map[string]any{"type": shingle.Name, "min": float64(2), "max": float64(2),
		"output_original": false, "separator": " ", "filler": "_"}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(anPhrase, map[string]any{"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{cjk.WidthName, lowercase.Name, en.PossessiveName, en.StopName, porter.Name, "gr_pairs"}}); err != nil {
		return nil, err
	}
	if err := m.AddCustomAnalyzer(anGram, map[string]any{"type": custom.Name, "tokenizer": unicode.Name,
		"token_filters": []any{lowercase.Name, "gr_ngram"}}); err != nil {
		return nil, err
	}
	doc := bleve.NewDocumentStaticMapping()
	text := func(an string, store, vectors bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = an
		f.Store = store
		f.IncludeTermVectors = vectors
		f.IncludeInAll = false
		// Doc values serve facets and sorting, which only the keyword
		// fields do; a text field's would store every term again.
		f.DocValues = false
		return f
	}
	kw := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = store
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = true
		return f
	}
	add := func(name string, f *mapping.FieldMapping) { doc.AddFieldMappingsAt(name, f) }
	add("name", text(anName, false, false))
	add("name_kw", kw(false))
	add("title", text(anText, true, true))
	add("title_raw", text(anName, false, false))
	add("tags", text(anName, false, false))
	add("words", text(anName, false, false)) // name, title and tags, for one fuzzy clause
	add("keywords", text(anName, false, false))
	add("description", text(anText, false, true))
	add("text", text(anText, false, true))
	add("grams", text(anGram, false, false))
	add("phrases", text(anPhrase, false, false))
	for _, f := range []string{"doctype", "kind", "type", "lifecycle", "owner", "namespace", "system", "category", "tags_kw", "ref"} {
		add(f, kw(f == "doctype" || f == "kind" || f == "ref" || f == "owner"))
	}
	add("location", &mapping.FieldMapping{Type: "text", Analyzer: keyword.Name, Store: true, Index: false})
	add("updated", &mapping.FieldMapping{Type: "text", Analyzer: keyword.Name, Store: true, Index: false})
	add("src", &mapping.FieldMapping{Type: "text", Analyzer: keyword.Name, Store: true, Index: false})
	m.DefaultMapping = doc
	m.DefaultAnalyzer = anText
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m, nil
}

// NewBleve creates an empty index in dir, which must not exist.
func NewBleve(dir string) (*Bleve, error) {
	m, err := indexMapping()
	if err != nil {
		return nil, fmt.Errorf("search: index mapping: %w", err)
	}
	idx, err := bleve.NewUsing(dir, m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("search: create index %s: %w", dir, err)
	}
	if err := idx.SetInternal(schemaKey, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		idx.Close()
		return nil, fmt.Errorf("search: create index %s: %w", dir, err)
	}
	b, err := newBleve(idx, dir)
	if err != nil {
		return nil, err
	}
	b.sugg.ready = true // empty, and kept in step from now on
	return b, nil
}

// OpenBleve opens the index in dir. It fails wrapping os.ErrNotExist when
// there is none, ErrSchema when it is of another schema version, and with
// another error when it cannot be read (corruption).
func OpenBleve(dir string) (*Bleve, error) {
	if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err != nil {
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	idx, err := bleve.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	v, err := idx.GetInternal(schemaKey)
	if err != nil || string(v) != strconv.Itoa(SchemaVersion) {
		idx.Close()
		return nil, fmt.Errorf("search: open index %s (version %q, want %d): %w", dir, v, SchemaVersion, ErrSchema)
	}
	b, err := newBleve(idx, dir)
	if err != nil {
		return nil, err
	}
	// A corrupted segment shows on reading: count and run one query.
	if _, err := idx.DocCount(); err != nil {
		b.Close()
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	if _, err := idx.Search(bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 1, 0, false)); err != nil {
		b.Close()
		return nil, fmt.Errorf("search: open index %s: %w", dir, err)
	}
	b.sugg.touched = map[string]bool{}
	go b.fillSuggester()
	return b, nil
}

// fillSuggester reads every stored document into the suggester (an index
// opened from disk); suggestions come from the engine's query until done.
func (b *Bleve) fillSuggester() {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.done {
		return
	}
	adv, err := b.idx.Advanced()
	if err != nil {
		return
	}
	r, err := adv.Reader()
	if err != nil {
		return
	}
	defer r.Close()
	ids, err := r.DocIDReaderAll()
	if err != nil {
		return
	}
	defer ids.Close()
	for !b.closing.Load() {
		id, err := ids.Next()
		if err != nil || id == nil {
			break
		}
		ext, err := r.ExternalID(id)
		if err != nil {
			continue
		}
		doc, err := r.Document(ext)
		if err != nil || doc == nil {
			continue
		}
		if d, err := storedDocument(doc); err == nil {
			b.sugg.fill(d)
		}
	}
	if b.closing.Load() {
		return
	}
	b.sugg.mu.Lock()
	b.sugg.ready, b.sugg.touched = true, nil
	b.sugg.mu.Unlock()
}

func newBleve(idx bleve.Index, dir string) (*Bleve, error) {
	an := idx.Mapping().AnalyzerNamed(anText)
	if an == nil {
		idx.Close()
		return nil, fmt.Errorf("search: index %s has no %s analyzer", dir, anText)
	}
	ph := idx.Mapping().AnalyzerNamed(anPhrase)
	if ph == nil {
		idx.Close()
		return nil, fmt.Errorf("search: index %s has no %s analyzer", dir, anPhrase)
	}
	return &Bleve{idx: idx, dir: dir, text: an, phrase: ph, now: time.Now, sugg: newSuggester()}, nil
}

// Dir returns the index directory.
func (b *Bleve) Dir() string { return b.dir }

// Close closes the index.
func (b *Bleve) Close() error {
	b.closing.Store(true)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	return b.idx.Close()
}

// Compact merges the index's segments into one: a query opens a term
// dictionary and a postings iterator per segment and clause, so a freshly
// built index (a segment per batch, merged only partly in the background)
// answers several times slower than a merged one.
func (b *Bleve) Compact(ctx context.Context) error {
	adv, err := b.idx.Advanced()
	if err != nil {
		return fmt.Errorf("search: compact: %w", err)
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := sc.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		return fmt.Errorf("search: compact: %w", err)
	}
	return nil
}

// Count returns the number of documents.
func (b *Bleve) Count() (uint64, error) { return b.idx.DocCount() }

// indexed is the form a document is indexed in.
func indexed(d Document) (map[string]any, error) {
	src, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	grams := make([]string, 0, 2+len(d.Tags))
	grams = append(grams, d.Name, d.Title)
	grams = append(grams, d.Tags...)
	m := map[string]any{
		"name": d.Name, "name_kw": strings.ToLower(d.Name),
		"title": d.Title, "title_raw": d.Title,
		"tags": strings.Join(d.Tags, " "), "keywords": strings.Join(d.Keywords, " "),
		"description": d.Description, "text": d.Text,
		"grams":   strings.Join(grams, " "),
		"phrases": []string{d.Title, d.Text},
		"words":   strings.Join(grams, " "),
		"doctype": d.Type, "kind": d.Kind, "type": d.SpecType, "lifecycle": d.Lifecycle,
		"owner": d.Owner, "namespace": d.Namespace, "system": d.System, "category": d.Category,
		"ref": d.Ref, "location": d.Location, "src": string(src),
	}
	tags := make([]string, len(d.Tags))
	for i, t := range d.Tags {
		tags[i] = strings.ToLower(t)
	}
	m["tags_kw"] = tags
	if !d.UpdatedAt.IsZero() {
		m["updated"] = strconv.FormatInt(d.UpdatedAt.Unix(), 10)
	}
	return m, nil
}

// Index adds or replaces documents in one batch.
func (b *Bleve) Index(ctx context.Context, docs []Document) error {
	batch := b.idx.NewBatch()
	for _, d := range docs {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := indexed(d)
		if err != nil {
			return fmt.Errorf("search: index %s: %w", d.Key(), err)
		}
		if err := batch.Index(d.Key(), m); err != nil {
			return fmt.Errorf("search: index %s: %w", d.Key(), err)
		}
	}
	if err := b.idx.Batch(batch); err != nil {
		return fmt.Errorf("search: index batch: %w", err)
	}
	b.sugg.upsert(docs)
	return nil
}

// Delete removes documents by key.
func (b *Bleve) Delete(ctx context.Context, keys []string) error {
	batch := b.idx.NewBatch()
	for _, k := range keys {
		batch.Delete(k)
	}
	if err := b.idx.Batch(batch); err != nil {
		return fmt.Errorf("search: delete: %w", err)
	}
	b.sugg.remove(keys)
	return nil
}

func (b *Bleve) closed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.done
}

var (
	errClosed = errors.New("search: index is closed")
	// errGone: a hit deleted between the query and reading it back.
	errGone = errors.New("search: document deleted meanwhile")
)

// Search runs q (already validated) restricted to vis.
func (b *Bleve) Search(ctx context.Context, q Query, vis Visibility) (Result, error) {
	if b.closed() {
		return Result{}, errClosed
	}
	window := q.Offset + q.Limit
	if q.Offset < rerankWindow {
		window = max(window, rerankWindow)
	}
	// The ranking signals' attributes come from memory (the suggester
	// keeps them) rather than from each hit's stored fields, once it is
	// filled.
	fromMemory := b.sugg.isReady()
	run := func(fuzz map[string]bool) (*bleve.SearchResult, error) {
		main := withRestrictions(b.textQuery(q.Term, fuzz), vis, q.Types, q.Filters)
		req := bleve.NewSearchRequestOptions(main, window, 0, false)
		if !fromMemory {
			req.Fields = []string{"owner", "updated", "ref"}
		}
		for _, f := range q.Facets {
			req.AddFacet(f, bleve.NewFacetRequest(filterField(f), 20))
		}
		res, err := b.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("search: query: %w", err)
		}
		return res, nil
	}
	// Two passes: exact, prefix and in-word clauses first; edit-distance
	// clauses (a Levenshtein automaton each, the costly part) only when a
	// word may have been missed, and then only for the words no document
	// the searcher may read holds as they are.
	words := tokens(q.Term)
	var res *bleve.SearchResult
	var err error
	second := b.exactCannotMatch(words)
	if !second {
		res, err = run(nil)
		second = err == nil && q.Term != "" && b.missedWord(res, words)
	}
	var fuzzUsed map[string]bool
	if second {
		var fuzz map[string]bool
		if fuzz, err = b.unmatchedWords(ctx, words, vis, q.Types, q.Filters); err == nil && (len(fuzz) > 0 || res == nil) {
			res, err = run(fuzz)
			fuzzUsed = fuzz
		}
	}
	if err != nil {
		return Result{}, err
	}
	out := Result{Total: int(res.Total), Facets: map[string][]FacetValue{}}
	for _, f := range q.Facets {
		fr := res.Facets[f]
		if fr == nil || fr.Terms == nil {
			out.Facets[f] = []FacetValue{}
			continue
		}
		vals := []FacetValue{}
		for _, t := range fr.Terms.Terms() {
			vals = append(vals, FacetValue{Value: t.Term, Count: t.Count})
		}
		out.Facets[f] = vals
	}
	hits := res.Hits
	if q.Offset < rerankWindow && q.Term != "" {
		b.rerank(hits, q.OwnerRefs, fromMemory)
	}
	if q.Offset >= len(hits) {
		hits = nil
	} else {
		hits = hits[q.Offset:min(len(hits), q.Offset+q.Limit)]
	}
	locs, err := b.pageLocations(ctx, words, fuzzUsed, hits)
	if err != nil {
		return Result{}, err
	}
	for i, h := range hits {
		hit, err := b.load(h.ID, h.Score, locs[h.ID], words)
		if errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		hit.Rank = q.Offset + i + 1
		out.Hits = append(out.Hits, hit)
	}
	if out.Total == 0 && q.Term != "" {
		if err := b.closest(ctx, q, vis, &out); err != nil {
			return Result{}, err
		}
	}
	return out, nil
}

// rerank multiplies scores by the ranking signals and re-sorts.
func (b *Bleve) rerank(hits []*searchMatch, ownerRefs []string, fromMemory bool) {
	now := b.now()
	own := map[string]bool{}
	for _, r := range ownerRefs {
		own[strings.ToLower(r)] = true
	}
	var metas []rankMeta
	if fromMemory {
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.ID
		}
		metas = b.sugg.rankMetas(ids)
	}
	for i, h := range hits {
		var m rankMeta
		if fromMemory {
			m = metas[i]
		} else {
			m.owner, _ = h.Fields["owner"].(string)
			m.ref, _ = h.Fields["ref"].(string)
			if u, _ := h.Fields["updated"].(string); u != "" {
				m.updated, _ = strconv.ParseInt(u, 10, 64)
			}
		}
		factor := 1.0
		if m.owner != "" && own[m.owner] {
			factor += ownBoost
		} else if m.ref != "" && own[m.ref] {
			factor += ownBoost
		}
		if m.updated != 0 {
			days := now.Sub(time.Unix(m.updated, 0)).Hours() / 24
			if days < 0 {
				days = 0
			}
			factor += recentBoost * math.Exp2(-days/recentHalfDay)
		}
		h.Score *= factor
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
}

// load reads a hit's stored document and highlights it.
func (b *Bleve) load(key string, score float64, locs searchLocations, words []term) (Hit, error) {
	d, err := b.document(key)
	if err != nil {
		return Hit{}, err
	}
	hit := Hit{Document: d, Score: score}
	hit.Highlight, hit.Section = highlight(d, locs, words)
	if hit.Section != "" {
		hit.Document.Location += "#" + hit.Section
	}
	return hit, nil
}

func (b *Bleve) document(key string) (Document, error) {
	doc, err := b.idx.Document(key)
	if err != nil {
		return Document{}, fmt.Errorf("search: read %s: %w", key, err)
	}
	if doc == nil {
		return Document{}, errGone
	}
	d, err := storedDocument(doc)
	if err != nil {
		return Document{}, fmt.Errorf("search: read %s: %w", key, err)
	}
	return d, nil
}

// storedDocument decodes the document kept in the stored "src" field.
func storedDocument(doc index.Document) (Document, error) {
	var src []byte
	doc.VisitFields(func(f index.Field) {
		if f.Name() == "src" {
			src = f.Value()
		}
	})
	var d Document
	err := json.Unmarshal(src, &d)
	return d, err
}

// closest fills DidYouMean and Closest from the loose query.
func (b *Bleve) closest(ctx context.Context, q Query, vis Visibility, out *Result) error {
	loose := withRestrictions(b.looseQuery(q.Term), vis, q.Types, q.Filters)
	req := bleve.NewSearchRequestOptions(loose, 5, 0, false)
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return fmt.Errorf("search: closest: %w", err)
	}
	seen := map[string]bool{}
	for i, h := range res.Hits {
		d, err := b.document(h.ID)
		if errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			return err
		}
		out.Closest = append(out.Closest, Hit{Document: d, Score: h.Score, Rank: i + 1})
		name := d.Name
		if name == "" {
			name = d.Title
		}
		if name != "" && !seen[strings.ToLower(name)] && len(out.DidYouMean) < 3 {
			seen[strings.ToLower(name)] = true
			out.DidYouMean = append(out.DidYouMean, name)
		}
	}
	return nil
}

// Suggest completes the last word of prefix (the words before it must
// match too), best names first.
func (b *Bleve) Suggest(ctx context.Context, prefix string, types []string, vis Visibility, limit int) ([]Suggestion, error) {
	if b.closed() {
		return nil, errClosed
	}
	words := tokens(prefix)
	if len(words) == 0 {
		return []Suggestion{}, nil
	}
	// From memory; the engine's query completes what memory cannot (CJK,
	// in-word fragments, misspelt earlier words) or while it is filling.
	if out, ok := b.sugg.lookup(words, strings.ToLower(prefix), vis, types, limit); ok && len(out) > 0 {
		return out, nil
	}
	last := words[len(words)-1]
	var qs []query.Query
	if last.cjk {
		m := bleve.NewMatchQuery(last.text)
		m.SetField("title")
		qs = append(qs, m)
	} else {
		for _, c := range []struct {
			field string
			boost float64
		}{{"name", boostName}, {"title_raw", boostTitle}, {"keywords", boostKeywords}} {
			p := bleve.NewPrefixQuery(last.text)
			p.SetField(c.field)
			p.SetBoost(c.boost)
			qs = append(qs, p)
		}
		n := utf8.RuneCountInString(last.text)
		if n >= gramMin && n <= gramMax {
			qs = append(qs, termQ("grams", last.text, boostGrams))
		}
	}
	top := bleve.NewBooleanQuery()
	top.AddMust(bleve.NewDisjunctionQuery(qs...))
	for _, w := range words[:len(words)-1] {
		if w.stop {
			continue
		}
		top.AddMust(b.wordQuery(w, true, false, true))
	}
	top.AddShould(termQ("name_kw", strings.ToLower(prefix), boostExact))
	req := bleve.NewSearchRequestOptions(withRestrictions(top, vis, types, nil), limit, 0, false)
	req.Fields = []string{"title", "location", "doctype", "kind", "ref"}
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: suggest: %w", err)
	}
	out := make([]Suggestion, 0, len(res.Hits))
	for _, h := range res.Hits {
		s := Suggestion{}
		s.Title, _ = h.Fields["title"].(string)
		s.Location, _ = h.Fields["location"].(string)
		s.Type, _ = h.Fields["doctype"].(string)
		s.Kind, _ = h.Fields["kind"].(string)
		s.Ref, _ = h.Fields["ref"].(string)
		out = append(out, s)
	}
	return out, nil
}

// Size returns the bytes the index takes on disk.
func (b *Bleve) Size() int64 {
	var n int64
	filepath.WalkDir(b.dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
