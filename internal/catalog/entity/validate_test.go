package entity

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readEntities reads the one or more entities of a testdata file, JSON or
// YAML.
func readEntities(t *testing.T, file string) []*Entity {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(file, ".json") {
		e, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		return []*Entity{e}
	}
	return yamlEntities(t, file, data)
}

type want struct{ path, contains string }

// wants reads the expected problems of an invalid testdata file: the
// "# want: path ~ text" lines of a YAML file, or the "path ~ text" lines of
// the .want file beside a JSON one.
func wants(t *testing.T, file string) []want {
	t.Helper()
	var lines []string
	if strings.HasSuffix(file, ".json") {
		data, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".want")
		if err != nil {
			t.Fatal(err)
		}
		lines = strings.Split(string(data), "\n")
	} else {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(string(data), "\n") {
			if rest, ok := strings.CutPrefix(l, "# want: "); ok {
				lines = append(lines, rest)
			}
		}
	}
	var out []want
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			path, text, _ := strings.Cut(l, " ~ ")
			out = append(out, want{strings.TrimSpace(path), strings.TrimSpace(text)})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s names no expected problem", file)
	}
	return out
}

func TestValidateValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*")
	if len(files) < 10 {
		t.Fatalf("found %d valid testdata files", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, e := range readEntities(t, file) {
				for _, p := range Validate(e) {
					t.Errorf("%s: %s", e.Ref(), p)
				}
				if _, err := Relations(e); err != nil {
					t.Errorf("Relations: %v", err)
				}
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*")
	n := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".want") {
			continue
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			es := readEntities(t, file)
			if len(es) != 1 {
				t.Fatalf("%d entities, want 1 per file", len(es))
			}
			ws := wants(t, file)
			got := Validate(es[0])
			var gotPaths, wantPaths []string
			for _, p := range got {
				gotPaths = append(gotPaths, p.Path)
				if p.Message == "" {
					t.Errorf("%s: empty message", p.Path)
				}
			}
			for _, w := range ws {
				wantPaths = append(wantPaths, w.path)
			}
			slices.Sort(gotPaths)
			slices.Sort(wantPaths)
			if diff := cmp.Diff(wantPaths, gotPaths); diff != "" {
				t.Errorf("problem paths (-want +got):\n%s\ngot: %v", diff, got)
			}
			for _, w := range ws {
				found := false
				for _, p := range got {
					found = found || p.Path == w.path && strings.Contains(p.Message, w.contains)
				}
				if !found {
					t.Errorf("no problem at %s containing %q; got %v", w.path, w.contains, got)
				}
			}
		})
	}
	if n < 30 {
		t.Errorf("found %d invalid testdata files", n)
	}
}

// The problems come sorted by path, naturally, so tags[10] follows tags[2].
func TestValidateOrder(t *testing.T) {
	tags := make([]any, 12)
	for i := range tags {
		tags[i] = "BAD"
	}
	e := New(map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Domain",
		"metadata": map[string]any{"name": "a", "tags": tags},
		"spec":     map[string]any{"owner": "o"},
	})
	var got []string
	for _, p := range Validate(e) {
		got = append(got, p.Path)
	}
	var want []string
	for i := range tags {
		want = append(want, "metadata.tags["+itoa(i)+"]")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if s := Validate(e).Error(); !strings.HasPrefix(s, "metadata.tags[0]: is not valid") || strings.Count(s, "; ") < 11 {
		t.Errorf("Problems.Error() = %q", s)
	}
}
