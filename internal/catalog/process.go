package catalog

import (
	"encoding/json"
	"fmt"
	"path"
	"runtime"
	"strings"
	"sync"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// ProcessingError is a problem with one entity, located by file, line and
// the JSON path of the offending field, like Backstage's entity status
// items but with the place in the file.
type ProcessingError struct {
	Source string // the source's name
	File   string
	Line   int
	Ref    string // the entity's ref when it could be read
	Path   string // e.g. metadata.tags[2]
	Rule   string // what the rule wants
}

func (e *ProcessingError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Ref != "" {
		b.WriteString(": " + e.Ref)
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	return b.String() + ": " + e.Rule
}

// processed is an entity ready to store, with the relations it emits in
// both directions.
type processed struct {
	rec       Record
	relations []entity.Relation
}

// processor turns read documents into validated entities.
type processor struct {
	validator *entity.Validator
	// rules, when set, are Backstage's catalog rules every location's
	// entities must pass; the bundled demo is exempt.
	rules *RulesEnforcer
}

// processResult is what process returned for one document.
type processResult struct {
	p    processed
	errs []error
}

// processAll processes raw on all processors, each document on its own
// (process touches nothing but the document), and returns the results in
// raw's order. It drops each document (raw[i].Data) once processed.
func (p *processor) processAll(src Source, raw []rawEntity) []processResult {
	out := make([]processResult, len(raw))
	workers := min(runtime.GOMAXPROCS(0), (len(raw)+63)/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(raw); i += workers {
				out[i].p, out[i].errs = p.process(src, raw[i])
				// The document is not needed once processed: a large
				// source's documents would otherwise stay in memory until
				// it is stored.
				raw[i].Data = nil
			}
		})
	}
	wg.Wait()
	return out
}

// process validates one document of src and computes its relations. The
// entity is normalised as Backstage's policies do: the default namespace
// is filled in and the location annotations are set.
func (p *processor) process(src Source, raw rawEntity) (processed, []error) {
	e := entity.New(raw.Data)
	fail := func(path, rule string) []error {
		ref := ""
		if e.Kind() != "" && e.Name() != "" {
			ref = e.Ref().String()
		}
		return []error{&ProcessingError{Source: src.Name, File: raw.File, Line: raw.Line, Ref: ref, Path: path, Rule: rule}}
	}
	if len(src.AllowKinds) > 0 && !containsFold(src.AllowKinds, e.Kind()) {
		return processed{}, fail("kind", fmt.Sprintf("kind %s is not allowed from this location (allowed: %s)", e.Kind(), strings.Join(src.AllowKinds, ", ")))
	}
	meta, _ := raw.Data["metadata"].(map[string]any)
	if meta != nil {
		if ns, _ := meta["namespace"].(string); ns == "" {
			meta["namespace"] = greenroom.DefaultNamespace
		}
		delete(meta, "uid")
		delete(meta, "etag")
		delete(meta, "generation")
	}
	if probs := p.validator.Validate(e); len(probs) > 0 {
		var errs []error
		for _, pr := range probs {
			errs = append(errs, fail(pr.Path, pr.Message)...)
		}
		return processed{}, errs
	}
	loc, origin := locationRefs(src, raw.File)
	if p.rules != nil && loc != "" && src.Name != "demo" {
		if err := p.rules.Check(e, parseLocationSpec(loc), parseLocationSpec(origin)); err != nil {
			return processed{}, fail("kind", err.Error())
		}
	}
	if loc != "" {
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			meta["annotations"] = ann
		}
		ann[entity.AnnotationManagedByLocation] = loc
		ann[entity.AnnotationManagedByOriginLocation] = origin
	}
	rels, err := entity.Relations(e)
	if err != nil {
		return processed{}, fail("spec", err.Error())
	}
	delete(raw.Data, "relations") // relations are computed, never taken from input
	body, err := json.Marshal(e)
	if err != nil {
		return processed{}, fail("", err.Error())
	}
	hash, err := entity.Hash(e)
	if err != nil {
		return processed{}, fail("", err.Error())
	}
	ref := e.Ref()
	return processed{
		rec: Record{
			Ref: ref.String(), Kind: e.Kind(), Namespace: ref.Namespace, Name: e.Name(),
			Source: src.Name, Hash: hash, Body: body,
		},
		relations: rels,
	}, nil
}

// locationRefs are the values of the managed-by-location and
// managed-by-origin-location annotations for a file of src, in Backstage's
// "type:target" form: the file itself, and the root it was reached from.
func locationRefs(src Source, file string) (loc, origin string) {
	switch {
	case isURL(file) && (strings.HasPrefix(src.Name, "file:") || strings.HasPrefix(src.Name, "url:")):
		return "url:" + file, src.Name // a file read over HTTP (locations.go)
	case strings.HasPrefix(src.Name, "file:"):
		return "file:/" + path.Clean(file), src.Name
	case src.Name == "demo":
		return "demo:" + path.Clean(file), "demo:" + src.Root
	case IsProviderSource(src.Name) && !isURL(file):
		// A provider's tree that knows its files' URLs (the GitHub provider's).
		if u, ok := src.FS.(interface{ FileURL(name string) string }); ok {
			return "url:" + u.FileURL(path.Clean(file)), "url:" + u.FileURL(src.Root)
		}
	}
	return "", ""
}
