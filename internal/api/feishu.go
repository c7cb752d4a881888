package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"greenroom/internal/access"
	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
)

// FeishuMigrations is what the /api/feishu routes need from the migration
// service.
type FeishuMigrations interface {
	Start(ctx context.Context, req feishu.Request) (feishu.Migration, error)
	Migration(ctx context.Context, id string) (feishu.Migration, error)
	Migrations(ctx context.Context, limit int) ([]feishu.Migration, error)
	Validate(ctx context.Context, id string) (feishu.Validation, error)
	Rollback(ctx context.Context, id string) (feishu.Migration, error)
	ConversionDefaults() feishu.ConversionConfig
}

// FeishuHandler serves /api/feishu: the admin API of Feishu migrations.
type FeishuHandler struct {
	svc    FeishuMigrations
	errors ErrorWriter
}

// NewFeishu returns the Feishu migration API over svc.
func NewFeishu(svc FeishuMigrations, logger *slog.Logger) *FeishuHandler {
	return &FeishuHandler{svc: svc, errors: ErrorWriter{Logger: logger}}
}

// maxFeishuRequestBytes bounds a migration request body.
const maxFeishuRequestBytes = 1 << 20

// Routes registers the Feishu routes on mux.
func (h *FeishuHandler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/feishu/migrations", h.handle(h.list))
	mux.Handle("POST /api/feishu/migrations", h.handle(h.start))
	mux.Handle("GET /api/feishu/migrations/{id}", h.handle(h.get))
	mux.Handle("POST /api/feishu/migrations/{id}/validate", h.handle(h.validate))
	mux.Handle("POST /api/feishu/migrations/{id}/rollback", h.handle(h.rollback))
}

// handle checks the caller may administer migrations, then runs fn.
func (h *FeishuHandler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := error(nil)
		if !feishu.CanAdminister(access.FromContext(r.Context())) {
			err = greenroom.Errorf(greenroom.CodeForbidden, "Feishu migrations are for administrators")
		} else {
			err = fn(w, r)
		}
		if err != nil {
			h.errors.Write(w, r, err)
		}
	})
}

func (h *FeishuHandler) list(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return greenroom.Errorf(greenroom.CodeInvalid, "limit %q: want 1 to 500", s)
		}
		limit = n
	}
	ms, err := h.svc.Migrations(r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ms})
	return nil
}

func (h *FeishuHandler) start(w http.ResponseWriter, r *http.Request) error {
	// Fields the body leaves out keep these defaults (JSON decoding fills
	// in only what it names).
	req := feishu.Request{Conversion: h.svc.ConversionDefaults(), PreserveHierarchy: true}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFeishuRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return greenroom.Errorf(greenroom.CodeTooLarge, "request body is larger than %d bytes", maxFeishuRequestBytes)
		}
		return greenroom.Errorf(greenroom.CodeInvalid, "request body is not a migration request: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return greenroom.Errorf(greenroom.CodeInvalid, "request body has data after the JSON object")
	}
	req.RequestedBy = "api"
	if p := access.FromContext(r.Context()); p != nil {
		req.RequestedBy = p.UserRef
	}
	m, err := h.svc.Start(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/feishu/migrations/"+m.ID)
	writeJSON(w, http.StatusAccepted, m)
	return nil
}

func (h *FeishuHandler) get(w http.ResponseWriter, r *http.Request) error {
	m, err := h.svc.Migration(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (h *FeishuHandler) validate(w http.ResponseWriter, r *http.Request) error {
	v, err := h.svc.Validate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (h *FeishuHandler) rollback(w http.ResponseWriter, r *http.Request) error {
	m, err := h.svc.Rollback(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}
