package searchtest

import (
	"context"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"greenroom/internal/search"
)

// visible is the Visibility's rule, stated once for the property.
func visible(v search.Visibility, d search.Document) bool {
	if slices.Contains(v.ExcludeRefs, d.Ref) || slices.Contains(v.ExcludeKinds, d.Kind) {
		return false
	}
	return v.All || slices.Contains(v.Namespaces, d.Namespace) || slices.Contains(v.Refs, d.Ref)
}

func subset(t *rapid.T, label string, from []string) []string {
	return rapid.SliceOfDistinct(rapid.SampledFrom(from), rapid.ID[string]).Draw(t, label)
}

// VisibilityProperty checks the design property "the searcher's
// visibility is applied inside the engine's query": for any visibility
// and any term, every hit, every closest match and every suggestion is a
// document the visibility shows; the total counts only those (the
// namespace facet's counts add up to it); and no facet names a hidden
// namespace. It runs 100 cases or more against the fixture.
func VisibilityProperty(t *testing.T, fresh Fresh) {
	eng := fresh(t)
	ctx := context.Background()
	docs := Documents()
	if err := eng.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	Settle(t, eng, uint64(len(docs)))
	var refs []string
	byRef := map[string][]search.Document{}
	for _, d := range docs {
		if byRef[d.Ref] == nil {
			refs = append(refs, d.Ref)
		}
		byRef[d.Ref] = append(byRef[d.Ref], d)
	}
	namespaces := []string{"default", "china", "restricted", "elsewhere"}
	kinds := []string{"component", "api", "user"}
	terms := []string{"", "ledger", "payments", "cache", "支付", "message broker", "lxdgxr", "secret", "billing invoices", "queue"}
	rapid.Check(t, func(rt *rapid.T) {
		v := search.Visibility{
			All:          rapid.Bool().Draw(rt, "all"),
			Namespaces:   subset(rt, "namespaces", namespaces),
			Refs:         subset(rt, "refs", refs),
			ExcludeRefs:  subset(rt, "excludeRefs", refs),
			ExcludeKinds: subset(rt, "excludeKinds", kinds),
		}
		term := rapid.SampledFrom(terms).Draw(rt, "term")
		q, err := search.Query{Term: term, Facets: []string{"namespace", "kind"}, Limit: 100}.Validate()
		if err != nil {
			rt.Fatal(err)
		}
		res, err := eng.Search(ctx, q, v)
		if err != nil {
			rt.Fatalf("search: %v", err)
		}
		shown := 0
		for _, d := range docs {
			if visible(v, d) {
				shown++
			}
		}
		if res.Total > shown {
			rt.Fatalf("total %d, but only %d documents are visible", res.Total, shown)
		}
		for _, h := range append(slices.Clone(res.Hits), res.Closest...) {
			if !visible(v, h.Document) {
				rt.Fatalf("hit %s is hidden by %+v", h.Document.Key(), v)
			}
		}
		sum := 0
		for _, f := range res.Facets["namespace"] {
			if !v.All && !slices.Contains(v.Namespaces, f.Value) {
				// A namespace is shown only through refs listed.
				ok := false
				for _, d := range docs {
					ok = ok || (d.Namespace == f.Value && visible(v, d))
				}
				if !ok {
					rt.Fatalf("namespace facet names hidden %s: %v", f.Value, res.Facets["namespace"])
				}
			}
			sum += f.Count
		}
		if sum != res.Total {
			rt.Fatalf("namespace facet counts add up to %d, total %d", sum, res.Total)
		}
		if term == "" {
			if res.Total != shown {
				rt.Fatalf("match-all total %d, want the %d visible documents", res.Total, shown)
			}
			return
		}
		sugg, err := eng.Suggest(ctx, term[:min(len(term), 4)], nil, v, 16)
		if err != nil {
			rt.Fatalf("suggest: %v", err)
		}
		for _, s := range sugg {
			ds := byRef[s.Ref]
			if len(ds) == 0 || !slices.ContainsFunc(ds, func(d search.Document) bool { return visible(v, d) }) {
				rt.Fatalf("suggestion %+v is hidden by %+v", s, v)
			}
		}
	})
}
