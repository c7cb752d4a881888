package search

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// suggestDocs are documents over propWords in three namespaces and three
// kinds, with names, titles, tags and keywords.
func suggestDocs(n int) sliceSource {
	var docs sliceSource
	nss := []string{"default", "payments", "risk"}
	kinds := []string{"component", "api", "user"}
	for i := range n {
		w1, w2 := propWords[i%len(propWords)], propWords[(i*7+3)%len(propWords)]
		ns, kind := nss[i%3], kinds[(i/3)%3]
		ref := fmt.Sprintf("%s:%s/%s-%s-%d", kind, ns, w1, w2, i)
		docs = append(docs, Document{Type: TypeCatalog, ID: ref, Ref: ref, Name: fmt.Sprintf("%s-%s-%d", w1, w2, i),
			Title: w2 + " " + propWords[(i*3+1)%len(propWords)], Tags: []string{propWords[(i*5+2)%len(propWords)]},
			Keywords: []string{"kw" + w1}, Namespace: ns, Kind: kind, Location: "/catalog/" + ref})
	}
	return docs
}

// docWords are the words a document completes on (name, title, tags,
// keywords), computed apart from the suggester.
func docWords(d Document) []string {
	var ws []string
	for _, f := range append(append([]string{d.Name, d.Title}, d.Tags...), d.Keywords...) {
		for _, w := range strings.FieldsFunc(strings.ToLower(f), func(r rune) bool { return !isLetterOrDigit(r) }) {
			ws = append(ws, w)
		}
	}
	return ws
}

// visibleTo is the reference reading of a Visibility for one document.
func visibleTo(v Visibility, d Document) bool {
	if !v.All && !slices.Contains(v.Namespaces, d.Namespace) && !slices.Contains(v.Refs, d.Ref) {
		return false
	}
	return !slices.Contains(v.ExcludeRefs, d.Ref) && !slices.Contains(v.ExcludeKinds, d.Kind)
}

// Property 19 (search comprehensiveness, suggestions): for any prefix and
// any visibility, the completions are only documents the searcher may
// read that hold a word starting with the prefix (and the earlier words),
// none twice, and as many as there are such documents up to the limit —
// the filter is applied before the limit, never after.
func TestPropertySuggestVisibility(t *testing.T) {
	docs := suggestDocs(90)
	svc := startService(t, t.TempDir(), docs)
	ctx := context.Background()
	byRef := map[string]Document{}
	for _, d := range docs {
		byRef[d.Ref] = d.normalise()
	}
	rapid.Check(t, func(t *rapid.T) {
		vis := Visibility{All: rapid.Bool().Draw(t, "all"),
			Namespaces:   rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"default", "payments", "risk"}), 0, 3, func(s string) string { return s }).Draw(t, "namespaces"),
			ExcludeKinds: rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"user", "api"}), 0, 1, func(s string) string { return s }).Draw(t, "excludeKinds")}
		if rapid.Bool().Draw(t, "someRefs") {
			for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(docs)-1), 1, 5).Draw(t, "refs") {
				vis.Refs = append(vis.Refs, docs[i].Ref)
			}
			vis.ExcludeRefs = []string{docs[rapid.IntRange(0, len(docs)-1).Draw(t, "exclude")].Ref}
		}
		word := rapid.SampledFrom(append(slices.Clone(propWords), "kwalpha", "zzz")).Draw(t, "word")
		prefix := word[:rapid.IntRange(1, len(word)).Draw(t, "cut")]
		var prior string
		if rapid.Bool().Draw(t, "twoWords") {
			prior = rapid.SampledFrom(propWords).Draw(t, "prior")
			prefix = prior + " " + prefix
		}
		limit := rapid.IntRange(1, 12).Draw(t, "limit")
		svc.SetVisibility(func(context.Context) (Visibility, error) { return vis, nil })
		defer svc.SetVisibility(nil)
		got, err := svc.Suggest(ctx, prefix, nil, limit)
		if err != nil {
			t.Fatal(err)
		}
		last := prefix[strings.LastIndexByte(prefix, ' ')+1:]
		matches := func(d Document) bool {
			ws := docWords(d)
			hasPrefix := func(p string) bool {
				return slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, p) })
			}
			return hasPrefix(last) && (prior == "" || hasPrefix(prior))
		}
		want := 0
		for _, d := range byRef {
			if visibleTo(vis, d) && matches(d) {
				want++
			}
		}
		seen := map[string]bool{}
		for _, s := range got {
			d, ok := byRef[s.Ref]
			if !ok || !visibleTo(vis, d) {
				t.Fatalf("%q as %+v: suggests %s, which the searcher may not read", prefix, vis, s.Ref)
			}
			if seen[s.Ref] {
				t.Fatalf("%q: %s twice", prefix, s.Ref)
			}
			seen[s.Ref] = true
			if want > 0 && !matches(d) {
				t.Fatalf("%q: suggests %s (%v), which does not complete it", prefix, s.Ref, docWords(d))
			}
			if s.Title != d.Title || s.Location != d.Location || s.Kind != d.Kind || s.Type != d.Type {
				t.Fatalf("%q: suggestion %+v does not carry the document's fields", prefix, s)
			}
		}
		if want > 0 && len(got) != min(limit, want) {
			t.Fatalf("%q as %+v: %d suggestions, want %d (limit %d)", prefix, vis, len(got), min(limit, want), limit)
		}
	})
}

// Property 20 (index management, suggestions): a document indexed in real
// time completes at once, best first by its whole name; deleted, it is
// gone from the completions.
func TestPropertySuggestFollowsChanges(t *testing.T) {
	svc := startService(t, t.TempDir(), suggestDocs(30))
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		name := propName(t, "name")
		d := Document{Type: TypeCatalog, ID: "component:default/" + name, Name: name, Title: name,
			Kind: "component", Ref: "component:default/" + name, Location: "/catalog/default/component/" + name}
		if err := svc.Apply(ctx, Change{Upsert: []Document{d}}); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Suggest(ctx, name, nil, 8)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Ref != d.Ref {
			t.Fatalf("%q: %v after indexing", name, got)
		}
		if err := svc.Apply(ctx, Change{Delete: []string{d.Key()}}); err != nil {
			t.Fatal(err)
		}
		got, err = svc.Suggest(ctx, name, nil, 8)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range got {
			if s.Ref == d.Ref {
				t.Fatalf("%q still suggested after deletion", name)
			}
		}
	})
}

// An index opened from disk fills its suggester in the background and
// then completes exactly as the engine that built it did.
func TestSuggestAfterReopen(t *testing.T) {
	dir := t.TempDir()
	docs := suggestDocs(60)
	prefixes := []string{"a", "br", "charlie", "kwd", "golf t", "zulu-", "x"}
	first := map[string][]Suggestion{}
	{
		svc, err := NewService(Options{Dir: dir}, docs)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitBuilt(t, svc)
		for _, p := range prefixes {
			first[p], _ = svc.Suggest(context.Background(), p, nil, 8)
		}
		cancel()
		svc.Close()
	}
	svc, err := NewService(Options{Dir: dir}, docs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); svc.Close() })
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eng, ok := svc.eng.(*Bleve)
	if !ok {
		t.Fatalf("engine is %T, not bleve", svc.eng)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		eng.sugg.mu.RLock()
		ready := eng.sugg.ready
		eng.sugg.mu.RUnlock()
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("suggester not filled from disk within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if filepath.Dir(eng.Dir()) != dir {
		t.Fatalf("engine in %s", eng.Dir())
	}
	for _, p := range prefixes {
		got, err := svc.Suggest(context.Background(), p, nil, 8)
		if err != nil {
			t.Fatal(err)
		}
		if len(first[p]) == 0 || !slices.Equal(got, first[p]) {
			t.Errorf("%q after reopening: %v, before %v", p, got, first[p])
		}
	}
}
