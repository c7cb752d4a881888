package opensearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"greenroom/internal/search"
)

// Engine is one index of the cluster, implementing search.Engine.
//
// A live engine reads (and, on OpenSearch, writes) through the alias, not
// the index it named when it was opened: with several replicas sharing
// the cluster, another replica's rebuild moves the alias and drops the old
// index, and every replica follows at once. An engine being rebuilt uses
// its own index until the alias swap.
type Engine struct {
	c     *Client
	index string // the concrete index
	read  string // where queries go: the alias once live
	write string // where bulk writes go
	b     builder
	// live engines make every write visible before returning, as the
	// embedded index does (refresh=true: wait_for would wait for the next
	// scheduled refresh, up to a second; catalog changes are rare enough
	// for a refresh each); an index being rebuilt is refreshed once,
	// before its alias swap.
	live   atomic.Bool
	closed atomic.Bool
	now    func() time.Time
	// keys written, on ZincSearch only, whose _refresh does not wait for
	// writes: the alias swap waits until the index holds them all.
	kmu  sync.Mutex
	keys map[string]bool
}

var _ search.Engine = (*Engine)(nil)

func newEngine(c *Client, index string) *Engine {
	o := c.opts
	return &Engine{c: c, index: index, read: index, write: index, now: time.Now, b: builder{dialect: o.Dialect, fuzziness: o.Fuzziness,
		prefixLength: o.PrefixLength, fragmentSize: o.FragmentSize, fragments: o.NumFragments}}
}

// IndexName returns the concrete index name.
func (e *Engine) IndexName() string { return e.index }

// goLive makes e read through alias, and write through it where the
// server resolves aliases for writes (OpenSearch; ZincSearch does not,
// so its writes keep to the concrete index). Called before e serves.
func (e *Engine) goLive(alias string) {
	e.read = alias
	if e.c.opts.Dialect == DialectOpenSearch {
		e.write = alias
	}
	e.live.Store(true)
}

var errClosed = errors.New("opensearch: engine is closed")

// source is the form a document is indexed in: bleve's fields, the
// document itself as JSON in src.
func source(d search.Document) (obj, error) {
	src, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	words := make([]string, 0, 2+len(d.Tags))
	words = append(words, d.Name, d.Title)
	words = append(words, d.Tags...)
	tags := make([]string, len(d.Tags))
	for i, t := range d.Tags {
		tags[i] = strings.ToLower(t)
	}
	m := obj{
		"name": d.Name, "name_kw": strings.ToLower(d.Name),
		"title": d.Title, "title_raw": d.Title,
		"tags": strings.Join(d.Tags, " "), "keywords": strings.Join(d.Keywords, " "),
		"description": d.Description, "text": d.Text,
		"grams": strings.Join(words, " "), "words": strings.Join(words, " "),
		"doctype": d.Type, "kind": d.Kind, "type": d.SpecType, "lifecycle": d.Lifecycle,
		"owner": d.Owner, "namespace": d.Namespace, "system": d.System, "category": d.Category,
		"ref": d.Ref, "location": d.Location, "src": string(src), "tags_kw": tags,
	}
	if !d.UpdatedAt.IsZero() {
		m["updated"] = d.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return m, nil
}

// Index adds or replaces documents, BatchSize per bulk request.
func (e *Engine) Index(ctx context.Context, docs []search.Document) error {
	if e.closed.Load() {
		return errClosed
	}
	for start := 0; start < len(docs); start += e.c.opts.BatchSize {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, d := range docs[start:min(len(docs), start+e.c.opts.BatchSize)] {
			m, err := source(d)
			if err != nil {
				return fmt.Errorf("opensearch: index %s: %w", d.Key(), err)
			}
			if err := enc.Encode(obj{"index": obj{"_index": e.write, "_id": d.Key()}}); err != nil {
				return err
			}
			if err := enc.Encode(m); err != nil {
				return fmt.Errorf("opensearch: index %s: %w", d.Key(), err)
			}
		}
		if err := e.bulk(ctx, buf.Bytes()); err != nil {
			return err
		}
	}
	e.track(docs, nil)
	return nil
}

func (e *Engine) track(docs []search.Document, gone []string) {
	if e.c.opts.Dialect != DialectZinc {
		return
	}
	e.kmu.Lock()
	defer e.kmu.Unlock()
	if e.keys == nil {
		e.keys = map[string]bool{}
	}
	for _, d := range docs {
		e.keys[d.Key()] = true
	}
	for _, k := range gone {
		delete(e.keys, k)
	}
}

func (e *Engine) written() uint64 {
	e.kmu.Lock()
	defer e.kmu.Unlock()
	return uint64(len(e.keys))
}

// Delete removes documents by key.
func (e *Engine) Delete(ctx context.Context, keys []string) error {
	if e.closed.Load() {
		return errClosed
	}
	for start := 0; start < len(keys); start += e.c.opts.BatchSize {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, k := range keys[start:min(len(keys), start+e.c.opts.BatchSize)] {
			if err := enc.Encode(obj{"delete": obj{"_index": e.write, "_id": k}}); err != nil {
				return err
			}
		}
		if err := e.bulk(ctx, buf.Bytes()); err != nil {
			return err
		}
	}
	e.track(nil, keys)
	return nil
}

// bulk sends one _bulk request; items the cluster rejected for load (429)
// are retried by resending the request, other item errors fail it.
func (e *Engine) bulk(ctx context.Context, body []byte) error {
	path := "/_bulk"
	if e.live.Load() {
		path += "?refresh=true"
	}
	for attempt := 0; ; attempt++ {
		out, err := e.c.Do(ctx, "POST", path, body)
		if err != nil {
			return fmt.Errorf("opensearch: bulk: %w", err)
		}
		var res struct {
			Errors bool `json:"errors"`
			Items  []map[string]struct {
				ID     string          `json:"_id"`
				Status int             `json:"status"`
				Error  json.RawMessage `json:"error"`
			} `json:"items"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return fmt.Errorf("opensearch: bulk: read answer: %w", err)
		}
		if !res.Errors {
			return nil
		}
		throttled := false
		for _, it := range res.Items {
			for op, r := range it {
				switch {
				case r.Status < 300, op == "delete" && r.Status == 404:
				case r.Status == 429:
					throttled = true
				default:
					return fmt.Errorf("opensearch: bulk %s %s: HTTP %d: %s", op, r.ID, r.Status, r.Error)
				}
			}
		}
		if !throttled || attempt >= e.c.opts.MaxRetries {
			return fmt.Errorf("opensearch: bulk: the cluster rejected documents for load after %d attempts", attempt+1)
		}
		if err := e.c.sleep(ctx, e.c.opts.InitialBackoff<<attempt); err != nil {
			return err
		}
	}
}

type hitJSON struct {
	ID        string               `json:"_id"`
	Score     float64              `json:"_score"`
	Source    struct{ Src string } `json:"_source"`
	Highlight map[string][]string  `json:"highlight"`
}

type searchJSON struct {
	Hits struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []hitJSON `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]struct {
		Buckets []struct {
			Key      any `json:"key"`
			DocCount int `json:"doc_count"`
		} `json:"buckets"`
	} `json:"aggregations"`
}

func (e *Engine) run(ctx context.Context, op string, body obj) (searchJSON, error) {
	var res searchJSON
	out, err := e.c.Do(ctx, "POST", "/"+url.PathEscape(e.read)+"/_search", body)
	if err != nil {
		return res, fmt.Errorf("opensearch: %s: %w", op, err)
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("opensearch: %s: read answer: %w", op, err)
	}
	return res, nil
}

func document(h hitJSON) (search.Document, error) {
	var d search.Document
	if err := json.Unmarshal([]byte(h.Source.Src), &d); err != nil {
		return d, fmt.Errorf("opensearch: read %s: %w", h.ID, err)
	}
	return d, nil
}

// Search runs q (already validated) restricted to vis.
func (e *Engine) Search(ctx context.Context, q search.Query, vis search.Visibility) (search.Result, error) {
	if e.closed.Load() {
		return search.Result{}, errClosed
	}
	window := q.Offset + q.Limit
	if q.Offset < search.RerankWindow {
		window = max(window, search.RerankWindow)
	}
	res, err := e.run(ctx, "query", e.b.searchBody(q, vis, window))
	if err != nil {
		return search.Result{}, err
	}
	out := search.Result{Total: res.Hits.Total.Value, Facets: map[string][]search.FacetValue{}}
	for _, f := range q.Facets {
		vals := []search.FacetValue{}
		for _, b := range res.Aggregations[f].Buckets {
			vals = append(vals, search.FacetValue{Value: fmt.Sprint(b.Key), Count: b.DocCount})
		}
		// Count first, then value, whatever order the server keeps ties.
		sort.SliceStable(vals, func(i, j int) bool {
			if vals[i].Count != vals[j].Count {
				return vals[i].Count > vals[j].Count
			}
			return vals[i].Value < vals[j].Value
		})
		out.Facets[f] = vals
	}
	hits := make([]search.Hit, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		d, err := document(h)
		if err != nil {
			return search.Result{}, err
		}
		hit := search.Hit{Document: d, Score: h.Score}
		hit.Highlight, hit.Section = e.highlight(d, h.Highlight)
		if hit.Section != "" {
			hit.Document.Location += "#" + hit.Section
		}
		hits = append(hits, hit)
	}
	if q.Offset < search.RerankWindow && q.Term != "" {
		e.rerank(hits, q.OwnerRefs)
	}
	if q.Offset >= len(hits) {
		hits = nil
	} else {
		hits = hits[q.Offset:min(len(hits), q.Offset+q.Limit)]
	}
	for i := range hits {
		hits[i].Rank = q.Offset + i + 1
	}
	out.Hits = hits
	if out.Total == 0 && q.Term != "" {
		if err := e.closest(ctx, q, vis, &out); err != nil {
			return search.Result{}, err
		}
	}
	return out, nil
}

// rerank multiplies scores by the ranking signals and re-sorts, as the
// embedded engine does.
func (e *Engine) rerank(hits []search.Hit, ownerRefs []string) {
	now := e.now()
	own := map[string]bool{}
	for _, r := range ownerRefs {
		own[strings.ToLower(r)] = true
	}
	for i := range hits {
		d := hits[i].Document
		hits[i].Score *= search.RankFactor(d.Owner, d.Ref, d.UpdatedAt, own, now)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
}

// highlight turns the server's fragments into the Hit's: the title whole,
// one text (or description) fragment, and the section the matched words
// fall in.
func (e *Engine) highlight(d search.Document, hl map[string][]string) (map[string]string, string) {
	out := map[string]string{}
	if fs := hl["title"]; len(fs) > 0 {
		out["title"] = fs[0]
	}
	field := "text"
	fs := hl["text"]
	if len(fs) == 0 {
		field, fs = "description", hl["description"]
	}
	if len(fs) == 0 {
		return out, ""
	}
	frag := strings.Join(strings.Fields(strings.Join(fs, e.c.opts.FragmentDelimiter)), " ")
	src := d.Text
	if field == "description" {
		src = d.Description
	}
	// Mark cut ends as the embedded engine does.
	plain := strings.NewReplacer(search.PreTag, "", search.PostTag, "").Replace(frag)
	whole := strings.Join(strings.Fields(src), " ")
	if !strings.HasPrefix(whole, plain) {
		frag = "…" + frag
	}
	if !strings.HasSuffix(whole, plain) {
		frag += "…"
	}
	out[field] = frag
	var matched []string
	for rest := frag; ; {
		i := strings.Index(rest, search.PreTag)
		if i < 0 {
			break
		}
		rest = rest[i+len(search.PreTag):]
		j := strings.Index(rest, search.PostTag)
		if j < 0 {
			break
		}
		matched = append(matched, strings.ToLower(rest[:j]))
		rest = rest[j+len(search.PostTag):]
	}
	return out, search.SectionOf(d, matched)
}

// closest fills DidYouMean and Closest from the loose query.
func (e *Engine) closest(ctx context.Context, q search.Query, vis search.Visibility, out *search.Result) error {
	res, err := e.run(ctx, "closest", e.b.closestBody(q, vis))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, h := range res.Hits.Hits {
		d, err := document(h)
		if err != nil {
			return err
		}
		out.Closest = append(out.Closest, search.Hit{Document: d, Score: h.Score, Rank: i + 1})
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

// Suggest completes the last word of prefix, best names first.
func (e *Engine) Suggest(ctx context.Context, prefix string, types []string, vis search.Visibility, limit int) ([]search.Suggestion, error) {
	if e.closed.Load() {
		return nil, errClosed
	}
	body := e.b.suggestBody(prefix, types, vis, limit)
	if body == nil {
		return []search.Suggestion{}, nil
	}
	res, err := e.run(ctx, "suggest", body)
	if err != nil {
		return nil, err
	}
	out := make([]search.Suggestion, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		d, err := document(h)
		if err != nil {
			return nil, err
		}
		out = append(out, search.Suggestion{Title: d.Title, Location: d.Location, Type: d.Type, Kind: d.Kind, Ref: d.Ref})
	}
	return out, nil
}

// Count returns how many documents the index holds.
func (e *Engine) Count() (uint64, error) {
	if e.closed.Load() {
		return 0, errClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.c.opts.Timeout)
	defer cancel()
	res, err := e.run(ctx, "count", obj{"size": 0, "track_total_hits": true, "query": obj{"match_all": obj{}}})
	if err != nil {
		return 0, err
	}
	return uint64(res.Hits.Total.Value), nil
}

// Close stops the engine's use; the index stays in the cluster.
func (e *Engine) Close() error {
	e.closed.Store(true)
	return nil
}
