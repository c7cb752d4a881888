package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// Catalog is what the pages read from the catalog service. Errors carry
// greenroom codes: EntityByName returns code not_found for an unknown
// entity; malformed queries are code invalid.
type Catalog interface {
	QueryEntities(ctx context.Context, q query.EntitiesQuery, fields query.Fields) (query.EntitiesPage[json.RawMessage], error)
	// EntitiesByRefs returns one entity per ref, in order, JSON null for
	// each that is missing.
	EntitiesByRefs(ctx context.Context, refs []string, filter *query.Filter, fields query.Fields) ([]json.RawMessage, error)
	Facets(ctx context.Context, q query.FacetsQuery) (query.FacetsResponse, error)
	EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
}

// Registrar registers locations (the "register existing component" page).
// CreateLocation with DryRun reads and validates without storing; its
// errors are code invalid (with the located problems), conflict (already
// registered) or unavailable (registration not enabled).
type Registrar interface {
	CreateLocation(ctx context.Context, in catalog.LocationInput, opts catalog.CreateLocationOptions) (catalog.CreateLocationResult, error)
}

// Health reports the problems the catalog's last refresh found, each
// ideally a *catalog.ProcessingError with file and line.
type Health interface {
	Problems() []error
}

// ChangeFeed delivers the catalog's change events (see Handler.Watch).
type ChangeFeed interface {
	Subscribe(ctx context.Context) (*catalog.Subscription, error)
}

// Handler serves the HTML portal.
type Handler struct {
	title      string
	catalog    Catalog
	registrar  Registrar  // nil: the import page says registration is off
	health     Health     // nil: no catalog health on the home page
	feed       ChangeFeed // nil: no recent changes
	logger     *slog.Logger
	tmpl       *templates
	assets     *assets
	sections   sections
	changes    changeLog
	facetCache facetCache
	identify   IdentifyFunc
	live       *liveHub
	perms      RouteDecider // nil: every control enabled (SetPermissions)
}

// New parses every template and loads the assets; an error means the
// binary is broken. c may also implement Registrar, Health and ChangeFeed
// (the catalog service does); the pages that need them say so when it
// does not. The built-in entity sections are registered.
func New(title string, c Catalog, logger *slog.Logger) (*Handler, error) {
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	if title == "" {
		title = "Greenroom"
	}
	h := &Handler{title: title, catalog: c, logger: logger, tmpl: tmpl, assets: a, live: newLiveHub()}
	h.registrar, _ = c.(Registrar)
	h.health, _ = c.(Health)
	h.feed, _ = c.(ChangeFeed)
	h.registerBuiltinSections()
	h.registerRichSections()
	return h, nil
}

// Routes registers the pages on mux. Paths follow Backstage's app so that
// links people already have keep working.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /{$}", h.handle(h.home))
	mux.Handle("GET /catalog", h.handle(h.catalogList))
	mux.Handle("GET /catalog/{$}", http.RedirectHandler("/catalog", http.StatusMovedPermanently))
	mux.Handle("GET /catalog/{namespace}/{kind}/{name}", h.handle(h.entityPage))
	mux.Handle("GET /catalog/{namespace}/{kind}/{name}/{section}", h.handle(h.entityPage))
	mux.Handle("POST /catalog/{namespace}/{kind}/{name}/star", h.handle(h.toggleStar))
	mux.Handle("POST /catalog/{namespace}/{kind}/{name}/refresh", h.handle(h.refreshEntity))
	mux.Handle("POST /catalog/{namespace}/{kind}/{name}/delete", h.handle(h.deleteEntity))
	mux.Handle("GET /api-docs", h.handle(h.apiDocs))
	mux.Handle("GET /catalog-import", h.handle(h.importForm))
	mux.Handle("POST /catalog-import", h.handle(h.importSubmit))
	mux.HandleFunc("GET /static/{file}", h.serveAsset)
	mux.HandleFunc("GET /api/events/stream/catalog", h.serveLive) // LivePath
	mux.Handle("/", h.handle(h.notFound))
}

// handle adapts an error-returning page handler: an error becomes an HTML
// error page with the status its code maps to.
func (h *Handler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.renderError(w, r, err)
		}
	})
}

// errorView is the body of the error page.
type errorView struct {
	Status    int
	Message   string
	RequestID string
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := greenroom.HTTPStatus(err)
	v := errorView{Status: status, Message: greenroom.ErrorMessage(err), RequestID: greenroom.RequestID(r.Context())}
	title := http.StatusText(status)
	if status >= 500 {
		h.logger.Error("page failed", "request_id", v.RequestID, "path", r.URL.Path, "err", err)
		v.Message = "Something went wrong on our side."
		title = "Something went wrong"
	}
	if rerr := h.render(w, r, status, "error", &page{Title: title, Data: v}); rerr != nil {
		h.logger.Error("error page failed", "request_id", v.RequestID, "err", rerr)
		http.Error(w, fmt.Sprintf("%d %s", status, v.Message), status)
	}
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) error {
	return greenroom.Errorf(greenroom.CodeNotFound, "There is no page at this address. Try the catalog or the search on the home page.")
}
