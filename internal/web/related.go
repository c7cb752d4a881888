package web

import (
	"context"
	"html/template"
	"slices"
	"strings"

	"greenroom/internal/catalog/entity"
)

// relatedGroup is one list of related entities: the targets of one
// relation type, optionally of one kind.
type relatedGroup struct {
	ID, Title, Empty string
	Rows             []entityRow
	Total            int // before the cap
}

// relatedSpec says which relations a group lists.
type relatedSpec struct {
	id, title, empty string
	relation         string
	kind             string // "" for any kind
}

// maxRelated bounds the entities one section resolves and lists; the rest
// are counted.
const maxRelated = 500

// relatedGroups resolves the targets of each spec in one catalog read.
func (h *Handler) relatedGroups(ctx context.Context, e *Entity, specs []relatedSpec) ([]relatedGroup, error) {
	groups := make([]relatedGroup, len(specs))
	targets := make([][]string, len(specs))
	var refs []string
	for i, sp := range specs {
		groups[i] = relatedGroup{ID: sp.id, Title: sp.title, Empty: sp.empty}
		for _, t := range e.RelationTargets(sp.relation) {
			if sp.kind != "" && !strings.HasPrefix(t, sp.kind+":") {
				continue
			}
			groups[i].Total++
			if len(refs) < maxRelated {
				targets[i] = append(targets[i], t)
				refs = append(refs, t)
			}
		}
	}
	rows, err := h.rowsByRef(ctx, refs, viewer{})
	if err != nil {
		return nil, err
	}
	for i := range groups {
		for _, t := range targets[i] {
			groups[i].Rows = append(groups[i].Rows, rows[t])
		}
	}
	return groups, nil
}

// relatedView is the body of the Dependencies and APIs sections.
type relatedView struct {
	E      *Entity
	Groups []relatedGroup
	Slot   string // which package will render this section richly
	Note   string
}

// dependenciesSection lists what the entity depends on and what depends
// on it, and the parts of systems and domains. The interactive graph of
// internal/web/graph replaces it by registering a section with ID
// "dependencies".
type dependenciesSection struct{ h *Handler }

func (dependenciesSection) ID() string    { return "dependencies" }
func (dependenciesSection) Title() string { return "Dependencies" }
func (dependenciesSection) Applies(e *Entity) bool {
	return e.IsKind("component", "resource", "system", "domain")
}

func (s dependenciesSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	var specs []relatedSpec
	switch {
	case e.IsKind("system"):
		specs = []relatedSpec{
			{"components", "Components", "This system has no components.", entity.RelationHasPart, "component"},
			{"resources", "Resources", "This system has no resources.", entity.RelationHasPart, "resource"},
			{"apis", "APIs", "This system has no APIs.", entity.RelationHasPart, "api"},
			{"domain", "Part of domain", "This system is in no domain.", entity.RelationPartOf, "domain"},
			{"depends-on", "Depends on", "This system depends on nothing.", entity.RelationDependsOn, ""},
		}
	case e.IsKind("domain"):
		specs = []relatedSpec{
			{"systems", "Systems", "This domain has no systems.", entity.RelationHasPart, "system"},
			{"subdomains", "Subdomains", "This domain has no subdomains.", entity.RelationHasPart, "domain"},
			{"parent", "Part of domain", "This domain is not part of another.", entity.RelationPartOf, "domain"},
		}
	default:
		specs = []relatedSpec{
			{"depends-on", "Depends on", "This entity depends on nothing in the catalog.", entity.RelationDependsOn, ""},
			{"dependency-of", "Depended on by", "Nothing in the catalog depends on this entity.", entity.RelationDependencyOf, ""},
			{"subcomponents", "Subcomponents", "", entity.RelationHasPart, "component"},
			{"part-of", "Part of", "", entity.RelationPartOf, ""},
		}
	}
	groups, err := s.h.relatedGroups(ctx, e, specs)
	if err != nil {
		return "", err
	}
	// Optional groups (no empty message) are left out when empty.
	groups = slices.DeleteFunc(groups, func(g relatedGroup) bool { return g.Empty == "" && g.Total == 0 })
	return s.h.renderPart("related", relatedView{E: e, Groups: groups, Slot: "internal/web/graph"})
}

// apisSection lists the APIs a component provides and consumes, a
// system's APIs, and an API's providers and consumers. The definition
// viewers of internal/apidocs add to it.
type apisSection struct{ h *Handler }

func (apisSection) ID() string             { return "api" }
func (apisSection) Title() string          { return "APIs" }
func (apisSection) Applies(e *Entity) bool { return e.IsKind("component", "system", "api") }

func (s apisSection) Render(ctx context.Context, e *Entity) (template.HTML, error) {
	var specs []relatedSpec
	switch {
	case e.IsKind("api"):
		specs = []relatedSpec{
			{"provided-by", "Provided by", "No component provides this API.", entity.RelationAPIProvidedBy, ""},
			{"consumed-by", "Consumed by", "No component consumes this API.", entity.RelationAPIConsumedBy, ""},
		}
	case e.IsKind("system"):
		specs = []relatedSpec{{"apis", "APIs of this system", "This system has no APIs.", entity.RelationHasPart, "api"}}
	default:
		specs = []relatedSpec{
			{"provides", "Provided APIs", "This component provides no APIs.", entity.RelationProvidesAPI, ""},
			{"consumes", "Consumed APIs", "This component consumes no APIs.", entity.RelationConsumesAPI, ""},
		}
	}
	groups, err := s.h.relatedGroups(ctx, e, specs)
	if err != nil {
		return "", err
	}
	v := relatedView{E: e, Groups: groups, Slot: "internal/apidocs"}
	if e.IsKind("api") {
		v.Note = "API type: " + e.SpecString("type") + "."
	}
	return s.h.renderPart("related", v)
}
