package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// maxListLimit bounds one page of entities.
const maxListLimit = 10000

func (h *Handler) listEntities(w http.ResponseWriter, r *http.Request) error {
	q, err := parseEntityQuery(r)
	if err != nil {
		return err
	}
	ents, err := h.catalog.Entities(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ents)
	return nil
}

// parseEntityQuery reads the subset of Backstage's GET /entities query
// that the foundation serves: filter=kind=<kind>, limit and offset.
func parseEntityQuery(r *http.Request) (catalog.Query, error) {
	var q catalog.Query
	v := r.URL.Query()
	for _, f := range v["filter"] {
		for _, part := range strings.Split(f, ",") {
			key, val, ok := strings.Cut(part, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(key), "kind") {
				return q, greenroom.Errorf(greenroom.CodeInvalid, "filter %q: only kind=<kind> is supported yet", part)
			}
			q.Kind = strings.TrimSpace(val)
		}
	}
	var err error
	if q.Limit, err = intParam(v.Get("limit"), "limit", maxListLimit); err != nil {
		return q, err
	}
	if q.Offset, err = intParam(v.Get("offset"), "offset", -1); err != nil {
		return q, err
	}
	return q, nil
}

func intParam(s, name string, max int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || (max >= 0 && n > max) {
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "%s must be a whole number from 0 to %d, got %q", name, max, s)
	}
	return n, nil
}

func (h *Handler) entityByName(w http.ResponseWriter, r *http.Request) error {
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	ent, err := h.catalog.EntityByName(r.Context(), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ent)
	return nil
}

type refreshRequest struct {
	EntityRef string `json:"entityRef"`
}

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			if greenroom.HTTPStatus(err) == http.StatusRequestEntityTooLarge {
				return err
			}
			return greenroom.Errorf(greenroom.CodeInvalid, "refresh body must be JSON like {\"entityRef\":\"component:default/x\"}: %v", err)
		}
	}
	if err := h.catalog.RequestRefresh(r.Context(), req.EntityRef); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
