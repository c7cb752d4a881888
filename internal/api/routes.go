package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Catalog is what the catalog routes need from the catalog service.
type Catalog interface {
	QueryEntities(ctx context.Context, q query.EntitiesQuery, fields query.Fields) (query.EntitiesPage[json.RawMessage], error)
	EntitiesByRefs(ctx context.Context, refs []string, filter *query.Filter, fields query.Fields) ([]json.RawMessage, error)
	Facets(ctx context.Context, q query.FacetsQuery) (query.FacetsResponse, error)
	EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
	RequestRefresh(ctx context.Context, entityRef string) error
	EntityByUID(ctx context.Context, uid string) (json.RawMessage, error)
	DeleteEntityByUID(ctx context.Context, uid string) error
	ValidateEntity(raw json.RawMessage, locationRef string) ([]string, error)
}

// Handler serves the JSON APIs.
type Handler struct {
	catalog Catalog
	errors  ErrorWriter
}

// New returns the API handler.
func New(c Catalog, logger *slog.Logger) *Handler {
	return &Handler{catalog: c, errors: ErrorWriter{Logger: logger}}
}

// Routes registers every API route on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/catalog/entities", h.handle(h.listEntities))
	mux.Handle("GET /api/catalog/entities/by-query", h.handle(h.queryEntities))
	mux.Handle("POST /api/catalog/entities/by-refs", h.handle(h.entitiesByRefs))
	mux.Handle("GET /api/catalog/entity-facets", h.handle(h.entityFacets))
	mux.Handle("GET /api/catalog/entities/by-uid/{uid}", h.handle(h.entityByUID))
	mux.Handle("DELETE /api/catalog/entities/by-uid/{uid}", h.handle(h.deleteEntityByUID))
	mux.Handle("GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}", h.handle(h.entityByName))
	mux.Handle("POST /api/catalog/refresh", h.handle(h.refresh))
	mux.Handle("POST /api/catalog/validate-entity", h.handle(h.validateEntity))
	mux.Handle("/api/", h.handle(h.notFound))
}

// handle adapts an error-returning handler to http.Handler.
func (h *Handler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.errors.Write(w, r, err)
		}
	})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) error {
	return greenroom.Errorf(greenroom.CodeNotFound, "no API route for %s %s", r.Method, r.URL.Path)
}
