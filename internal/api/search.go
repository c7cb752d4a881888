package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"greenroom/internal/greenroom"
	"greenroom/internal/search"
)

// Searcher is what the search routes need from the search service.
type Searcher interface {
	Search(ctx context.Context, q search.Query) (search.Result, error)
	Suggest(ctx context.Context, prefix string, types []string, limit int) ([]search.Suggestion, error)
	Click(term string, rank int) error
	Rebuild(ctx context.Context) error
	Status() search.Status
}

// SearchAPI serves Backstage's search API (GET /api/search/query) and
// Greenroom's additions: suggestions as you type, click analytics, status
// and reindexing.
type SearchAPI struct {
	svc    Searcher
	errors ErrorWriter
	// reindex runs a rebuild in the background (the request does not wait).
	reindex func()
	// maxLimit bounds pageLimit (search.maxPageLimit); 0 is search.MaxLimit.
	maxLimit int
}

// SetMaxPageLimit applies search.maxPageLimit (1 to search.MaxLimit).
func (a *SearchAPI) SetMaxPageLimit(n int) {
	if n > 0 && n <= search.MaxLimit {
		a.maxLimit = n
	}
}

// NewSearchAPI returns the search routes over svc; reindex starts a
// background rebuild.
func NewSearchAPI(svc Searcher, reindex func(), logger *slog.Logger) *SearchAPI {
	return &SearchAPI{svc: svc, reindex: reindex, errors: ErrorWriter{Logger: logger}}
}

// Routes registers the search routes.
func (a *SearchAPI) Routes(mux *http.ServeMux) {
	h := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				a.errors.Write(w, r, err)
			}
		})
	}
	mux.Handle("GET /api/search/query", h(a.query))
	mux.Handle("GET /api/search/suggest", h(a.suggest))
	mux.Handle("POST /api/search/click", h(a.click))
	mux.Handle("GET /api/search/status", h(a.status))
	mux.Handle("POST /api/search/reindex", h(a.rebuild))
}

// HighlightPreTag and HighlightPostTag wrap matches in the API's
// highlight fields, as Backstage's ResultHighlight carries them.
const (
	HighlightPreTag  = "<mark>"
	HighlightPostTag = "</mark>"
)

type searchResponse struct {
	Results            []searchResult `json:"results"`
	NextPageCursor     string         `json:"nextPageCursor,omitempty"`
	PreviousPageCursor string         `json:"previousPageCursor,omitempty"`
	NumberOfResults    int            `json:"numberOfResults"`
	// Greenroom additions, ignored by Backstage clients.
	Facets     map[string][]search.FacetValue `json:"facets,omitempty"`
	DidYouMean []string                       `json:"didYouMean,omitempty"`
	Closest    []searchResult                 `json:"closest,omitempty"`
	Notice     string                         `json:"notice,omitempty"`
}

type searchResult struct {
	Type      string           `json:"type"`
	Document  map[string]any   `json:"document"`
	Highlight *searchHighlight `json:"highlight,omitempty"`
	Rank      int              `json:"rank,omitempty"`
}

type searchHighlight struct {
	PreTag  string            `json:"preTag"`
	PostTag string            `json:"postTag"`
	Fields  map[string]string `json:"fields"`
}

// ParseSearchQuery reads Backstage's query parameters: term, types[]
// (also types and types[0]), filters[field] (also filters[field][] and
// filters[field][0]), pageCursor and pageLimit; facets is Greenroom's.
func ParseSearchQuery(v url.Values) (search.Query, error) {
	q := search.Query{Term: v.Get("term"), Filters: map[string][]string{}}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := v[k]
		switch {
		case k == "term", k == "pageCursor", k == "pageLimit":
		case k == "types" || strings.HasPrefix(k, "types["):
			q.Types = append(q.Types, vals...)
		case k == "facets" || k == "facets[]":
			for _, s := range vals {
				q.Facets = append(q.Facets, strings.Split(s, ",")...)
			}
		case strings.HasPrefix(k, "filters["):
			field, _, ok := strings.Cut(strings.TrimPrefix(k, "filters["), "]")
			if !ok || field == "" {
				return q, greenroom.Errorf(greenroom.CodeInvalid, "query parameter %q: want filters[field]=value", k)
			}
			for _, s := range vals {
				if s != "" {
					q.Filters[field] = append(q.Filters[field], s)
				}
			}
		}
	}
	if s := v.Get("pageLimit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, greenroom.Errorf(greenroom.CodeInvalid, "pageLimit %q is not a number", s)
		}
		q.Limit = n
	}
	if q.Limit == 0 {
		q.Limit = search.DefaultLimit
	}
	if c := v.Get("pageCursor"); c != "" {
		page, err := decodePageCursor(c)
		if err != nil {
			return q, err
		}
		q.Offset = page * q.Limit
	}
	return q, nil
}

// Page cursors are the page number in base64, as Backstage's Lunr engine
// writes them.
func encodePageCursor(page int) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(page)))
}

func decodePageCursor(c string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "pageCursor %q is not a cursor this API issued", c)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > search.MaxOffset {
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "pageCursor %q is not a cursor this API issued", c)
	}
	return n, nil
}

func (a *SearchAPI) query(w http.ResponseWriter, r *http.Request) error {
	q, err := ParseSearchQuery(r.URL.Query())
	if err != nil {
		return err
	}
	if a.maxLimit > 0 && q.Limit > a.maxLimit {
		return greenroom.Errorf(greenroom.CodeInvalid, "pageLimit %d: at most %d (search.maxPageLimit)", q.Limit, a.maxLimit)
	}
	res, err := a.svc.Search(r.Context(), q)
	if err != nil {
		return err
	}
	out := searchResponse{Results: apiResults(res.Hits), NumberOfResults: res.Total, Facets: res.Facets,
		DidYouMean: res.DidYouMean, Notice: res.Notice}
	if len(res.Closest) > 0 {
		out.Closest = apiResults(res.Closest)
	}
	page := q.Offset / q.Limit
	if q.Offset+q.Limit < res.Total && (page+1)*q.Limit <= search.MaxOffset {
		out.NextPageCursor = encodePageCursor(page + 1)
	}
	if page > 0 {
		out.PreviousPageCursor = encodePageCursor(page - 1)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func apiResults(hits []search.Hit) []searchResult {
	out := make([]searchResult, 0, len(hits))
	for _, h := range hits {
		d := h.Document
		doc := map[string]any{"title": d.Title, "text": d.Text, "location": d.Location}
		if d.Type == search.TypeCatalog || d.Type == search.TypeTemplate {
			// Backstage's catalog collator documents carry these.
			doc["text"] = d.Description
			doc["kind"] = d.Fields["kind"]
			doc["namespace"] = d.Namespace
			doc["lifecycle"] = d.Lifecycle
			doc["owner"] = d.Owner
			doc["type"] = d.SpecType
			if ct, ok := d.Fields["componentType"]; ok {
				doc["componentType"] = ct
			}
		} else {
			doc["text"] = search.Excerpt(d.Text, 400)
			for k, v := range d.Fields {
				if _, taken := doc[k]; !taken {
					doc[k] = v
				}
			}
		}
		res := searchResult{Type: d.Type, Document: doc, Rank: h.Rank}
		if len(h.Highlight) > 0 {
			f := map[string]string{}
			for k, v := range h.Highlight {
				f[k] = strings.NewReplacer(search.PreTag, HighlightPreTag, search.PostTag, HighlightPostTag).Replace(v)
			}
			res.Highlight = &searchHighlight{PreTag: HighlightPreTag, PostTag: HighlightPostTag, Fields: f}
		}
		out = append(out, res)
	}
	return out
}

func (a *SearchAPI) suggest(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit := 0
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return greenroom.Errorf(greenroom.CodeInvalid, "limit %q: want a positive number", s)
		}
		limit = n
	}
	types := append(v["types"], v["types[]"]...)
	out, err := a.svc.Suggest(r.Context(), v.Get("term"), types, limit)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, max-age=5")
	writeJSON(w, http.StatusOK, map[string]any{"suggestions": out})
	return nil
}

type clickBody struct {
	Term string `json:"term"`
	Rank int    `json:"rank"`
}

func (a *SearchAPI) click(w http.ResponseWriter, r *http.Request) error {
	var b clickBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	if err := dec.Decode(&b); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "click body: want {\"term\": \"…\", \"rank\": 1}: %v", err)
	}
	if err := a.svc.Click(b.Term, b.Rank); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *SearchAPI) status(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.svc.Status())
	return nil
}

func (a *SearchAPI) rebuild(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("wait") == "true" {
		if err := a.svc.Rebuild(r.Context()); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a.svc.Status())
		return nil
	}
	// One rebuild at a time: a request while one runs joins it.
	if !a.svc.Status().Building {
		a.reindex()
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "rebuilding"})
	return nil
}
