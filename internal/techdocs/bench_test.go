package techdocs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// genProject writes a project of n pages in 20 sections, each page with
// headings, a cross link with an anchor, an admonition, a code block and
// a table: the shape of testdata/projects/handbook, bigger.
func genProject(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"mkdocs.yml":    "site_name: Thousand\nmarkdown_extensions:\n  - admonition\n  - toc:\n      permalink: true\n",
		"docs/index.md": "# Thousand\n\nHome.\n",
	}
	var para strings.Builder
	for i := range 8 {
		fmt.Fprintf(&para, "Paragraph %d lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n\n", i)
	}
	for i := 1; i < n; i++ {
		s, p := i%20, i/20
		other := fmt.Sprintf("../section-%02d/page-%03d.md", (i*7)%20, ((i*13)%n)/20)
		files[fmt.Sprintf("docs/section-%02d/page-%03d.md", s, p)] = fmt.Sprintf("# Page %d.%d\n\nIntro with **bold**, `code` and a [link](%s#details).\n\n## Details\n\n%s"+
			"!!! note \"Remember\"\n    Something important.\n\n```python\ndef f(x):\n    return x * 2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## More\n\n- one\n- two\n", s, p, other, para.String())
	}
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchmarkBuild1000 builds a 1,000-page site (docs/BENCHMARKS.md).
func BenchmarkBuild1000(b *testing.B) {
	src := genProject(b, 1000)
	out := b.TempDir()
	for b.Loop() {
		res, err := Build(context.Background(), src, out, Options{Overwrite: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Pages) != 1000 {
			b.Fatalf("%d pages", len(res.Pages))
		}
	}
}

// BenchmarkIncremental1000 rebuilds one changed page of a 1,000-page
// site (docs serve).
func BenchmarkIncremental1000(b *testing.B) {
	src := genProject(b, 1000)
	s := NewSite(src, filepath.Join(b.TempDir(), "site"), Options{})
	if _, err := s.Build(context.Background()); err != nil {
		b.Fatal(err)
	}
	page := filepath.Join(src, "docs", "section-03", "page-010.md")
	orig, _ := os.ReadFile(page)
	i := 0
	for b.Loop() {
		i++
		b.StopTimer()
		os.WriteFile(page, append(append([]byte{}, orig...), fmt.Sprintf("\nEdit %d.\n", i)...), 0o644)
		os.Chtimes(page, time.Now(), time.Now().Add(time.Duration(i)*time.Second))
		b.StartTimer()
		_, rebuilt, err := s.Rebuild(context.Background())
		if err != nil || len(rebuilt) != 1 {
			b.Fatalf("rebuilt %v, %v", rebuilt, err)
		}
	}
}

// BenchmarkBuildProject builds the side-by-side projects of
// testdata/bench_mkdocs.sh in process (the build without process start).
func BenchmarkBuildProject(b *testing.B) {
	for _, name := range []string{"service", "handbook"} {
		b.Run(name, func(b *testing.B) {
			src := filepath.Join("testdata", "projects", name)
			out := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(context.Background(), src, out, Options{Overwrite: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
