package api

import (
	"encoding/json"
	"net/http"

	"greenroom/internal/catalog/query"
)

// The predicate endpoints of @backstage/catalog-client ≥ 1.16, which the
// client calls when given a query ({"$all": […]}, …) instead of, or as
// well as, a filter, and to continue a walk whose cursor holds one.

// POST /entities/by-query: the body form of GET /entities/by-query, with
// a predicate query; the response is the same.
func (h *Handler) queryEntitiesByPredicate(w http.ResponseWriter, r *http.Request) error {
	var body json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	q, fields, err := query.ParseQueryBody(body)
	if err != nil {
		return err
	}
	page, err := h.catalog.QueryEntities(r.Context(), q, fields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, queryResponse{Items: nonNil(page.Items), TotalItems: page.TotalItems, PageInfo: page.Info()})
	return nil
}

// POST /entity-facets: GET /entity-facets with a predicate query.
func (h *Handler) entityFacetsByPredicate(w http.ResponseWriter, r *http.Request) error {
	var body json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	q, err := query.ParseFacetsBody(body)
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
