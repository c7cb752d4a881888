package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

//go:embed templates/*.html
var templateFS embed.FS

// Catalog is what the pages need from the catalog service.
type Catalog interface {
	Entities(ctx context.Context, q catalog.Query) ([]json.RawMessage, error)
}

// Handler serves the HTML pages.
type Handler struct {
	title   string
	catalog Catalog
	logger  *slog.Logger
	tmpl    *template.Template
}

// New parses every template; an error means the binary is broken.
func New(title string, c Catalog, logger *slog.Logger) (*Handler, error) {
	tmpl, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse templates: %w", err)
	}
	return &Handler{title: title, catalog: c, logger: logger, tmpl: tmpl}, nil
}

// Routes registers the pages on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /{$}", h.handle(h.home))
}

func (h *Handler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			status := greenroom.HTTPStatus(err)
			msg := greenroom.ErrorMessage(err)
			if status >= 500 {
				h.logger.Error("page failed", "request_id", greenroom.RequestID(r.Context()), "err", err)
				msg = "Something went wrong. Request id: " + greenroom.RequestID(r.Context())
			}
			http.Error(w, msg, status)
		}
	})
}

// render executes into a buffer first so a template error never sends
// half a page.
func (h *Handler) render(w http.ResponseWriter, name string, data any) error {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := buf.WriteTo(w)
	return err
}
