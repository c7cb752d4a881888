package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// GET /entities: Backstage's offset-paged list, a bare JSON array, with a
// Link header to the next page when limit or after was given.
func (h *Handler) listEntities(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	page, err := h.entitiesPage(r, v, query.ParseEntitiesParams)
	if err != nil {
		return err
	}
	if page.NextAfter != "" {
		next := url.Values{}
		for k, vals := range v {
			if k != "after" && k != "offset" && k != "limit" {
				next[k] = vals
			}
		}
		next.Set("after", page.NextAfter)
		w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", r.URL.Path, next.Encode()))
	}
	writeJSON(w, http.StatusOK, page.Items)
	return nil
}

type queryResponse struct {
	Items      []json.RawMessage `json:"items"`
	TotalItems int               `json:"totalItems"`
	PageInfo   query.PageInfo    `json:"pageInfo"`
}

// GET /entities/by-query: cursor paging with totals and full-text filter.
func (h *Handler) queryEntities(w http.ResponseWriter, r *http.Request) error {
	ctx, note := catalog.WithCacheNote(r.Context())
	page, err := h.entitiesPage(r.WithContext(ctx), r.URL.Query(), query.ParseQueryParams)
	if err != nil {
		return err
	}
	writeCacheNote(w, note)
	writeQueryPage(w, page)
	return nil
}

// writeQueryPage writes a by-query response. The items are the catalog's
// stored JSON, written as they are: encoding/json would re-validate and
// compact every byte of them (queryResponse is the shape).
func writeQueryPage(w http.ResponseWriter, page query.EntitiesPage[json.RawMessage]) {
	info, err := json.Marshal(page.Info())
	if err != nil { // two strings: cannot fail
		writeJSON(w, http.StatusOK, queryResponse{Items: nonNil(page.Items), TotalItems: page.TotalItems, PageInfo: page.Info()})
		return
	}
	n := 64 + len(info)
	for _, it := range page.Items {
		n += len(it) + 1
	}
	buf := pageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledPage {
			pageBuffers.Put(buf)
		}
	}()
	b := slices.Grow((*buf)[:0], n)
	defer func() { *buf = b[:0] }()
	b = append(b, `{"items":[`...)
	for i, it := range page.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, `],"totalItems":`...)
	b = strconv.AppendInt(b, int64(page.TotalItems), 10)
	b = append(b, `,"pageInfo":`...)
	b = append(b, info...)
	b = append(b, '}', '\n')
	writeRawJSON(w, http.StatusOK, b)
}

// pageBuffers recycles the buffers by-query responses are written from:
// a page of 20 entities is tens of kilobytes, allocated (and collected)
// per request otherwise, cached page or not.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPage bounds the buffers kept: a rare page of thousands of
// entities should not stay allocated.
const maxPooledPage = 1 << 20

// writeCacheNote tells the client whether the catalog's read cache
// answered (X-Greenroom-Cache: hit or miss), for the bench's hit rate;
// nothing when the answer was not cacheable.
func writeCacheNote(w http.ResponseWriter, note *catalog.CacheNote) {
	if !note.Used {
		return
	}
	v := cacheMissValue
	if note.Hit {
		v = cacheHitValue
	}
	w.Header()["X-Greenroom-Cache"] = v[:1:1] // shared, as setJSONHeaders's
}

var cacheHitValue, cacheMissValue = []string{"hit"}, []string{"miss"}

// entitiesPage parses a list request with parse, plus its fields, and
// returns the page.
func (h *Handler) entitiesPage(r *http.Request, v url.Values, parse func(url.Values) (query.EntitiesQuery, error)) (query.EntitiesPage[json.RawMessage], error) {
	q, err := parse(v)
	if err != nil {
		return query.EntitiesPage[json.RawMessage]{}, err
	}
	fields, err := query.ParseFields(v)
	if err != nil {
		return query.EntitiesPage[json.RawMessage]{}, err
	}
	return h.catalog.QueryEntities(r.Context(), q, fields)
}

type byRefsRequest struct {
	EntityRefs []string `json:"entityRefs"`
	Fields     []string `json:"fields"`
	// Query is a predicate (catalog-client ≥ 1.16), applied with the
	// filter parameters when both are given.
	Query json.RawMessage `json:"query"`
}

type itemsResponse struct {
	Items []json.RawMessage `json:"items"`
}

// POST /entities/by-refs: the entities in the order asked, null for
// misses and for entities the filter or query rejects.
func (h *Handler) entitiesByRefs(w http.ResponseWriter, r *http.Request) error {
	var req byRefsRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.EntityRefs == nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "request body must have entityRefs, a list of entity references")
	}
	filter, err := refsFilter(r, req.Query)
	if err != nil {
		return err
	}
	fields, err := query.NewFields(req.Fields)
	if err != nil {
		return err
	}
	if extra, err := query.ParseFields(r.URL.Query()); err != nil {
		return err
	} else if len(extra) > 0 {
		fields = append(fields, extra...)
	}
	items, err := h.catalog.EntitiesByRefs(r.Context(), req.EntityRefs, filter, fields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, itemsResponse{Items: nonNil(items)})
	return nil
}

// refsFilter combines the filter parameters of a by-refs request with the
// predicate of its body, if any.
func refsFilter(r *http.Request, predicate json.RawMessage) (*query.Filter, error) {
	filter, err := query.ParseFilter(r.URL.Query())
	if err != nil || predicate == nil {
		return filter, err
	}
	p, err := query.ParsePredicate(predicate)
	if err != nil {
		return nil, err
	}
	if filter != nil {
		p = query.All(*filter, p)
	}
	return &p, nil
}

// GET /entity-facets.
func (h *Handler) entityFacets(w http.ResponseWriter, r *http.Request) error {
	q, err := query.ParseFacetsParams(r.URL.Query())
	if err != nil {
		return err
	}
	resp, err := h.catalog.Facets(r.Context(), q)
	if err != nil {
		return err
	}
	writeFacets(w, resp)
	return nil
}

func (h *Handler) entityByName(w http.ResponseWriter, r *http.Request) error {
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	ctx, note := catalog.WithCacheNote(r.Context())
	ent, err := h.catalog.EntityByName(ctx, ref)
	if err != nil {
		return err
	}
	writeCacheNote(w, note)
	writeRawJSONLine(w, http.StatusOK, ent)
	return nil
}

// writeRawJSONLine is writeRawJSON of b and a newline, without copying b
// (a cached entity, shared) to append it: both go to the response's buffer.
func writeRawJSONLine(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	setJSONHeaders(h)
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	if _, err := w.Write(b); err == nil { // as in writeJSON: only a broken connection fails
		_, _ = w.Write(newline)
	}
}

var newline = []byte{'\n'}

func (h *Handler) entityByUID(w http.ResponseWriter, r *http.Request) error {
	ent, err := h.catalog.EntityByUID(r.Context(), r.PathValue("uid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ent)
	return nil
}

// DELETE /entities/by-uid/:uid answers 204, as Backstage does.
func (h *Handler) deleteEntityByUID(w http.ResponseWriter, r *http.Request) error {
	if err := h.catalog.DeleteEntityByUID(r.Context(), r.PathValue("uid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type validateRequest struct {
	Entity   json.RawMessage `json:"entity"`
	Location string          `json:"location"`
}

type serializedError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// POST /validate-entity: 200 with no body when valid, else 400 with
// {"errors":[{name, message}]}, the shape @backstage/catalog-client reads.
func (h *Handler) validateEntity(w http.ResponseWriter, r *http.Request) error {
	var req validateRequest
	err := decodeBody(r, &req)
	var problems []string
	if err == nil {
		problems, err = h.catalog.ValidateEntity(req.Entity, req.Location)
	}
	if err != nil {
		if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			return err
		}
		problems = []string{greenroom.ErrorMessage(err)}
	}
	if len(problems) == 0 {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	errs := make([]serializedError, len(problems))
	for i, p := range problems {
		errs[i] = serializedError{Name: "InputError", Message: p}
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"errors": errs})
	return nil
}

type refreshRequest struct {
	EntityRef string `json:"entityRef"`
}

// POST /refresh: {"entityRef"} queues a refresh of the one source that
// supplied the entity, 404 NotFoundError when the catalog has no such
// entity, as Backstage; an empty body (Greenroom's own) queues a full
// refresh. 200 once the job is stored: the refresh itself runs in the
// background, as in Backstage.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			return err
		}
	}
	if err := h.catalog.RequestRefresh(r.Context(), req.EntityRef); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// decodeBody reads a JSON request body into v; a body over the server's
// limit stays a 413, anything malformed is a 400 that says what was wrong.
func decodeBody(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		if greenroom.HTTPStatus(err) == http.StatusRequestEntityTooLarge {
			return err
		}
		return greenroom.Errorf(greenroom.CodeInvalid, "request body is not valid JSON for %s %s: %v", r.Method, r.URL.Path, err)
	}
	return nil
}

// nonNil keeps an empty page a JSON [] rather than null.
func nonNil(items []json.RawMessage) []json.RawMessage {
	if items == nil {
		return []json.RawMessage{}
	}
	return items
}
