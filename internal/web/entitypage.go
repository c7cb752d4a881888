package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"greenroom/internal/catalog/query"
	"greenroom/internal/greenroom"
)

// tab is one link of the entity page's section navigation.
type tab struct {
	Title, Path string
	Current     bool
}

type entityView struct {
	E         *Entity
	Row       entityRow
	Tabs      []tab
	Section   string // the current section's title
	SectionID string
	Body      template.HTML
	Orphan    bool
	Starred   bool
	StarPath  string
	Actions   *entityControls // Refresh and Delete; nil when the catalog has none
}

// maxRefPart bounds each part of an entity path (Backstage's names are
// at most 63 characters; kinds and namespaces are as short).
const maxRefPart = 253

func pathRef(r *http.Request) (greenroom.EntityRef, error) {
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	for _, p := range []string{ref.Kind, ref.Namespace, ref.Name} {
		if len(p) > maxRefPart {
			return ref, greenroom.Errorf(greenroom.CodeInvalid, "This entity address is too long to be an entity.")
		}
	}
	return ref, nil
}

func (h *Handler) entityPage(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	raw, err := h.catalog.EntityByName(r.Context(), ref)
	if greenroom.IsNotFound(err) {
		return h.entityNotFound(w, r, ref)
	}
	if err != nil {
		return err
	}
	e, err := parseEntity(raw)
	if err != nil {
		return err
	}
	id := r.PathValue("section")
	if id == "" {
		id = OverviewID
	}
	vw := h.viewer(r)
	v := entityView{E: e, Row: newRow(e, vw), SectionID: id, Orphan: e.Annotation("backstage.io/orphan") == "true",
		Starred: vw.IsStarred(e.RefString()), StarPath: e.Path() + "/star", Actions: h.entityControls(r, e)}
	var current Section
	for _, s := range h.sections.applying(e) {
		t := tab{Title: s.Title(), Path: sectionPath(e, s.ID()), Current: s.ID() == id}
		if t.Current {
			current = s
		}
		v.Tabs = append(v.Tabs, t)
	}
	if id == OverviewID && r.PathValue("section") != "" {
		http.Redirect(w, r, e.Path(), http.StatusMovedPermanently)
		return nil
	}
	if current == nil {
		return h.sectionNotFound(w, r, v, id)
	}
	v.Section = current.Title()
	if v.Body, err = current.Render(withQuery(r.Context(), r.URL.Query()), e); err != nil {
		return err
	}
	title := e.DisplayName()
	if id != OverviewID {
		title = current.Title() + " · " + title
	}
	return h.render(w, r, http.StatusOK, "entity", &page{Title: title, Nav: "catalog", Data: v, Live: entityLive(e.RefString()), Notices: entityDone(r.URL.Query())})
}

// notFoundView is the 404 page of an unknown entity or section.
type notFoundView struct {
	Ref         greenroom.EntityRef
	Suggestions []entityRow
	Tabs        []tab // the entity's real sections, for an unknown one
	Entity      *entityView
	Section     string
	SearchURL   string
}

func (h *Handler) sectionNotFound(w http.ResponseWriter, r *http.Request, ev entityView, id string) error {
	v := notFoundView{Ref: ev.E.Ref(), Tabs: ev.Tabs, Entity: &ev, Section: id}
	return h.render(w, r, http.StatusNotFound, "notfound", &page{Title: "No such section", Nav: "catalog", Data: v})
}

// entityNotFound answers an unknown entity with a 404 that suggests what
// was probably meant: the same name in another kind or namespace, then
// entities whose name or title contains the name (or its first word).
func (h *Handler) entityNotFound(w http.ResponseWriter, r *http.Request, ref greenroom.EntityRef) error {
	sugg, err := h.suggest(r.Context(), ref)
	if err != nil {
		return err
	}
	text := ref.Name
	v := notFoundView{Ref: ref, SearchURL: "/catalog?filters%5Bkind%5D=&filters%5Btext%5D=" + url.QueryEscape(text)}
	vw := h.viewer(r)
	for _, e := range sugg {
		v.Suggestions = append(v.Suggestions, newRow(e, vw))
	}
	return h.render(w, r, http.StatusNotFound, "notfound", &page{Title: "Entity not found", Nav: "catalog", Data: v})
}

const maxSuggestions = 8

func (h *Handler) suggest(ctx context.Context, ref greenroom.EntityRef) ([]*Entity, error) {
	var out []*Entity
	seen := map[string]bool{}
	add := func(q query.EntitiesQuery) error {
		q.Style, q.Limit = query.StyleQuery, maxSuggestions
		if len(q.Order) == 0 {
			q.Order = []query.Order{{Field: "metadata.name"}}
		}
		page, err := h.catalog.QueryEntities(ctx, q, listFields)
		if greenroom.ErrorCode(err) == greenroom.CodeInvalid {
			return nil // a path no query can express: no suggestions
		}
		if err != nil {
			return err
		}
		for _, raw := range page.Items {
			e, err := parseEntity(raw)
			if err != nil {
				return err
			}
			if k := e.RefString(); !seen[k] && len(out) < maxSuggestions {
				seen[k] = true
				out = append(out, e)
			}
		}
		return nil
	}
	name := strings.TrimSpace(ref.Name)
	if name == "" || len(name) > query.MaxSearchValueLength {
		return nil, nil
	}
	same := query.In("metadata.name", name)
	if err := add(query.EntitiesQuery{Filter: &same}); err != nil {
		return nil, err
	}
	terms := []string{name}
	if first, _, ok := strings.Cut(name, "-"); ok && len(first) >= 3 {
		terms = append(terms, first)
	}
	for _, t := range terms {
		if len(out) >= maxSuggestions {
			break
		}
		if err := add(query.EntitiesQuery{FullText: query.FullTextFilter{Term: t, Fields: nameFields}}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
