package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"greenroom/internal/greenroom"
)

// maxFormBytes bounds the forms the portal accepts.
const maxFormBytes = 64 << 10

// toggleStar stars or unstars an entity (POST …/star, form field
// star=1 or 0) and sends the browser back where it came from. A fetch
// asking for JSON gets {"starred": bool} instead, so the script can update
// the button in place.
func (h *Handler) toggleStar(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	raw, err := h.catalog.EntityByName(r.Context(), ref)
	if err != nil {
		return err
	}
	e, err := parseEntity(raw)
	if err != nil {
		return err
	}
	key := e.RefString()
	starred := slices.DeleteFunc(starredRefs(r), func(s string) bool { return s == key })
	on := r.PostFormValue("star") == "1"
	if on {
		if len(starred) >= maxStarred {
			return greenroom.Errorf(greenroom.CodeInvalid, "You can star at most %d entities. Unstar some first (they are listed on the home page).", maxStarred)
		}
		starred = append(starred, key)
	}
	setStarred(w, r, starred)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		setSecurityHeaders(w, r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		return json.NewEncoder(w).Encode(map[string]bool{"starred": on})
	}
	http.Redirect(w, r, localReturn(r.PostFormValue("return"), e.Path()), http.StatusSeeOther)
	return nil
}

// localReturn returns ret when it is a path on this site (so a form
// cannot redirect elsewhere), else fallback.
func localReturn(ret, fallback string) string {
	if len(ret) > 2048 || !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") ||
		strings.ContainsAny(ret, "\r\n\\") {
		return fallback
	}
	return ret
}
