package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/search"
	"greenroom/internal/techdocs"
)

func init() {
	registerSearchSource(func(env *wireEnv) search.Source { return &techdocsSearch{env: env, seen: map[string]time.Time{}} })
}

// Bounds of the TechDocs search source.
const (
	maxSearchIndexBytes = 32 << 20 // one site's search_index.json
	techdocsSearchPoll  = 2 * time.Second
)

// techdocsSearch indexes the TechDocs sites that were built or published:
// one document per page, with its sections (the entries of MkDocs'
// search_index.json whose location has an anchor), so that a match in a
// section gives the page once with the section as the deep link — never
// one result per heading. Each document carries its entity's namespace and
// ref, so the search's read scope hides the docs of hidden entities.
//
// The TechDocs service is wired after search (file order), so the source
// reads it from env when it is asked, not when it is made.
type techdocsSearch struct {
	env *wireEnv
	// seen is each site's last successful build the index holds, for
	// Watch; keys are lowercased entity refs.
	seen map[string]time.Time
	// keys are the document keys of each site, to delete pages that went.
	keys map[string][]string
}

var (
	_ search.Source = (*techdocsSearch)(nil)
	_ search.Feed   = (*techdocsSearch)(nil)
)

func (t *techdocsSearch) Name() string { return "techdocs" }

func (t *techdocsSearch) svc() *techdocs.Service { return t.env.techdocs }

// Collect implements search.Source.
func (t *techdocsSearch) Collect(ctx context.Context, emit func(search.Document) error) error {
	svc := t.svc()
	if svc == nil {
		return nil
	}
	recs, err := svc.Records(ctx)
	if err != nil {
		return err
	}
	var errs []string
	for _, r := range recs {
		if r.LastSuccessAt.IsZero() {
			continue
		}
		docs, err := t.siteDocuments(ctx, svc, r)
		if err != nil {
			errs = append(errs, err.Error()) // one broken site does not stop the others
			continue
		}
		for _, d := range docs {
			if err := emit(d); err != nil {
				return err
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("techdocs search: %d sites not indexed: %s", len(errs), strings.Join(errs, "; "))
	}
	return nil
}

// Watch implements search.Feed: sites whose last successful build changed
// are re-indexed (pages gone are deleted) within a poll interval.
func (t *techdocsSearch) Watch(ctx context.Context, apply func(context.Context, search.Change) error) error {
	tick := time.NewTicker(techdocsSearchPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		svc := t.svc()
		if svc == nil {
			continue
		}
		recs, err := svc.Records(ctx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.LastSuccessAt.IsZero() || t.seen[r.Entity].Equal(r.LastSuccessAt) {
				continue
			}
			docs, err := t.siteDocuments(ctx, svc, r)
			if err != nil {
				t.env.logger.Warn("techdocs site not indexed for search", "entity", r.Entity, "err", err)
				t.seen[r.Entity] = r.LastSuccessAt
				continue
			}
			c := search.Change{Upsert: docs}
			now := map[string]bool{}
			for _, d := range docs {
				now[d.Key()] = true
			}
			for _, k := range t.keys[r.Entity] {
				if !now[k] {
					c.Delete = append(c.Delete, k)
				}
			}
			if err := apply(ctx, c); err != nil {
				return err
			}
			t.seen[r.Entity] = r.LastSuccessAt
			if t.keys == nil {
				t.keys = map[string][]string{}
			}
			t.keys[r.Entity] = t.keys[r.Entity][:0]
			for k := range now {
				t.keys[r.Entity] = append(t.keys[r.Entity], k)
			}
		}
	}
}

// mkdocsSearchIndex is MkDocs' search/search_index.json.
type mkdocsSearchIndex struct {
	Docs []struct {
		Location string `json:"location"`
		Title    string `json:"title"`
		Text     string `json:"text"`
	} `json:"docs"`
}

// siteDocuments reads one site's search index into page documents.
func (t *techdocsSearch) siteDocuments(ctx context.Context, svc *techdocs.Service, r techdocs.BuildRecord) ([]search.Document, error) {
	ref, err := greenroom.ParseEntityRef(r.Entity, "", "default")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Entity, err)
	}
	name := techdocs.EntityName{Namespace: ref.Namespace, Kind: ref.Kind, Name: ref.Name}
	rc, _, err := svc.Publisher().Open(ctx, name, "search/search_index.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Entity, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSearchIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read search index: %w", r.Entity, err)
	}
	if len(b) > maxSearchIndexBytes {
		return nil, fmt.Errorf("%s: search index over %d bytes", r.Entity, maxSearchIndexBytes)
	}
	var idx mkdocsSearchIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: search index: %w", r.Entity, err)
	}
	base := path.Join("/docs", ref.Namespace, ref.Kind, ref.Name) + "/"
	entityRef := strings.ToLower(ref.String())
	byPage := map[string]*search.Document{}
	var order []string
	page := func(loc string) *search.Document {
		if d, ok := byPage[loc]; ok {
			return d
		}
		d := &search.Document{Type: search.TypeTechDocs, ID: entityRef + "/" + loc, Location: base + loc,
			Kind: strings.ToLower(ref.Kind), Namespace: strings.ToLower(ref.Namespace), Ref: entityRef,
			Category: search.CategoryDocs, UpdatedAt: r.LastSuccessAt,
			Fields: map[string]string{"entityRef": entityRef, "kind": ref.Kind, "namespace": ref.Namespace, "name": ref.Name}}
		byPage[loc] = d
		order = append(order, loc)
		return d
	}
	for _, e := range idx.Docs {
		loc, anchor, hasAnchor := strings.Cut(e.Location, "#")
		d := page(loc)
		if !hasAnchor {
			d.Title, d.Text = e.Title, e.Text
			continue
		}
		d.Sections = append(d.Sections, search.Section{Anchor: anchor, Heading: e.Title, Text: e.Text})
	}
	out := make([]search.Document, 0, len(order))
	for _, loc := range order {
		d := byPage[loc]
		if d.Title == "" && len(d.Sections) > 0 {
			d.Title = d.Sections[0].Heading
		}
		out = append(out, *d)
	}
	return out, nil
}
