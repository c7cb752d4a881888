package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

var propWords = strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november
oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu`)

func propName(t *rapid.T, label string) string {
	n := rapid.IntRange(2, 3).Draw(t, label+"-words")
	parts := make([]string, n)
	for i := range parts {
		parts[i] = rapid.SampledFrom(propWords).Draw(t, label+"-word")
	}
	return strings.Join(parts, "-") + fmt.Sprint(rapid.IntRange(0, 999).Draw(t, label+"-n"))
}

// Property 20: search index management — for any document added or
// updated, the index reflects it at once (found first by its exact name);
// once deleted, it is no longer found.
func TestPropertyIndexManagement(t *testing.T) {
	svc := startService(t, t.TempDir(), docsSource{dir: testdataDocs()})
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		name := propName(t, "name")
		d := Document{Type: TypeCatalog, ID: "component:default/" + name, Name: name, Title: name,
			Description: strings.Join(rapid.SliceOfN(rapid.SampledFrom(propWords), 0, 12).Draw(t, "desc"), " "),
			Kind:        "component", Ref: "component:default/" + name, Location: "/catalog/default/component/" + name}
		if err := svc.Apply(ctx, Change{Upsert: []Document{d}}); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Search(ctx, Query{Term: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 || res.Hits[0].Document.Key() != d.Key() {
			t.Fatalf("%q: top %v after indexing", name, titles(res.Hits))
		}
		if err := svc.Apply(ctx, Change{Delete: []string{d.Key()}}); err != nil {
			t.Fatal(err)
		}
		res, err = svc.Search(ctx, Query{Term: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			if h.Document.Key() == d.Key() {
				t.Fatalf("%q still found after deletion", name)
			}
		}
	})
}

// Property 19: search comprehensiveness — for any query, results come from
// every content type the query matches, a category filter keeps only that
// category, and the visibility filter decides results and counts together.
func TestPropertyCategoriesAndVisibility(t *testing.T) {
	var docs sliceSource
	nss := []string{"default", "payments", "risk"}
	cats := []string{CategoryCatalog, CategoryAPIs, CategoryPeople, CategoryDocs}
	for i := range 60 {
		w := propWords[i%len(propWords)]
		docs = append(docs, Document{Type: TypeCatalog, ID: fmt.Sprint("d", i), Name: fmt.Sprintf("%s-thing-%d", w, i), Title: w + " thing",
			Text: "shared words " + w, Namespace: nss[i%3], Category: cats[(i/3)%4], Kind: "component", Ref: fmt.Sprintf("component:%s/d%d", nss[i%3], i)})
	}
	svc := startService(t, t.TempDir(), docs)
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		term := rapid.SampledFrom(append(slices.Clone(propWords[:8]), "shared", "thing")).Draw(t, "term")
		allowed := rapid.SliceOfNDistinct(rapid.SampledFrom(nss), 0, 3, func(s string) string { return s }).Draw(t, "namespaces")
		cat := rapid.SampledFrom(append(slices.Clone(cats), "")).Draw(t, "category")
		q := Query{Term: term, Limit: 100, Facets: []string{"category", "namespace"}}
		if cat != "" {
			q.Filters = map[string][]string{"category": {cat}}
		}
		all, err := svc.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		svc.SetVisibility(func(context.Context) (Visibility, error) { return Visibility{Namespaces: allowed}, nil })
		defer svc.SetVisibility(nil)
		got, err := svc.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, h := range all.Hits {
			if slices.Contains(allowed, h.Document.Namespace) {
				want++
			}
		}
		if got.Total != want || len(got.Hits) != want {
			t.Fatalf("visible %v: total %d, hits %d, want %d", allowed, got.Total, len(got.Hits), want)
		}
		for _, h := range got.Hits {
			if !slices.Contains(allowed, h.Document.Namespace) || (cat != "" && h.Document.Category != cat) {
				t.Fatalf("hit %s (%s, %s) outside visibility %v or category %q", h.Document.Key(), h.Document.Namespace, h.Document.Category, allowed, cat)
			}
		}
		sum := 0
		for _, f := range got.Facets["namespace"] {
			sum += f.Count
			if !slices.Contains(allowed, f.Value) {
				t.Fatalf("facet counts invisible namespace %s", f.Value)
			}
		}
		if sum != got.Total {
			t.Fatalf("namespace facet sums to %d, total %d", sum, got.Total)
		}
		if cat == "" && term == "shared" && len(allowed) == 3 && len(got.Facets["category"]) != len(cats) {
			t.Fatalf("a query matching every category shows %v", got.Facets["category"])
		}
	})
}

// Property 12: documentation search — for any page, a word found in only
// one of its sections finds the page once, deep-linked to that section.
func TestPropertyDocSections(t *testing.T) {
	svc := startService(t, t.TempDir(), docsSource{dir: testdataDocs()})
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 6).Draw(t, "sections")
		target := rapid.IntRange(0, n-1).Draw(t, "target")
		marker := "zq" + strings.Join(rapid.SliceOfN(rapid.SampledFrom(strings.Split("bcdfghjklmnprstvwx", "")), 5, 8).Draw(t, "marker"), "")
		secs := make([]Section, n)
		for i := range secs {
			text := strings.Join(rapid.SliceOfN(rapid.SampledFrom(propWords), 5, 30).Draw(t, "text"), " ")
			if i == target {
				text += " " + marker
			}
			secs[i] = Section{Anchor: fmt.Sprint("s", i), Heading: fmt.Sprint("Section ", i), Text: text}
		}
		d := Document{Type: TypeTechDocs, ID: "prop/" + marker, Title: "Property page", Sections: secs, Location: "/docs/prop/" + marker, Category: CategoryDocs}
		if err := svc.Apply(ctx, Change{Upsert: []Document{d}}); err != nil {
			t.Fatal(err)
		}
		defer svc.Apply(ctx, Change{Delete: []string{d.Key()}})
		res, err := svc.Search(ctx, Query{Term: marker})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].Document.Location != d.Location+"#"+secs[target].Anchor {
			var locs []string
			for _, h := range res.Hits {
				locs = append(locs, h.Document.Location)
			}
			t.Fatalf("%q: %v, want one hit at #%s", marker, locs, secs[target].Anchor)
		}
	})
}
