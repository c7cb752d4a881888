package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// POST /locations?dryRun=&onConflict=: 201 with {location, entities,
// exists?}, as Backstage answers, a dry run included.
func (h *Handler) createLocation(w http.ResponseWriter, r *http.Request) error {
	var in catalog.LocationInput
	if err := decodeStrictBody(r, &in); err != nil {
		return err
	}
	q := r.URL.Query()
	dryRun, err := parseYesNo("dryRun", q.Get("dryRun"))
	if err != nil {
		return err
	}
	res, err := h.catalog.CreateLocation(r.Context(), in, catalog.CreateLocationOptions{DryRun: dryRun, OnConflict: q.Get("onConflict")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

type locationItem struct {
	Data catalog.Location `json:"data"`
}

// GET /locations: every location, each wrapped as {data: location}.
func (h *Handler) listLocations(w http.ResponseWriter, r *http.Request) error {
	locs, err := h.catalog.Locations(r.Context())
	if err != nil {
		return err
	}
	out := make([]locationItem, len(locs))
	for i, l := range locs {
		out[i] = locationItem{Data: l}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// POST /locations/by-query: a page of locations matching a predicate.
func (h *Handler) queryLocations(w http.ResponseWriter, r *http.Request) error {
	var q catalog.LocationsQuery
	if r.ContentLength != 0 {
		if err := decodeBody(r, &q); err != nil {
			return err
		}
	}
	page, err := h.catalog.QueryLocations(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (h *Handler) locationByID(w http.ResponseWriter, r *http.Request) error {
	l, err := h.catalog.LocationByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// PUT /locations/:id: change a registered location's type and target.
func (h *Handler) updateLocation(w http.ResponseWriter, r *http.Request) error {
	var in catalog.LocationInput
	if err := decodeStrictBody(r, &in); err != nil {
		return err
	}
	l, err := h.catalog.UpdateLocation(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// DELETE /locations/:id answers 204, as Backstage does.
func (h *Handler) deleteLocation(w http.ResponseWriter, r *http.Request) error {
	if err := h.catalog.RemoveLocation(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) locationByEntity(w http.ResponseWriter, r *http.Request) error {
	l, err := h.catalog.LocationByEntity(r.Context(), pathRef(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// GET /locations/:id/status, Greenroom's own: the location's last refresh
// and its problems.
func (h *Handler) locationStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := h.catalog.LocationStatus(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// POST /analyze-location: 200 with Backstage's AnalyzeLocationResponse.
func (h *Handler) analyzeLocation(w http.ResponseWriter, r *http.Request) error {
	var req catalog.AnalyzeLocationRequest
	if err := decodeStrictBody(r, &req); err != nil {
		return err
	}
	resp, err := h.catalog.AnalyzeLocation(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) entityAncestry(w http.ResponseWriter, r *http.Request) error {
	a, err := h.catalog.EntityAncestry(r.Context(), pathRef(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func pathRef(r *http.Request) greenroom.EntityRef {
	return greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
}

// decodeStrictBody is decodeBody refusing unknown keys, as Backstage's
// schema for a location input does.
func decodeStrictBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if greenroom.HTTPStatus(err) == http.StatusRequestEntityTooLarge {
			return err
		}
		return greenroom.Errorf(greenroom.CodeInvalid, "Malformed request: %v", err)
	}
	return nil
}

// parseYesNo reads a boolean query parameter the way Backstage's yn does;
// absent is false, anything unrecognised is refused rather than guessed.
func parseYesNo(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "true", "1", "on":
		return true, nil
	case "", "n", "no", "false", "0", "off":
		return false, nil
	}
	return false, greenroom.Errorf(greenroom.CodeInvalid, "%s must be true or false, got %q", name, v)
}
