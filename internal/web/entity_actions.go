package web

import (
	"context"
	"net/http"
	"net/url"

	"greenroom/internal/greenroom"
)

// EntityActions is what the entity page's Refresh and Delete buttons need
// of the catalog (the catalog service has both).
type EntityActions interface {
	// RequestRefresh queues a refresh of the source that supplies the
	// entity; not_found when no current source does.
	RequestRefresh(ctx context.Context, entityRef string) error
	// DeleteEntityByUID removes the entity; a source that still supplies
	// it brings it back at its next refresh.
	DeleteEntityByUID(ctx context.Context, uid string) error
}

// entityControls are the entity page's actions, each with whether the
// viewer may use it (nil Actions: the catalog offers none).
type entityControls struct {
	Refresh, Delete control
}

func (h *Handler) entityControls(r *http.Request, e *Entity) *entityControls {
	if _, ok := h.catalog.(EntityActions); !ok {
		return nil
	}
	return &entityControls{
		Refresh: h.can(r, http.MethodPost, e.Path()+"/refresh", "refresh-why", "refresh this entity"),
		Delete:  h.can(r, http.MethodPost, e.Path()+"/delete", "delete-why", "delete this entity"),
	}
}

// entityAction reads an entity action's form: parsed, CSRF checked, the
// entity found.
func (h *Handler) entityAction(w http.ResponseWriter, r *http.Request) (EntityActions, *Entity, error) {
	acts, ok := h.catalog.(EntityActions)
	if !ok {
		return nil, nil, greenroom.Errorf(greenroom.CodeNotFound, "This catalog does not refresh or delete entities.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, nil, greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read.")
	}
	if err := checkCSRF(r); err != nil {
		return nil, nil, err
	}
	ref, err := pathRef(r)
	if err != nil {
		return nil, nil, err
	}
	raw, err := h.catalog.EntityByName(r.Context(), ref)
	if err != nil {
		return nil, nil, err
	}
	e, err := parseEntity(raw)
	if err != nil {
		return nil, nil, err
	}
	return acts, e, nil
}

// refreshEntity is POST …/refresh: it queues a refresh of the entity's
// source and returns to the entity page, which says so.
func (h *Handler) refreshEntity(w http.ResponseWriter, r *http.Request) error {
	acts, e, err := h.entityAction(w, r)
	if err != nil {
		return err
	}
	if err := acts.RequestRefresh(r.Context(), e.RefString()); err != nil {
		return err
	}
	http.Redirect(w, r, e.Path()+"?done=refresh", http.StatusSeeOther)
	return nil
}

// deleteEntity is POST …/delete: without confirm=yes it asks first; with
// it, it deletes the entity and goes to the catalog.
func (h *Handler) deleteEntity(w http.ResponseWriter, r *http.Request) error {
	acts, e, err := h.entityAction(w, r)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return h.render(w, r, http.StatusOK, "entity_delete", &page{Title: "Delete " + e.DisplayName(), Nav: "catalog", Data: e})
	}
	if err := acts.DeleteEntityByUID(r.Context(), e.Metadata.UID); err != nil {
		return err
	}
	http.Redirect(w, r, "/catalog?deleted="+url.QueryEscape(e.RefString()), http.StatusSeeOther)
	return nil
}

// entityDone is the notice after an entity action.
func entityDone(q url.Values) []string {
	if q.Get("done") == "refresh" {
		return []string{"Refresh requested: the entity's source is read again in the background; this page updates when it changes."}
	}
	return nil
}
