package techdocs

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenSite is what testdata/mkdocs_golden.py records from MkDocs' own
// build of a project (see the command in that file).
type goldenSite struct {
	Nav   []goldenNav           `json:"nav"`
	Pages map[string]goldenPage `json:"pages"`
}

type goldenNav struct {
	Kind     string      `json:"kind"`
	Title    string      `json:"title,omitempty"`
	Src      string      `json:"src,omitempty"`
	URL      string      `json:"url,omitempty"`
	Children []goldenNav `json:"children,omitempty"`
}

type goldenPage struct {
	URL     string   `json:"url"`
	Title   string   `json:"title"`
	Anchors []string `json:"anchors"`
	Links   []string `json:"links"`
	Prev    *string  `json:"prev"`
	Next    *string  `json:"next"`
}

func toGoldenNav(items []*NavItem) []goldenNav {
	out := []goldenNav{}
	for _, it := range items {
		g := goldenNav{Kind: it.Kind}
		switch it.Kind {
		case "page":
			g.Src = it.Src
		case "link":
			g.Title, g.URL = it.Title, it.URL
		case "section":
			g.Title = it.Title
			g.Children = toGoldenNav(it.Children)
		}
		out = append(out, g)
	}
	return out
}

func flattenTOC(items []*TOCItem, out *[]string) {
	for _, it := range items {
		*out = append(*out, it.ID)
		flattenTOC(it.Children, out)
	}
}

func toGolden(res *Result) goldenSite {
	g := goldenSite{Nav: toGoldenNav(res.Nav), Pages: map[string]goldenPage{}}
	for _, p := range res.Pages {
		gp := goldenPage{URL: p.URL, Title: p.Title, Anchors: []string{}, Links: p.Links}
		if gp.Links == nil {
			gp.Links = []string{}
		}
		flattenTOC(p.TOC, &gp.Anchors)
		prev, next := p.Prev, p.Next
		gp.Prev, gp.Next = &prev, &next
		g.Pages[p.Src] = gp
	}
	return g
}

// The golden files use null for "no previous/next page"; Result uses ""
// for both that and the home page's URL, so the comparison normalises
// null to "" on both sides.
func normalise(g goldenSite) goldenSite {
	for k, p := range g.Pages {
		if p.Prev == nil {
			s := ""
			p.Prev = &s
		}
		if p.Next == nil {
			s := ""
			p.Next = &s
		}
		g.Pages[k] = p
	}
	return g
}

// TestMatchesMkDocs builds the three projects of testdata/projects and
// compares page set, page URLs and titles, the nav, heading anchors,
// rewritten link targets and previous/next with MkDocs 1.4.2's own build
// of the same projects (testdata/golden, made by testdata/mkdocs_golden.py).
func TestMatchesMkDocs(t *testing.T) {
	for _, name := range []string{"service", "handbook", "edge"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var want goldenSite
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			res, err := Build(context.Background(), filepath.Join("testdata", "projects", name), t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(normalise(want), normalise(toGolden(res))); diff != "" {
				t.Errorf("differs from MkDocs (-mkdocs +greenroom):\n%s", diff)
			}
			for _, w := range res.Warnings {
				t.Logf("warning: %s", w)
			}
		})
	}
}

// TestGoldenFilesAreMkDocs re-runs MkDocs on the three projects, when
// Debian's mkdocs is installed, and checks the committed golden files are
// what it produces now (so they cannot drift or be edited by hand). It
// skips, saying so, without mkdocs or with -short; GREENROOM_TEST_MKDOCS=1
// makes a missing mkdocs a failure.
func TestGoldenFilesAreMkDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running MkDocs")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import mkdocs, material").Run(); err != nil {
		if os.Getenv("GREENROOM_TEST_MKDOCS") == "1" {
			t.Fatalf("MkDocs is required (GREENROOM_TEST_MKDOCS=1): %v", err)
		}
		t.Skip("SKIP: Debian's mkdocs and mkdocs-material are not installed (apt-get install mkdocs mkdocs-material); golden files not re-checked")
	}
	for _, name := range []string{"service", "handbook", "edge"} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("/usr/bin/python3", "mkdocs_golden.py", filepath.Join("projects", name))
			cmd.Dir = "testdata"
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("mkdocs_golden.py: %v", err)
			}
			var fresh, committed goldenSite
			data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &fresh); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &committed); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(committed, fresh); diff != "" {
				t.Errorf("testdata/golden/%s.json differs from MkDocs' output now (-committed +mkdocs):\n%s", name, diff)
			}
		})
	}
}
