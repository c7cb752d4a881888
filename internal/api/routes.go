package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"greenroom/internal/catalog"
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
	// Locations (locations.go).
	CreateLocation(ctx context.Context, in catalog.LocationInput, opts catalog.CreateLocationOptions) (catalog.CreateLocationResult, error)
	Locations(ctx context.Context) ([]catalog.Location, error)
	QueryLocations(ctx context.Context, q catalog.LocationsQuery) (catalog.LocationsPage, error)
	LocationByID(ctx context.Context, id string) (catalog.Location, error)
	UpdateLocation(ctx context.Context, id string, in catalog.LocationInput) (catalog.Location, error)
	RemoveLocation(ctx context.Context, id string) error
	LocationByEntity(ctx context.Context, ref greenroom.EntityRef) (catalog.Location, error)
	LocationStatus(ctx context.Context, id string) (catalog.LocationStatus, error)
	AnalyzeLocation(ctx context.Context, req catalog.AnalyzeLocationRequest) (catalog.AnalyzeLocationResponse, error)
	EntityAncestry(ctx context.Context, ref greenroom.EntityRef) (catalog.Ancestry, error)
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
	mux.Handle("POST /api/catalog/entities/by-query", h.handle(h.queryEntitiesByPredicate))
	mux.Handle("POST /api/catalog/entity-facets", h.handle(h.entityFacetsByPredicate))
	mux.Handle("GET /api/catalog/entities/by-uid/{uid}", h.handle(h.entityByUID))
	mux.Handle("DELETE /api/catalog/entities/by-uid/{uid}", h.handle(h.deleteEntityByUID))
	mux.Handle("GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}", h.handle(h.entityByName))
	mux.Handle("POST /api/catalog/refresh", h.handle(h.refresh))
	mux.Handle("POST /api/catalog/validate-entity", h.handle(h.validateEntity))
	mux.Handle("GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry", h.handle(h.entityAncestry))
	mux.Handle("POST /api/catalog/locations", h.handle(h.createLocation))
	mux.Handle("GET /api/catalog/locations", h.handle(h.listLocations))
	mux.Handle("POST /api/catalog/locations/by-query", h.handle(h.queryLocations))
	mux.Handle("GET /api/catalog/locations/by-entity/{kind}/{namespace}/{name}", h.handle(h.locationByEntity))
	mux.Handle("GET /api/catalog/locations/{id}", h.handle(h.locationByID))
	mux.Handle("PUT /api/catalog/locations/{id}", h.handle(h.updateLocation))
	mux.Handle("DELETE /api/catalog/locations/{id}", h.handle(h.deleteLocation))
	mux.Handle("GET /api/catalog/locations/{id}/status", h.handle(h.locationStatus))
	mux.Handle("POST /api/catalog/analyze-location", h.handle(h.analyzeLocation))
	h.openAPIRoutes(mux)
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
