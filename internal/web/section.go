package web

import (
	"context"
	"fmt"
	"html/template"
	"regexp"
	"slices"
	"sync"
)

// Section is one tab of the entity page. Packages that know about an
// entity from another angle (deployments, docs, cost, errors, the
// dependency graph, API definitions…) implement it and are registered with
// Handler.Register by the composition root.
//
// A section's page lives at /catalog/:namespace/:kind/:name/<ID>; the
// section with ID OverviewID is the entity's root page.
type Section interface {
	// ID is the section's URL segment: lowercase letters, digits and
	// dashes, such as "dependencies" or "ci-cd".
	ID() string
	// Title is the tab's label and the section's heading.
	Title() string
	// Applies reports whether the entity has this tab. It must be cheap
	// and do no I/O: it is called for every section on every entity page.
	Applies(e *Entity) bool
	// Render returns the section's body. The page puts it under an h2
	// with the section's title, so its own headings start at h3. All text
	// from the entity must be escaped (render it with html/template).
	// Errors with a greenroom.Code are shown with their message; others
	// are logged and shown as an internal error.
	Render(ctx context.Context, e *Entity) (template.HTML, error)
}

// OverviewID is the ID of the section shown at the entity's root path.
const OverviewID = "overview"

var sectionIDRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// reservedSectionIDs are path segments the entity routes use for actions.
var reservedSectionIDs = []string{"star"}

// sections is the ordered set of registered sections.
type sections struct {
	mu   sync.RWMutex
	list []Section
}

// register adds s, or replaces the section with the same ID in place, so
// that a richer implementation (the dependency graph) can take over a
// built-in one's tab without moving it.
func (ss *sections) register(s Section) {
	id := s.ID()
	if !sectionIDRE.MatchString(id) || len(id) > 40 || slices.Contains(reservedSectionIDs, id) {
		// A bad ID is a programming error found at start-up.
		panic(fmt.Sprintf("web: section ID %q must be 1-40 lowercase letters, digits and dashes, and not %v", id, reservedSectionIDs))
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, old := range ss.list {
		if old.ID() == id {
			ss.list[i] = s
			return
		}
	}
	ss.list = append(ss.list, s)
}

// applying returns the sections that apply to e, in registration order.
func (ss *sections) applying(e *Entity) []Section {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	var out []Section
	for _, s := range ss.list {
		if s.Applies(e) {
			out = append(out, s)
		}
	}
	return out
}

// Register adds an entity page section, or replaces the registered one
// with the same ID (keeping its place among the tabs). It panics on an
// invalid ID, a programming error. Register before serving.
func (h *Handler) Register(s Section) { h.sections.register(s) }

// sectionPath is the URL path of a section of e.
func sectionPath(e *Entity, id string) string {
	if id == OverviewID {
		return e.Path()
	}
	return e.Path() + "/" + id
}
