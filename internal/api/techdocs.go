package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"greenroom/internal/greenroom"
	"greenroom/internal/techdocs"
)

// TechDocsCatalog is what the TechDocs routes need from the catalog.
type TechDocsCatalog interface {
	EntityByName(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
}

// TechDocs serves Backstage's TechDocs backend routes
// (/api/techdocs/...), which @backstage/plugin-techdocs clients call.
type TechDocs struct {
	catalog TechDocsCatalog
	svc     *techdocs.Service
	errors  ErrorWriter
}

// NewTechDocs returns the TechDocs API handler.
func NewTechDocs(c TechDocsCatalog, svc *techdocs.Service, logger *slog.Logger) *TechDocs {
	return &TechDocs{catalog: c, svc: svc, errors: ErrorWriter{Logger: logger}}
}

// Routes registers the TechDocs routes on mux.
func (h *TechDocs) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/techdocs/static/docs/{namespace}/{kind}/{name}/{file...}", h.handle(h.static))
	mux.Handle("GET /api/techdocs/metadata/techdocs/{namespace}/{kind}/{name}", h.handle(h.techdocsMetadata))
	mux.Handle("GET /api/techdocs/metadata/entity/{namespace}/{kind}/{name}", h.handle(h.entityMetadata))
	mux.Handle("GET /api/techdocs/sync/{namespace}/{kind}/{name}", h.handle(h.sync))
}

func (h *TechDocs) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.errors.Write(w, r, err)
		}
	})
}

// entity loads the entity of the request's path; it must exist, as in
// Backstage, before any of its docs are served.
func (h *TechDocs) entity(r *http.Request) (json.RawMessage, techdocs.EntityDocs, error) {
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	raw, err := h.catalog.EntityByName(r.Context(), ref)
	if err != nil {
		if greenroom.ErrorCode(err) == greenroom.CodeNotFound {
			return nil, techdocs.EntityDocs{}, greenroom.Errorf(greenroom.CodeNotFound, "Entity not found for %s", ref)
		}
		return nil, techdocs.EntityDocs{}, err
	}
	e, err := techdocs.EntityDocsFromJSON(raw)
	if err != nil {
		return nil, techdocs.EntityDocs{}, err
	}
	// The stored triplet is the path's, lowercased by Name.Path.
	e.Name = techdocs.EntityName{Namespace: ref.Namespace, Kind: ref.Kind, Name: ref.Name}
	return raw, e, nil
}

// staticCSP keeps a published page from running scripts when it is opened
// directly: sites published by CI (techdocs-cli) were not sanitized.
const staticCSP = "sandbox; default-src 'none'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; font-src 'self' data:"

func (h *TechDocs) static(w http.ResponseWriter, r *http.Request) error {
	_, e, err := h.entity(r)
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	rc, info, err := h.svc.Publisher().Open(r.Context(), e.Name, file)
	if err != nil {
		return err
	}
	defer rc.Close()
	name := file
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", staticCSP)
	if info.Size > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	}
	if !info.ModTime.IsZero() {
		w.Header().Set("Last-Modified", info.ModTime.UTC().Format(http.TimeFormat))
	}
	_, _ = io.Copy(w, rc)
	return nil
}

func (h *TechDocs) techdocsMetadata(w http.ResponseWriter, r *http.Request) error {
	_, e, err := h.entity(r)
	if err != nil {
		return err
	}
	m, err := techdocs.ReadMetadata(r.Context(), h.svc.Publisher(), e.Name)
	if err != nil {
		if greenroom.ErrorCode(err) == greenroom.CodeNotFound {
			return greenroom.Errorf(greenroom.CodeNotFound, "Unable to get metadata for '%s'", e.Name)
		}
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// entityMetadata is the entity with locationMetadata, Backstage's
// resolved techdocs-ref.
func (h *TechDocs) entityMetadata(w http.ResponseWriter, r *http.Request) error {
	raw, e, err := h.entity(r)
	if err != nil {
		return err
	}
	src, err := techdocs.ResolveSource(e.Annotations)
	if err != nil {
		return greenroom.Errorf(greenroom.CodeNotFound, "Unable to get metadata for '%s': %s", e.Name, greenroom.ErrorMessage(err))
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("api: techdocs: entity: %w", err)
	}
	obj["locationMetadata"] = src
	writeJSON(w, http.StatusOK, obj)
	return nil
}

// sync is Backstage's /sync: an event stream of "log" events, then
// "finish" with {"updated": bool}, or "error" with the message.
func (h *TechDocs) sync(w http.ResponseWriter, r *http.Request) error {
	_, e, err := h.entity(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(event string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	updated, err := h.svc.Sync(r.Context(), e, false, func(line string) { send("log", line) })
	if err != nil {
		send("error", greenroom.ErrorMessage(err))
		return nil
	}
	send("finish", map[string]bool{"updated": updated})
	return nil
}
