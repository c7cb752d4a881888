package web

import (
	"context"
	"html/template"
	"strings"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// registerBuiltinSections registers the entity page's own tabs in their
// order. The Dependencies and APIs sections list relations; the
// dependency graph (internal/web/graph) and the API definition viewers
// (internal/apidocs) take over or join them by registering sections with
// the same or new IDs.
func (h *Handler) registerBuiltinSections() {
	h.Register(overviewSection{h})
	h.Register(dependenciesSection{h})
	h.Register(apisSection{h})
	for _, p := range placeholderSpecs {
		h.Register(placeholderSection{p, h})
	}
}

// overviewSection is the entity's root page: Backstage's About, Links and
// processing errors cards, the annotations made readable, and for groups
// and users their people and ownership.
type overviewSection struct{ h *Handler }

func (overviewSection) ID() string           { return OverviewID }
func (overviewSection) Title() string        { return "Overview" }
func (overviewSection) Applies(*Entity) bool { return true }

// linkRow is one link of the Links card; Refused holds a link that was not
// rendered because its scheme is not http(s) or mailto.
type linkRow struct {
	URL, Title, Type string
	Refused          bool
}

// errorRow is one processing error of the entity, located when the
// message says where.
type errorRow struct {
	File    string
	Line    int
	Message string
}

type overviewView struct {
	E           *Entity
	Row         entityRow
	Description string
	DomainRef   string // the system's domain, for components and resources
	Links       []linkRow
	Source      string // source code link
	SourceText  string
	ManagedBy   string // the file it was read from, as a link when it is a URL
	ManagedText string
	ViewURL     string
	EditURL     string
	Annotations []annotationRow
	Labels      []annotationRow
	Errors      []errorRow
	Orphan      bool
	Org         *orgView // groups and users
}

// Bounds of the Overview.
const (
	maxDescription = 20000
	maxLinks       = 200
)

func (s overviewSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	v := overviewView{E: e, Row: newRow(e, viewer{}), Description: clip(e.Metadata.Description, maxDescription),
		Orphan: e.Annotation(entity.AnnotationOrphan) == "true"}
	for i, l := range e.Metadata.Links {
		if i == maxLinks {
			break
		}
		title := l.Title
		if title == "" {
			title = l.URL
		}
		u := safeURL(l.URL)
		v.Links = append(v.Links, linkRow{URL: u, Title: clip(title, 200), Type: l.Type, Refused: u == ""})
	}
	if src := e.Annotation(entity.AnnotationSourceLocation); src != "" {
		v.Source, v.SourceText = locationURL(src), clip(strings.TrimPrefix(src, "url:"), 300)
	}
	if loc := e.Annotation(entity.AnnotationManagedByLocation); loc != "" {
		v.ManagedBy, v.ManagedText = locationURL(loc), clip(loc, 300)
	}
	v.ViewURL = safeURL(e.Annotation(entity.AnnotationViewURL))
	v.EditURL = safeURL(e.Annotation(entity.AnnotationEditURL))
	v.Annotations = annotationRows(e.Metadata.Annotations)
	v.Labels = annotationRows(e.Metadata.Labels)
	for _, it := range e.Status.Items {
		if it.Level != "error" && it.Error.Message == "" {
			continue
		}
		msg := it.Error.Message
		if msg == "" {
			msg = it.Message
		}
		file, line, rest := locatedMessage(msg)
		v.Errors = append(v.Errors, errorRow{File: file, Line: line, Message: clip(rest, 2000)})
	}
	if v.Row.System != "" {
		dom, err := s.h.systemDomain(ctx, v.Row.System)
		if err != nil {
			return "", err
		}
		v.DomainRef = dom
	}
	if e.IsKind("group", "user") {
		org, err := s.h.orgView(ctx, e)
		if err != nil {
			return "", err
		}
		v.Org = org
	}
	return s.h.renderPart("overview", v)
}

// systemDomain returns the domain of a system, "" when the system or its
// domain is missing.
func (h *Handler) systemDomain(ctx context.Context, systemRef string) (string, error) {
	r, err := entity.ParseRefInContext(systemRef, "system", "")
	if err != nil {
		return "", nil
	}
	raw, err := h.catalog.EntityByName(ctx, r)
	if greenroom.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	sys, err := parseEntity(raw)
	if err != nil {
		return "", err
	}
	return sys.specRef("domain", "domain"), nil
}
