package search

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"greenroom/internal/apidocs"
	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// EntityStore is what the catalog source reads entities from (the store
// implements it).
type EntityStore interface {
	ListEntities(ctx context.Context, q catalog.Query) ([]catalog.Record, error)
	EntityByRef(ctx context.Context, ref string) (catalog.Record, error)
}

// EventSubscriber delivers the catalog's change events
// (*catalog.Service).
type EventSubscriber interface {
	Subscribe(ctx context.Context) (*catalog.Subscription, error)
}

// CatalogSource indexes catalog entities of every kind, with API
// definitions read for their operations and schemas, people and teams
// with their members, and templates; it follows the catalog's change
// events in real time.
type CatalogSource struct {
	store  EntityStore
	events EventSubscriber
	// pageSize is how many entities a rebuild reads at once.
	pageSize int
}

var (
	_ Source = (*CatalogSource)(nil)
	_ Feed   = (*CatalogSource)(nil)
)

// NewCatalogSource returns the catalog source; events may be nil (no
// real-time changes, as in the CLI).
func NewCatalogSource(st EntityStore, events EventSubscriber) *CatalogSource {
	return &CatalogSource{store: st, events: events, pageSize: 1000}
}

// Name implements Source.
func (c *CatalogSource) Name() string { return "catalog" }

// Collect implements Source.
func (c *CatalogSource) Collect(ctx context.Context, emit func(Document) error) error {
	for off := 0; ; off += c.pageSize {
		recs, err := c.store.ListEntities(ctx, catalog.Query{Limit: c.pageSize, Offset: off})
		if err != nil {
			return fmt.Errorf("search: catalog: %w", err)
		}
		for _, r := range recs {
			d, err := EntityDocument(r.Body, r.UpdatedAt)
			if err != nil {
				continue // an entity the catalog stored is valid; skip what is not
			}
			if err := emit(d); err != nil {
				return err
			}
		}
		if len(recs) < c.pageSize {
			return nil
		}
	}
}

// bulkLoader is an EventSubscriber that says when the catalog is loading
// in bulk (*catalog.Service): BulkLoad returns a channel closed when the
// loads under way end, nil when none is.
type bulkLoader interface {
	BulkLoad() <-chan struct{}
}

// Watch implements Feed: each change event re-reads its entity. Events a
// slow subscriber dropped are caught up by a rebuild.
//
// While the catalog loads in bulk (a first load of a large location), the
// entities the events name are only noted, and indexed once the load has
// ended: the catalog is queryable sooner, as it has the cores to itself,
// and an entity stitched several times during the load is read and
// indexed once. Events dropped meanwhile (the fan-out does not wait for a
// subscriber) are caught up by indexing every entity then.
func (c *CatalogSource) Watch(ctx context.Context, apply func(context.Context, Change) error) error {
	if c.events == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	sub, err := c.events.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("search: catalog events: %w", err)
	}
	loader, _ := c.events.(bulkLoader)
	var (
		loaded  <-chan struct{} // closed when the bulk load noted ends
		held    = map[string]bool{}
		dropped uint64 // sub.Dropped() when the load began
	)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-loaded:
			if next := loader.BulkLoad(); next != nil {
				loaded = next // another began as this one ended
				continue
			}
			loaded = nil
			if err := c.catchUp(ctx, apply, held, sub.Dropped() != dropped); err != nil {
				return err
			}
			clear(held)
		case ev, ok := <-sub.C:
			if !ok {
				return ctx.Err()
			}
			// Take what queued up behind it too, as one batch.
			evs := []catalog.Event{ev}
		drain:
			for len(evs) < indexBatch {
				select {
				case e, ok := <-sub.C:
					if !ok {
						break drain
					}
					evs = append(evs, e)
				default:
					break drain
				}
			}
			if loaded == nil && loader != nil {
				if loaded = loader.BulkLoad(); loaded != nil {
					dropped = sub.Dropped()
				}
			}
			if loaded != nil {
				for _, e := range evs {
					held[e.Ref] = true
				}
				continue
			}
			refs := make([]string, len(evs))
			for i, e := range evs {
				refs[i] = e.Ref
			}
			ch, err := c.changeOf(ctx, refs, evs)
			if err != nil {
				return err
			}
			if err := apply(ctx, ch); err != nil {
				return err
			}
		}
	}
}

// catchUp indexes the entities held back during a bulk load, as they are
// now, a batch at a time. When events were dropped meanwhile, which
// entities changed is not known: every entity stored is indexed, and
// those of the held ones that are no longer stored are deleted.
func (c *CatalogSource) catchUp(ctx context.Context, apply func(context.Context, Change) error, held map[string]bool, all bool) error {
	if all {
		var ch Change
		err := c.Collect(ctx, func(d Document) error {
			delete(held, d.Ref)
			if ch.Upsert = append(ch.Upsert, d); len(ch.Upsert) < indexBatch {
				return nil
			}
			err := apply(ctx, ch)
			ch.Upsert = nil
			return err
		})
		if err == nil && len(ch.Upsert) > 0 {
			err = apply(ctx, ch)
		}
		if err != nil {
			return err
		}
	}
	refs := make([]string, 0, len(held))
	for ref := range held {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for len(refs) > 0 {
		n := min(indexBatch, len(refs))
		ch, err := c.changeOf(ctx, refs[:n], nil)
		if err != nil {
			return err
		}
		if err := apply(ctx, ch); err != nil {
			return err
		}
		refs = refs[n:]
	}
	return nil
}

// changeOf reads the entities refs as they are now: upserts of those
// stored, deletions of those gone. evs, when given, are the events naming
// them (same order), whose time stands in for a missing updated time.
func (c *CatalogSource) changeOf(ctx context.Context, refs []string, evs []catalog.Event) (Change, error) {
	var ch Change
	for i, ref := range refs {
		key := entityKey(ref)
		if evs != nil && evs[i].Type == catalog.EventDeleted {
			ch.Delete = append(ch.Delete, key)
			continue
		}
		rec, err := c.store.EntityByRef(ctx, ref)
		if greenroom.IsNotFound(err) {
			ch.Delete = append(ch.Delete, key)
			continue
		}
		if err != nil {
			return Change{}, fmt.Errorf("search: catalog entity %s: %w", ref, err)
		}
		at := rec.UpdatedAt
		if at.IsZero() && evs != nil {
			at = evs[i].At
		}
		d, err := EntityDocument(rec.Body, at)
		if err != nil {
			continue
		}
		ch.Upsert = append(ch.Upsert, d)
	}
	return ch, nil
}

// entityKey is the document key of an entity ref: templates are their own
// document type.
func entityKey(ref string) string {
	ref = strings.ToLower(ref)
	if strings.HasPrefix(ref, "template:") {
		return TypeTemplate + "|" + ref
	}
	return TypeCatalog + "|" + ref
}

type entityJSON struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Tags        []string          `json:"tags"`
		Annotations map[string]string `json:"annotations"`
		Links       []struct {
			URL   string `json:"url"`
			Title string `json:"title"`
		} `json:"links"`
	} `json:"metadata"`
	Spec      map[string]any `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

// readable annotations: what they say, in words people search for.
var annotationWords = map[string]string{
	"github.com/project-slug":      "GitHub repository",
	"argocd/app-name":              "Argo CD application",
	"datadog/dashboard-url":        "Datadog dashboard",
	"sentry/project-slug":          "Sentry project",
	"opencost/service-label":       "OpenCost service",
	"n8n/workflows":                "n8n workflows",
	"backstage.io/techdocs-ref":    "TechDocs documentation",
	"pagerduty.com/service-id":     "PagerDuty service",
	"backstage.io/source-location": "source",
}

// EntityDocument turns a catalog entity (Backstage JSON) into its search
// document.
func EntityDocument(body []byte, updated time.Time) (Document, error) {
	var e entityJSON
	if err := json.Unmarshal(body, &e); err != nil {
		return Document{}, fmt.Errorf("search: entity: %w", err)
	}
	if e.Kind == "" || e.Metadata.Name == "" {
		return Document{}, fmt.Errorf("search: entity without kind or name")
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = greenroom.DefaultNamespace
	}
	kind := strings.ToLower(e.Kind)
	ref := kind + ":" + strings.ToLower(ns) + "/" + strings.ToLower(e.Metadata.Name)
	str := func(k string) string { v, _ := e.Spec[k].(string); return v }
	d := Document{
		Type: TypeCatalog, ID: ref, Ref: ref, Namespace: ns,
		Name: e.Metadata.Name, Title: e.Metadata.Title, Description: e.Metadata.Description,
		Tags: e.Metadata.Tags, Kind: kind, SpecType: str("type"), Lifecycle: str("lifecycle"),
		Owner: fullRef(str("owner"), "group", ns), System: fullRef(str("system"), "system", ns),
		UpdatedAt: updated,
		Location:  "/catalog/" + url.PathEscape(strings.ToLower(ns)) + "/" + url.PathEscape(kind) + "/" + url.PathEscape(e.Metadata.Name),
	}
	if d.Title == "" {
		d.Title = e.Metadata.Name
	}
	// The description is its own field (boosted above the body); the body
	// holds what else describes the entity.
	var text []string
	switch kind {
	case "user", "group":
		d.Category = CategoryPeople
	case "api":
		d.Category = CategoryAPIs
	case "template":
		// A template opens its create form; its parameters' titles
		// (the form's steps and fields) find it too.
		d.Type, d.Category = TypeTemplate, CategoryTemplates
		d.Location = "/create/templates/" + url.PathEscape(strings.ToLower(ns)) + "/" + url.PathEscape(e.Metadata.Name)
		steps, fields := templateWords(e.Spec["parameters"])
		text = append(text, steps...)
		d.Keywords = append(d.Keywords, fields...)
	default:
		d.Category = CategoryCatalog
	}
	if p, ok := e.Spec["profile"].(map[string]any); ok {
		if n, _ := p["displayName"].(string); n != "" {
			d.Keywords = append(d.Keywords, n)
			text = append(text, n)
			if kind == "user" || d.Title == e.Metadata.Name {
				d.Title = n
			}
		}
		if m, _ := p["email"].(string); m != "" {
			d.Keywords = append(d.Keywords, m)
		}
	}
	for _, r := range e.Relations {
		switch r.Type {
		case "hasMember", "memberOf", "ownedBy", "partOf", "providesApi", "childOf", "parentOf":
			if _, name, ok := strings.Cut(r.TargetRef, "/"); ok {
				d.Keywords = append(d.Keywords, name)
			}
		}
	}
	for _, k := range []string{"members", "children"} {
		if list, ok := e.Spec[k].([]any); ok {
			for _, m := range list {
				if s, ok := m.(string); ok {
					d.Keywords = append(d.Keywords, s)
				}
			}
		}
	}
	keys := make([]string, 0, len(e.Metadata.Annotations))
	for k := range e.Metadata.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if w, ok := annotationWords[k]; ok {
			text = append(text, w+": "+e.Metadata.Annotations[k])
			d.Keywords = append(d.Keywords, e.Metadata.Annotations[k])
		}
	}
	for _, l := range e.Metadata.Links {
		if l.Title != "" {
			text = append(text, l.Title)
		}
	}
	if kind == "api" {
		if def := str("definition"); def != "" {
			ops, kws := apiWords(d.SpecType, def)
			text = append(text, ops...)
			d.Keywords = append(d.Keywords, kws...)
		}
	}
	d.Text = strings.Join(text, "\n")
	d.Fields = map[string]string{"kind": e.Kind, "namespace": ns, "lifecycle": d.Lifecycle, "owner": d.Owner, "type": d.SpecType}
	if kind == "component" {
		d.Fields["componentType"] = d.SpecType
	}
	return d, nil
}

// templateWords reads a template's spec.parameters (one step or a list)
// into text lines (each step's title and description, each field's title
// and description) and keywords (the field titles).
func templateWords(params any) (text, keywords []string) {
	var steps []any
	switch p := params.(type) {
	case map[string]any:
		steps = []any{p}
	case []any:
		steps = p
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return strings.TrimSpace(v) }
	add := func(line string) {
		if line != "" && len(text) < maxAPIItems {
			text = append(text, line)
		}
	}
	for _, s := range steps {
		step, ok := s.(map[string]any)
		if !ok {
			continue
		}
		add(str(step, "title"))
		add(str(step, "description"))
		props, _ := step["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			f, ok := props[n].(map[string]any)
			if !ok {
				continue
			}
			if t := str(f, "title"); t != "" {
				add(t)
				if len(keywords) < maxAPIItems {
					keywords = append(keywords, t)
				}
			}
			add(str(f, "description"))
		}
	}
	return text, keywords
}

// fullRef expands a short reference ("team-a") to "group:default/team-a".
func fullRef(ref, kind, ns string) string {
	if ref == "" {
		return ""
	}
	r, err := greenroom.ParseEntityRef(ref, kind, ns)
	if err != nil {
		return strings.ToLower(ref)
	}
	return strings.ToLower(r.String())
}

// maxAPIItems bounds the operations and schemas one definition adds.
const maxAPIItems = 500

// apiWords reads an API definition into text lines (operation, summary)
// and keywords (operation ids, paths, schema and type names). A definition
// that cannot be read adds nothing: the entity is still found by its
// metadata.
func apiWords(specType, def string) (text, keywords []string) {
	doc, err := apidocs.Parse(specType, def, apidocs.Options{})
	if err != nil || doc == nil {
		return nil, nil
	}
	add := func(line string, kws ...string) {
		if len(text) >= maxAPIItems {
			return
		}
		if line = strings.TrimSpace(line); line != "" {
			text = append(text, line)
		}
		for _, k := range kws {
			if k != "" {
				keywords = append(keywords, k)
			}
		}
	}
	if doc.Title != "" {
		add(doc.Title)
	}
	if o := doc.OpenAPI; o != nil {
		for _, g := range o.Groups {
			for _, op := range g.Operations {
				add(op.Method+" "+op.Path+" "+op.OperationID+" "+op.Summary, op.OperationID, op.Path)
			}
		}
		for _, s := range o.Schemas {
			add("schema "+s.Name, s.Name)
		}
	}
	if a := doc.AsyncAPI; a != nil {
		for _, ch := range a.Channels {
			add("channel "+ch.Address+" "+ch.Description, ch.Name, ch.Address)
			for _, op := range ch.Operations {
				add(op.Verb+" "+op.ID+" "+op.Summary, op.ID)
				for _, m := range op.Messages {
					add("message "+m.Name+" "+m.Title+" "+m.Summary, m.Name)
				}
			}
		}
		for _, s := range a.Schemas {
			add("schema "+s.Name, s.Name)
		}
	}
	if g := doc.GraphQL; g != nil {
		for _, root := range []*apidocs.GQLType{g.Query, g.Mutation, g.Subscription} {
			if root == nil {
				continue
			}
			for _, f := range root.Fields {
				add(root.Name+" "+f.Name+" "+f.Description, f.Name)
			}
		}
		for _, t := range g.Types {
			add(t.Kind+" "+t.Name, t.Name)
		}
	}
	return text, keywords
}
