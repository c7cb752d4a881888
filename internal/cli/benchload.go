package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"greenroom/internal/catalog/catalogtest"
)

// The load of `greenroom bench catalog`: the requests made from the
// catalog's entities, the workers that send them, and the latencies kept.

// requestMix makes the requests of the load from the generated catalog:
// the values a portal's filters offer (owners, types, lifecycles, tags,
// kinds) and the words of full-text searches.
type requestMix struct {
	refs       []benchRef
	groups     []string
	words      []string
	kinds      []string // lowercased, the kinds present
	types      []string // spec.type of components
	lifecycles []string
	tags       []string
	seed       uint64
}

type benchRef struct{ kind, namespace, name string }

// mixValues collects the distinct values of the mix, in first-seen order.
type mixValues struct {
	seen map[string]bool
	m    *requestMix
}

func (v *mixValues) add(list *[]string, field, value string) {
	if value == "" || v.seen[field+"\x00"+value] {
		return
	}
	v.seen[field+"\x00"+value] = true
	*list = append(*list, value)
}

func (v *mixValues) entity(kind, typ, lifecycle string, tags []string) {
	v.add(&v.m.kinds, "kind", kind)
	if kind == "component" {
		v.add(&v.m.types, "type", typ)
	}
	v.add(&v.m.lifecycles, "lifecycle", lifecycle)
	for _, t := range tags {
		v.add(&v.m.tags, "tag", t)
	}
}

func newRequestMix(ents []catalogtest.Entity, seed uint64) *requestMix {
	m := &requestMix{words: catalogtest.Words(), seed: seed, refs: make([]benchRef, len(ents))}
	vals := &mixValues{seen: map[string]bool{}, m: m}
	for i, e := range ents {
		m.refs[i] = benchRef{kind: strings.ToLower(e.Kind), namespace: e.Namespace(), name: e.Metadata.Name}
		if e.Kind == "Group" {
			m.groups = append(m.groups, "group:default/"+e.Metadata.Name)
		}
		typ, lifecycle := "", ""
		switch sp := e.Spec.(type) {
		case catalogtest.ComponentSpec:
			typ, lifecycle = sp.Type, sp.Lifecycle
		case catalogtest.APISpec:
			lifecycle = sp.Lifecycle
		}
		vals.entity(strings.ToLower(e.Kind), typ, lifecycle, e.Metadata.Tags)
	}
	return m
}

// discoverMix reads up to limit entity refs from a running catalog.
func discoverMix(ctx context.Context, c *http.Client, base string, limit int, seed uint64) (*requestMix, error) {
	m := &requestMix{words: catalogtest.Words(), seed: seed}
	vals := &mixValues{seen: map[string]bool{}, m: m}
	fields := "kind,metadata.namespace,metadata.name,metadata.tags,spec.type,spec.lifecycle"
	q := url.Values{"limit": {"500"}, "fields": {fields}}
	for len(m.refs) < limit {
		var page struct {
			Items []struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Namespace, Name string
					Tags            []string
				}
				Spec struct {
					Type      any    `json:"type"`
					Lifecycle string `json:"lifecycle"`
				}
			} `json:"items"`
			PageInfo struct {
				NextCursor string `json:"nextCursor"`
			} `json:"pageInfo"`
		}
		if err := fetchJSON(ctx, c, base+"/api/catalog/entities/by-query?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			r := benchRef{kind: strings.ToLower(it.Kind), namespace: it.Metadata.Namespace, name: it.Metadata.Name}
			m.refs = append(m.refs, r)
			if r.kind == "group" {
				m.groups = append(m.groups, "group:"+r.namespace+"/"+r.name)
			}
			typ, _ := it.Spec.Type.(string)
			vals.entity(r.kind, typ, it.Spec.Lifecycle, it.Metadata.Tags)
		}
		if page.PageInfo.NextCursor == "" {
			break
		}
		q = url.Values{"limit": {"500"}, "fields": {fields}, "cursor": {page.PageInfo.NextCursor}}
	}
	if len(m.refs) == 0 || len(m.groups) == 0 {
		return nil, fmt.Errorf("%s holds %d entities and %d groups; the load needs both", base, len(m.refs), len(m.groups))
	}
	return m, nil
}

// loadCase is one kind of request; path returns its path and query.
// check, when set, validates a response body once before the load.
// walk, when set, continues a by-query walk from the page's nextCursor
// for a random number of further pages (pageDepth), each a request of the
// case, as a user paging through a catalog table does.
type loadCase struct {
	name  string
	path  func(r *rand.Rand) string
	check func(body []byte) error
	walk  bool
}

// pageDepth draws how many pages of a walk are read: 1 to 5, the first
// ones most often (40, 25, 15, 10, 10 %).
func pageDepth(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 40:
		return 1
	case x < 65:
		return 2
	case x < 80:
		return 3
	case x < 90:
		return 4
	}
	return 5
}

// nextCursorPath returns the by-query path continuing from body's
// pageInfo.nextCursor, "" when there is none. It looks for the key from
// the end, where the page's own pageInfo is, instead of decoding the page.
func nextCursorPath(body []byte) string {
	const key = `"nextCursor":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return ""
	}
	return "/api/catalog/entities/by-query?limit=20&cursor=" + url.QueryEscape(string(rest[:j]))
}

type loadClass struct {
	name  string
	cases []loadCase
}

func (m *requestMix) classes() []loadClass {
	pick := func(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }
	byQuery := func(name string, v func(r *rand.Rand) url.Values, mustMatch bool) loadCase {
		return loadCase{name: name, walk: true, path: func(r *rand.Rand) string {
			q := v(r)
			q.Set("limit", "20")
			return "/api/catalog/entities/by-query?" + q.Encode()
		}, check: func(body []byte) error {
			var page struct {
				Items      []json.RawMessage `json:"items"`
				TotalItems int               `json:"totalItems"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return err
			}
			if mustMatch && (len(page.Items) == 0 || page.TotalItems < len(page.Items)) {
				return fmt.Errorf("%d items, totalItems %d: the query should match", len(page.Items), page.TotalItems)
			}
			return nil
		}}
	}
	static := func(kv ...string) func(*rand.Rand) url.Values {
		return func(*rand.Rand) url.Values {
			v := url.Values{}
			for i := 0; i < len(kv); i += 2 {
				v.Add(kv[i], kv[i+1])
			}
			return v
		}
	}
	facets := func(name string, kv ...string) loadCase {
		return loadCase{name: name, path: func(r *rand.Rand) string {
			return "/api/catalog/entity-facets?" + static(kv...)(r).Encode()
		}, check: func(body []byte) error {
			var resp struct {
				Facets map[string][]struct {
					Value string `json:"value"`
					Count int    `json:"count"`
				} `json:"facets"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				return err
			}
			if len(resp.Facets[kv[1]]) == 0 {
				return fmt.Errorf("no values for facet %s", kv[1])
			}
			return nil
		}}
	}
	return []loadClass{
		{name: "by-name", cases: []loadCase{{name: "random entity", path: func(r *rand.Rand) string {
			ref := m.refs[r.IntN(len(m.refs))]
			return "/api/catalog/entities/by-name/" + url.PathEscape(ref.kind) + "/" + url.PathEscape(ref.namespace) + "/" + url.PathEscape(ref.name)
		}, check: func(body []byte) error {
			var e struct{ Metadata struct{ Name string } }
			if err := json.Unmarshal(body, &e); err != nil || e.Metadata.Name == "" {
				return fmt.Errorf("not an entity: %.200s", body)
			}
			return nil
		}}}},
		// Varied, as a portal's catalog table is used: random owners,
		// types, lifecycles, tags, kinds and search words, pages 1 to 5.
		{name: "by-query", cases: []loadCase{
			byQuery("kind=component,spec.type=<random>[,spec.lifecycle=<random>]", func(r *rand.Rand) url.Values {
				f := "kind=component,spec.type=" + pick(r, m.types)
				if r.IntN(2) == 0 {
					f += ",spec.lifecycle=" + pick(r, m.lifecycles)
				}
				return url.Values{"filter": {f}}
			}, false),
			byQuery("kind=component,spec.owner=<random group>", func(r *rand.Rand) url.Values {
				return url.Values{"filter": {"kind=component,spec.owner=" + pick(r, m.groups)}}
			}, false),
			byQuery("kind=<random>,metadata.tags=<random tag>", func(r *rand.Rand) url.Values {
				return url.Values{"filter": {"kind=" + pick(r, m.kinds) + ",metadata.tags=" + pick(r, m.tags)}}
			}, false),
			byQuery("kind=<random>, orderField=metadata.name asc|desc", func(r *rand.Rand) url.Values {
				dir := []string{"asc", "desc"}[r.IntN(2)]
				return url.Values{"filter": {"kind=" + pick(r, m.kinds)}, "orderField": {"metadata.name," + dir}}
			}, true),
			byQuery("kind=component, text <random word>, orderField=metadata.name", func(r *rand.Rand) url.Values {
				return url.Values{"filter": {"kind=component"}, "fullTextFilterTerm": {pick(r, m.words)},
					"fullTextFilterFields": {"metadata.name,metadata.title"}, "orderField": {"metadata.name,asc"}}
			}, false),
		}},
		{name: "facets", cases: []loadCase{
			facets("kind", "facet", "kind"),
			facets("spec.type for kind=component", "facet", "spec.type", "filter", "kind=component"),
			facets("metadata.tags", "facet", "metadata.tags"),
		}},
	}
}

// recorder keeps the latencies of one case.
type recorder struct {
	mu       sync.Mutex
	samples  []time.Duration
	count    int
	errors   int
	firstErr string
	max      time.Duration
	r        *rand.Rand
	// hits and misses count the server's X-Greenroom-Cache answers.
	hits, misses int
}

func (rc *recorder) add(d time.Duration, cache cacheAnswer) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.count++
	switch cache {
	case cacheHit:
		rc.hits++
	case cacheMiss:
		rc.misses++
	}
	rc.max = max(rc.max, d)
	if len(rc.samples) < maxSamples {
		rc.samples = append(rc.samples, d)
	} else if j := rc.r.IntN(rc.count); j < maxSamples {
		rc.samples[j] = d // reservoir sampling (Vitter's algorithm R)
	}
}

func (rc *recorder) fail(err error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.errors == 0 {
		rc.firstErr = err.Error()
	}
	rc.errors++
}

// percentile returns the nearest-rank q-quantile of sorted samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func summarize(class, name string, rcs []*recorder, elapsed time.Duration) caseReport {
	row := caseReport{Class: class, Name: name}
	var all []time.Duration
	var top time.Duration
	hits, misses := 0, 0
	for _, rc := range rcs {
		hits, misses = hits+rc.hits, misses+rc.misses
		row.Requests += rc.count
		row.Errors += rc.errors
		if row.FirstErr == "" {
			row.FirstErr = rc.firstErr
		}
		all = append(all, rc.samples...)
		top = max(top, rc.max)
	}
	slices.Sort(all)
	row.PerSec = float64(row.Requests) / elapsed.Seconds()
	row.P50, row.P99, row.Max = ms(percentile(all, 0.5)), ms(percentile(all, 0.99)), ms(top)
	if hits+misses > 0 {
		rate := float64(hits) / float64(hits+misses)
		row.CacheHitRate = &rate
	}
	return row
}

// runClass checks each case once, then runs the class's cases round robin
// from o.concurrency workers for o.duration (or o.requests requests), and
// returns a row for the class and one per case.
func runClass(ctx context.Context, c *http.Client, base string, class loadClass, o *catalogBenchOptions) ([]caseReport, error) {
	warm := rand.New(rand.NewPCG(o.seed, 0))
	for _, lc := range class.cases {
		body, err := fetch(ctx, c, base+lc.path(warm))
		if err == nil && lc.check != nil {
			err = lc.check(body)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lc.name, err)
		}
	}
	recs := make([]*recorder, len(class.cases))
	for i := range recs {
		recs[i] = &recorder{r: rand.New(rand.NewPCG(o.seed, uint64(i)+1))}
	}
	var next atomic.Int64
	deadline := time.Now().Add(o.duration)
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(o.seed, uint64(w)+1000))
			// Its own keep-alive connection (net/http for an https base).
			lc, lean := newLoadConn(base, time.Minute)
			if lean {
				defer lc.close()
			}
			var buf bytes.Buffer // reused: walks read each page's cursor
			k, pages, cont := 0, 0, ""
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if o.requests > 0 && i >= int64(o.requests) || o.requests == 0 && time.Now().After(deadline) {
					return
				}
				u := ""
				if cont != "" {
					u, pages, cont = cont, pages-1, ""
				} else {
					k = int(i % int64(len(class.cases)))
					u = class.cases[k].path(r)
					if class.cases[k].walk {
						pages = pageDepth(r) - 1
					}
				}
				var into io.Writer = io.Discard
				if pages > 0 {
					buf.Reset()
					into = &buf
				}
				t0 := time.Now()
				var cache cacheAnswer
				var err error
				if lean {
					cache, err = lc.get(ctx, u, into)
				} else {
					cache, err = fetchTo(ctx, c, base+u, into)
				}
				d := time.Since(t0)
				if err != nil {
					recs[k].fail(err)
					pages = 0
					continue
				}
				recs[k].add(d, cache)
				if pages > 0 {
					cont = nextCursorPath(buf.Bytes())
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	elapsed := time.Since(begin)
	rows := []caseReport{summarize(class.name, "", recs, elapsed)}
	for i, lc := range class.cases {
		rows = append(rows, summarize(class.name, lc.name, recs[i:i+1], elapsed))
	}
	return rows, nil
}

// cacheAnswer is what a response's X-Greenroom-Cache header said.
type cacheAnswer int8

const (
	cacheUnknown cacheAnswer = iota
	cacheHit
	cacheMiss
)

// fetch GETs u and returns its body; anything but 200 is an error.
func fetch(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	var body bytes.Buffer
	_, err := fetchTo(ctx, c, u, &body)
	return body.Bytes(), err
}

// fetchTo GETs u and copies its body to w (io.Discard during the load,
// which reads it through a pooled buffer); anything but 200 is an error.
// The client asks for no compression (Transport.DisableCompression), so
// that the load generator does not spend its CPU inflating what the
// server spent its own deflating.
func fetchTo(ctx context.Context, c *http.Client, u string, w io.Writer) (cacheAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return cacheUnknown, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return cacheUnknown, err
	}
	defer resp.Body.Close()
	cache := cacheUnknown
	switch resp.Header.Get("X-Greenroom-Cache") {
	case "hit":
		cache = cacheHit
	case "miss":
		cache = cacheMiss
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return cache, fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, b)
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, 64<<20))
	return cache, err
}
