package catalogtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/yamltree"
)

func TestGenerateIsValidAndResolves(t *testing.T) {
	for _, n := range []int{MinEntities, 2000} {
		ents, err := Generate(n, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != n {
			t.Fatalf("n=%d: got %d entities", n, len(ents))
		}
		c := CountsFor(n)
		if c.Total() != n || c.Components < 1 {
			t.Fatalf("n=%d: counts %+v", n, c)
		}
		refs := map[string]bool{}
		kinds := map[string]int{}
		for _, e := range ents {
			if refs[e.Ref()] {
				t.Fatalf("n=%d: %s generated twice", n, e.Ref())
			}
			refs[e.Ref()] = true
			kinds[e.Kind]++
		}
		want := map[string]int{"Group": c.Groups, "User": c.Users, "Domain": c.Domains, "System": c.Systems,
			"API": c.APIs, "Resource": c.Resources, "Component": c.Components}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Errorf("n=%d: kinds (-want +got):\n%s", n, diff)
		}
		v, err := entity.NewValidator()
		if err != nil {
			t.Fatal(err)
		}
		relTypes := map[string]int{}
		for _, ge := range ents {
			e := toEntity(t, ge)
			if probs := v.Validate(e); len(probs) > 0 {
				t.Fatalf("%s is invalid: %v", ge.Ref(), probs)
			}
			rels, err := entity.Relations(e)
			if err != nil {
				t.Fatalf("%s: relations: %v", ge.Ref(), err)
			}
			for _, r := range rels {
				relTypes[r.Type]++
				if !refs[r.Target.String()] {
					t.Fatalf("%s: %s %s does not resolve to a generated entity", ge.Ref(), r.Type, r.Target)
				}
			}
		}
		if n >= 2000 {
			for _, typ := range []string{"ownedBy", "memberOf", "childOf", "parentOf", "partOf", "providesApi", "consumesApi", "dependsOn"} {
				if relTypes[typ] == 0 {
					t.Errorf("n=%d: no %s relation generated", n, typ)
				}
			}
		}
	}
}

func toEntity(t *testing.T, ge Entity) *entity.Entity {
	t.Helper()
	data, err := json.Marshal(ge)
	if err != nil {
		t.Fatal(err)
	}
	e, err := entity.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, _ := Generate(500, 1)
	b, _ := Generate(500, 1)
	c, _ := Generate(500, 2)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different catalogs:\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Error("different seeds gave the same catalog")
	}
}

func TestGenerateRejectsSizes(t *testing.T) {
	for _, n := range []int{-1, 0, MinEntities - 1, MaxEntities + 1} {
		if _, err := Generate(n, 1); err == nil || !strings.Contains(err.Error(), "between") {
			t.Errorf("Generate(%d): err = %v, want a range error", n, err)
		}
	}
}

// TestWriteReadsBack parses every file Write produced with the parser the
// catalog uses and compares each document with the entity's JSON form.
func TestWriteReadsBack(t *testing.T) {
	ents, err := Generate(1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lay, err := Write(dir, ents, 120)
	if err != nil {
		t.Fatal(err)
	}
	root := parseFile(t, lay.Root)
	if len(root) != 1 {
		t.Fatalf("%s has %d documents", RootFile, len(root))
	}
	loc := root[0].(map[string]any)
	targets := loc["spec"].(map[string]any)["targets"].([]any)
	if loc["kind"] != "Location" || len(targets) != len(lay.Files) {
		t.Fatalf("root location %v does not list the %d files", loc, len(lay.Files))
	}
	var got []any
	var size int64
	for i, f := range lay.Files {
		if targets[i] != "./"+f {
			t.Errorf("target %d = %v, want ./%s", i, targets[i], f)
		}
		docs := parseFile(t, filepath.Join(dir, f))
		if len(docs) > 120 {
			t.Errorf("%s has %d documents, more than 120", f, len(docs))
		}
		kind := docs[0].(map[string]any)["kind"]
		for _, d := range docs {
			if k := d.(map[string]any)["kind"]; k != kind {
				t.Errorf("%s mixes kinds %v and %v", f, kind, k)
			}
		}
		got = append(got, docs...)
		st, _ := os.Stat(filepath.Join(dir, f))
		size += st.Size()
	}
	st, _ := os.Stat(lay.Root)
	if size += st.Size(); size != lay.Bytes {
		t.Errorf("Bytes = %d, files hold %d", lay.Bytes, size)
	}
	var want []any
	data, _ := json.Marshal(ents)
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents read back differ (-want +got):\n%s", diff)
	}
}

func parseFile(t *testing.T, path string) []any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := yamltree.ParseDocuments(path, data, yamltree.Limits{MaxBytes: 64 << 20, MaxNodes: 10_000_000, MaxStructural: 10_000_000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = n.Interface()
	}
	return out
}

func TestWriteRejectsPerFile(t *testing.T) {
	for _, per := range []int{0, MaxPerFile + 1} {
		if _, err := Write(t.TempDir(), nil, per); err == nil {
			t.Errorf("Write(perFile=%d) succeeded", per)
		}
	}
	for _, locs := range []int{0, MaxLocations + 1} {
		if _, err := WriteSplit(t.TempDir(), nil, 10, locs); err == nil {
			t.Errorf("WriteSplit(locations=%d) succeeded", locs)
		}
	}
}

// TestWriteSplitSharesFiles checks that the Location files of WriteSplit
// name every entity file once, in order, each a share.
func TestWriteSplitSharesFiles(t *testing.T) {
	ents, err := Generate(1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, locs := range []int{1, 3, 1000} {
		dir := t.TempDir()
		lay, err := WriteSplit(dir, ents, 100, locs)
		if err != nil {
			t.Fatal(err)
		}
		want := min(locs, len(lay.Files))
		if len(lay.Roots) != want || lay.Root != lay.Roots[0] {
			t.Fatalf("locations=%d: roots %v", locs, lay.Roots)
		}
		var named []string
		names := map[any]bool{}
		for _, root := range lay.Roots {
			docs := parseFile(t, root)
			loc := docs[0].(map[string]any)
			names[loc["metadata"].(map[string]any)["name"]] = true
			targets := loc["spec"].(map[string]any)["targets"].([]any)
			if len(targets) == 0 {
				t.Errorf("locations=%d: %s has no targets", locs, root)
			}
			for _, tg := range targets {
				named = append(named, strings.TrimPrefix(tg.(string), "./"))
			}
		}
		if diff := cmp.Diff(lay.Files, named); diff != "" {
			t.Errorf("locations=%d: targets differ from the files (-files +targets):\n%s", locs, diff)
		}
		if len(names) != want {
			t.Errorf("locations=%d: Location names %v are not distinct", locs, names)
		}
	}
}

// roundTrip writes s as a mapping value and as a list item and returns
// what the parser reads back.
func roundTrip(t interface {
	Helper()
	Fatalf(string, ...any)
}, s string) (string, string) {
	t.Helper()
	doc := appendMapping(nil, 0, []kv{{k: "v", v: s, keep: true}, {k: "l", v: []string{s}}, {k: "m", v: []kv{{k: "x", v: s, keep: true}}}})
	n, err := yamltree.Parse("t.yaml", doc, yamltree.DefaultLimits(), nil)
	if err != nil {
		t.Fatalf("%q written as\n%s\ndoes not parse: %v", s, doc, err)
	}
	m := n.Interface().(map[string]any)
	if nested := m["m"].(map[string]any)["x"]; nested != m["v"] {
		t.Fatalf("%q: nested value %q differs from top-level %q", s, nested, m["v"])
	}
	item, _ := m["l"].([]any)[0].(string)
	v, _ := m["v"].(string)
	return v, item
}

func TestScalarsReadBack(t *testing.T) {
	for _, s := range []string{
		"plain", "group:default/team-1", "dir:.", "https://dash.example.com/x", "1", "0x1F", "1.5", "-1",
		"true", "No", "null", "~", "y", "a: b", "key:", "#tag", "x #y", "- dash", "[list]", "{map}", "*alias",
		"&anchor", "!tag", "%dir", "@at", "`tick", "'single'", "\"double\"", "trailing ", " leading", "tab\there",
		"line1\nline2\n", "line1\nline2", "a\n\nb\n", "two\n\n", " indented\nsecond\n", "x\n  indented more\n", "\n z", "\n\n\tz\n",
		"unicode é ✓", "", "\x00nul", "back\\slash",
	} {
		v, item := roundTrip(t, s)
		if v != s || item != s {
			t.Errorf("%q read back as %q (value) and %q (list item)", s, v, item)
		}
	}
}

func TestScalarsReadBackProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringMatching(`[a-z0-9 :#\-\n.]{0,30}`)).Draw(t, "s")
		if !jsonSafe(s) {
			t.Skip("not valid UTF-8")
		}
		if v, item := roundTrip(t, s); v != s || item != s {
			t.Fatalf("%q read back as %q (value) and %q (list item)", s, v, item)
		}
	})
}

func jsonSafe(s string) bool {
	b, _ := json.Marshal(s)
	var back string
	return json.Unmarshal(b, &back) == nil && back == s
}
