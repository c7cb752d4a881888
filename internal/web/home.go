package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/catalog/query"
)

// Bounds of the home page's lists.
const (
	homeMine     = 10
	homeChanges  = 10
	homeProblems = 20
)

type homeView struct {
	Kinds     []facetOption
	Total     int
	SignedIn  bool
	Mine      []entityRow
	MineTotal int
	MineURL   string
	Starred   []entityRow
	Changes   []changeRow
	Watching  bool
	Since     time.Time
	Health    bool // the catalog reports its problems
	Problems  []problemRow
	ProblemsN int
}

type changeRow struct {
	Row  entityRow
	Type string
	At   time.Time
}

// problemRow is one processing problem, located in its file.
type problemRow struct {
	File       string
	Line       int
	Ref        string
	EntityPath string // "" when the entity is not in the catalog
	Path       string
	Rule       string
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vw := h.viewer(r)
	v := homeView{SignedIn: vw.SignedIn(), MineURL: "/catalog?filters%5Bkind%5D=component&filters%5Buser%5D=owned"}
	kinds, err := h.facets(ctx, query.FacetsQuery{Facets: []string{"kind"}}, "")
	if err != nil {
		return err
	}
	v.Kinds = kindOptions(kinds.Facets["kind"], "")
	for _, k := range v.Kinds {
		v.Total += k.Count
	}
	if vw.SignedIn() {
		if err := h.homeMine(ctx, vw, &v); err != nil {
			return err
		}
	}
	changes, since := h.changes.recent(homeChanges)
	v.Watching, v.Since = !since.IsZero(), since
	problems := h.homeHealth(&v)
	if changes, problems, err = h.visibleOnly(ctx, changes, problems); err != nil { // admin.go
		return err
	}
	// One read resolves every entity the page names.
	refs := slices.Clone(vw.Starred)
	for _, c := range changes {
		refs = append(refs, c.Ref)
	}
	for _, p := range problems {
		if p.Ref != "" {
			refs = append(refs, p.Ref)
		}
	}
	rows, err := h.rowsByRef(ctx, refs, vw)
	if err != nil {
		return err
	}
	for _, ref := range vw.Starred {
		v.Starred = append(v.Starred, rows[ref])
	}
	for _, c := range changes {
		v.Changes = append(v.Changes, changeRow{Row: rows[c.Ref], Type: string(c.Type), At: c.At})
	}
	for _, p := range problems {
		pr := problemRow{File: p.File, Line: p.Line, Ref: p.Ref, Path: p.Path, Rule: p.Rule}
		if row, ok := rows[p.Ref]; ok && !row.Missing {
			pr.EntityPath = row.Path
		}
		v.Problems = append(v.Problems, pr)
	}
	return h.render(w, r, http.StatusOK, "home", &page{Title: h.title, Nav: "home", Data: v, Live: listLive()})
}

// homeHealth counts the last refresh's problems and returns the first
// located ones.
func (h *Handler) homeHealth(v *homeView) []*catalog.ProcessingError {
	if h.health == nil {
		return nil
	}
	v.Health = true
	var out []*catalog.ProcessingError
	for _, p := range h.health.Problems() {
		v.ProblemsN++
		var pe *catalog.ProcessingError
		if len(out) < homeProblems && errors.As(p, &pe) {
			out = append(out, pe)
		}
	}
	return out
}

// homeMine lists the components the viewer owns, directly or through
// their groups.
func (h *Handler) homeMine(ctx context.Context, vw viewer, v *homeView) error {
	owned, err := h.ownershipRefs(ctx, vw)
	if err != nil {
		return err
	}
	f := query.All(query.In("kind", "component"), query.In("relations.ownedBy", owned...))
	page, err := h.catalog.QueryEntities(ctx, query.EntitiesQuery{
		Style: query.StyleQuery, Filter: &f, Order: []query.Order{{Field: "metadata.name"}}, Limit: homeMine, TotalItems: true,
	}, listFields)
	if err != nil {
		return err
	}
	v.MineTotal = page.TotalItems
	for _, raw := range page.Items {
		e, err := parseEntity(raw)
		if err != nil {
			return err
		}
		v.Mine = append(v.Mine, newRow(e, vw))
	}
	return nil
}

// rowsByRef resolves refs to rows in one catalog read; a ref the catalog
// lacks gets a row marked Missing that still names it.
func (h *Handler) rowsByRef(ctx context.Context, refs []string, vw viewer) (map[string]entityRow, error) {
	out := map[string]entityRow{}
	var uniq []string
	for _, ref := range refs {
		if _, seen := out[ref]; !seen {
			out[ref] = missingRow(ref)
			uniq = append(uniq, ref)
		}
	}
	if len(uniq) == 0 {
		return out, nil
	}
	raws, err := h.catalog.EntitiesByRefs(ctx, uniq, nil, listFields)
	if err != nil {
		return nil, err
	}
	for i, raw := range raws {
		if string(raw) == "null" || len(raw) == 0 {
			continue
		}
		e, err := parseEntity(raw)
		if err != nil {
			return nil, err
		}
		out[uniq[i]] = newRow(e, vw)
	}
	return out, nil
}

// missingRow stands for a referenced entity the catalog does not have.
func missingRow(ref string) entityRow {
	return entityRow{Ref: ref, Display: clip(humanRef(ref, ""), maxRowTitle), FullName: ref, Missing: true}
}
