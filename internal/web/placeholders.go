package web

import (
	"context"
	"html/template"
)

// placeholderSection is a tab whose content comes from an integration not
// built yet (Argo CD, TechDocs, OpenCost, Sentry/Datadog). It says exactly
// which annotation connects the entity, or, when the entity has it, what
// remains to configure. The integration's package replaces it by
// registering a section with the same ID.
type placeholderSection struct {
	placeholderSpec
	h *Handler
}

// placeholderSpec describes one placeholder tab.
type placeholderSpec struct {
	id, title string
	kinds     []string
	// annotations connect an entity to the integration; the first is the
	// one to add.
	annotations []string
	example     string // a sample value of the first annotation
	what        string // "deployments", "documentation"…
	configure   string // what the server still needs, once annotated
}

// placeholderSections are the integration tabs, in tab order, with
// Backstage's paths where Backstage's app has them (/docs, /errors).
var placeholderSpecs = []placeholderSpec{
	{
		id: "docs", title: "Docs", kinds: []string{"component", "api", "system", "domain", "resource"},
		annotations: []string{"backstage.io/techdocs-ref"}, example: "dir:.", what: "its documentation",
		configure: "TechDocs is not built on this server yet; once it is, the documentation from that reference shows here.",
	},
	{
		id: "deployments", title: "Deployments", kinds: []string{"component"},
		annotations: []string{"argocd/app-name", "argocd/app-selector"}, example: "<component-name>-prod", what: "deployments",
		configure: "Deployments show here once an Argo CD instance is configured under argocd in app-config.yaml.",
	},
	{
		id: "errors", title: "Errors", kinds: []string{"component"},
		annotations: []string{"sentry/project-slug", "sentry.io/project-slug", "datadoghq.com/service-name"},
		example:     "<organisation>/<project>", what: "errors",
		configure: "Errors show here once a Sentry or Datadog integration is configured under integrations in app-config.yaml.",
	},
	{
		id: "cost", title: "Cost", kinds: []string{"component", "resource", "system"},
		annotations: []string{"opencost/service-label"}, example: "<component-name>", what: "cloud costs",
		configure: "Costs show here once an OpenCost instance is configured under opencost in app-config.yaml.",
	},
}

func (p placeholderSection) ID() string             { return p.id }
func (p placeholderSection) Title() string          { return p.title }
func (p placeholderSection) Applies(e *Entity) bool { return e.IsKind(p.kinds...) }

type placeholderView struct {
	Title, What, Annotation, Example, Configure string
	Others                                      []string // alternatives to Annotation
	Set                                         []annotationRow
	Source                                      string // where to edit the entity
}

func (p placeholderSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	v := placeholderView{Title: p.title, What: p.what, Annotation: p.annotations[0], Others: p.annotations[1:],
		Example: p.example, Configure: p.configure, Source: safeURL(e.Annotation("backstage.io/edit-url"))}
	if v.Source == "" {
		v.Source = locationURL(e.Annotation("backstage.io/source-location"))
	}
	for _, a := range p.annotations {
		if val := e.Annotation(a); val != "" {
			v.Set = append(v.Set, annotationRow{Key: a, Value: clip(val, maxAnnotationValue)})
		}
	}
	return p.h.renderPart("placeholder", v)
}
