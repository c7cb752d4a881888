package web

import (
	"net/http"
	"net/url"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/entity"
	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// importView is the "register existing component" page in its three
// states: the form, the dry-run preview, and the result.
type importView struct {
	Enabled  bool
	Can      control // may the viewer register (POST /catalog-import)
	URL      string
	Error    string   // why the last step failed
	Problems []string // the located problems of a failed dry run
	Preview  bool
	Exists   bool
	Location string // the Location entity the registration generates
	Entities []entityRow
	Done     bool
}

func (h *Handler) canRegister(r *http.Request) control {
	return h.can(r, http.MethodPost, "/catalog-import", "import-why", "register components")
}

// maxImportEntities bounds the preview and the result lists.
const maxImportEntities = 500

func (h *Handler) importForm(w http.ResponseWriter, r *http.Request) error {
	v := importView{Enabled: h.registrar != nil, URL: clip(r.URL.Query().Get("url"), 2048), Can: h.canRegister(r)}
	return h.render(w, r, http.StatusOK, "import", &page{Title: "Register an existing component", Nav: "import", Data: v})
}

// importSubmit runs one step: action=preview reads the URL without
// storing anything (POST /locations?dryRun=true in the API), action=import
// registers it.
func (h *Handler) importSubmit(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	v := importView{Enabled: h.registrar != nil, URL: strings.TrimSpace(r.PostFormValue("url")), Can: h.canRegister(r)}
	status := http.StatusOK
	show := func() error {
		return h.render(w, r, status, "import", &page{Title: "Register an existing component", Nav: "import", Data: v})
	}
	if !v.Enabled {
		status, v.Error = http.StatusServiceUnavailable, "Registering components is not enabled on this server."
		return show()
	}
	if msg := checkImportURL(v.URL); msg != "" {
		status, v.Error = http.StatusBadRequest, msg
		return show()
	}
	in := catalog.LocationInput{Type: catalog.LocationTypeURL, Target: v.URL}
	action := r.PostFormValue("action")
	res, err := h.registrar.CreateLocation(r.Context(), in, catalog.CreateLocationOptions{DryRun: action != "import", OnConflict: onConflict(action)})
	if code := greenroom.ErrorCode(err); code == greenroom.CodeInvalid || code == greenroom.CodeConflict || code == greenroom.CodeUnavailable {
		status = greenroom.HTTPStatus(err)
		v.Error = "The catalog could not register this URL."
		if code == greenroom.CodeConflict {
			v.Error = greenroom.ErrorMessage(err) + ". It is in the catalog already."
		} else {
			v.Problems = splitProblems(greenroom.ErrorMessage(err))
		}
		return show()
	}
	if err != nil {
		return err
	}
	vw := h.viewer(r)
	if action != "import" {
		v.Preview = true
		v.Exists = res.Exists != nil && *res.Exists
		for i, raw := range res.Entities {
			e, err := parseEntity(raw)
			if err != nil {
				return err
			}
			if i == 0 && e.IsKind("location") {
				v.Location = e.RefString() // the generated one comes first
				continue
			}
			if len(v.Entities) < maxImportEntities {
				row := newRow(e, vw)
				row.Path = "" // not in the catalog yet
				v.Entities = append(v.Entities, row)
			}
		}
		return show()
	}
	v.Done, v.Location = true, res.Location.EntityRef
	origin := catalog.LocationTypeURL + ":" + v.URL
	f := query.All(query.In("metadata.annotations."+entity.AnnotationManagedByOriginLocation, origin), query.Not(query.In("kind", "location")))
	page, err := h.catalog.QueryEntities(r.Context(), query.EntitiesQuery{Style: query.StyleQuery, Filter: &f,
		Order: []query.Order{{Field: "metadata.name"}}, Limit: maxImportEntities}, listFields)
	if err != nil {
		return err
	}
	for _, raw := range page.Items {
		e, err := parseEntity(raw)
		if err != nil {
			return err
		}
		v.Entities = append(v.Entities, newRow(e, vw))
	}
	return show()
}

// onConflict lets a confirmed import of a location that exists refresh it,
// as the preview said it would.
func onConflict(action string) string {
	if action == "import" {
		return "refresh"
	}
	return ""
}

// checkImportURL says what is wrong with a URL to register, "" when it
// looks registrable (the catalog checks the rest).
func checkImportURL(s string) string {
	if s == "" {
		return "Enter the URL of a catalog-info.yaml file, such as https://github.com/org/repo/blob/main/catalog-info.yaml."
	}
	if len(s) > 2048 {
		return "The URL is longer than 2048 characters."
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "The URL must be an absolute http:// or https:// address, such as https://github.com/org/repo/blob/main/catalog-info.yaml."
	}
	return ""
}

// splitProblems turns the catalog's "p1; p2; and 3 more" message into a
// list.
func splitProblems(msg string) []string {
	var out []string
	for p := range strings.SplitSeq(msg, "; ") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
