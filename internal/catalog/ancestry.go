package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// maxAncestryLocations bounds the Location entities an ancestry looks
// through.
const maxAncestryLocations = 100_000

// AncestryItem is one entity of an ancestry with the refs of its parents.
type AncestryItem struct {
	Entity           json.RawMessage `json:"entity"`
	ParentEntityRefs []string        `json:"parentEntityRefs"`
}

// Ancestry is Backstage's response to GET
// /entities/by-name/:kind/:namespace/:name/ancestry: the entity first, then
// every Location entity it descends from.
type Ancestry struct {
	RootEntityRef string         `json:"rootEntityRef"`
	Items         []AncestryItem `json:"items"`
}

// EntityAncestry returns the entity and the chain of Location entities
// that led to it. Backstage records which entity emitted which; Greenroom
// derives it from the same facts: an entity's parents are the Location
// entities whose targets, resolved against their own
// backstage.io/managed-by-location, name the file the entity was read from
// (its managed-by-location). Code not_found for an unknown entity.
func (s *Service) EntityAncestry(ctx context.Context, ref greenroom.EntityRef) (Ancestry, error) {
	sc, err := s.scope(ctx)
	if err != nil {
		return Ancestry{}, err
	}
	root, err := s.store.EntityByRef(ctx, ref.String())
	if err == nil && !sc.visible(root.Ref) {
		err = greenroom.Errorf(greenroom.CodeNotFound, "hidden")
	}
	if greenroom.IsNotFound(err) {
		return Ancestry{}, greenroom.Errorf(greenroom.CodeNotFound, "No such entity %s", ref)
	} else if err != nil {
		return Ancestry{}, fmt.Errorf("catalog: ancestry of %s: %w", ref, err)
	}
	parents, err := s.locationParents(ctx)
	if err != nil {
		return Ancestry{}, err
	}
	out := Ancestry{RootEntityRef: root.Ref}
	seen := map[string]bool{root.Ref: true}
	var todo []Record
	for cur, ok := root, true; ok; {
		refs := []string{}
		for _, p := range parents[managedBy(cur.Body)] {
			if p.Ref == cur.Ref || !sc.visible(p.Ref) {
				continue // a generated Location entity lives in the file it names
			}
			refs = append(refs, p.Ref)
			if !seen[p.Ref] {
				seen[p.Ref] = true
				todo = append(todo, p)
			}
		}
		body, err := sc.served(cur.Body)
		if err != nil {
			return Ancestry{}, err
		}
		out.Items = append(out.Items, AncestryItem{Entity: body, ParentEntityRefs: refs})
		if ok = len(todo) > 0; ok {
			cur, todo = todo[len(todo)-1], todo[:len(todo)-1]
		}
	}
	return out, nil
}

// locationParents maps a location ref ("url:https://…/x.yaml",
// "file:/srv/x.yaml") to the Location entities whose targets name it,
// sorted by ref.
func (s *Service) locationParents(ctx context.Context) (map[string][]Record, error) {
	locs, err := s.store.ListEntities(ctx, Query{Kind: "location", Limit: maxAncestryLocations + 1})
	if err != nil {
		return nil, fmt.Errorf("catalog: list Location entities: %w", err)
	}
	if len(locs) > maxAncestryLocations {
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "the catalog holds more than %d Location entities, too many to trace an ancestry", maxAncestryLocations)
	}
	out := map[string][]Record{}
	for _, l := range locs {
		e, err := entity.Parse(l.Body)
		if err != nil {
			continue // stored entities were valid; a body that is not is no one's parent
		}
		typ, file, ok := locationRefFile(e.Annotation(entity.AnnotationManagedByLocation))
		if !ok {
			continue
		}
		for _, t := range locationTargets(e.Raw()) {
			next, err := resolveTarget(file, t)
			if err != nil {
				continue
			}
			key := fileLocationRef(typ, next)
			if !slices.ContainsFunc(out[key], func(r Record) bool { return r.Ref == l.Ref }) {
				out[key] = append(out[key], l)
			}
		}
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b Record) int { return strings.Compare(a.Ref, b.Ref) })
	}
	return out, nil
}

func managedBy(body []byte) string {
	e, err := entity.Parse(body)
	if err != nil {
		return ""
	}
	return e.Annotation(entity.AnnotationManagedByLocation)
}

// locationRefFile maps a "type:target" location ref to the name the
// reader gave its file, the inverse of locationRefs: a URL, or a path
// within the source's tree.
func locationRefFile(ref string) (typ, file string, ok bool) {
	typ, target, ok := strings.Cut(ref, ":")
	if !ok || target == "" {
		return "", "", false
	}
	switch typ {
	case LocationTypeURL:
		return typ, target, true
	case LocationTypeFile:
		return typ, path.Clean(strings.TrimPrefix(filepath.ToSlash(target), "/")), true
	}
	return typ, target, true
}

// fileLocationRef is the inverse of locationRefFile.
func fileLocationRef(typ, file string) string {
	switch {
	case isURL(file):
		return LocationTypeURL + ":" + file
	case typ == LocationTypeFile:
		return "file:/" + file
	}
	return typ + ":" + file
}
