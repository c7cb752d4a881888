package graph

import (
	"strconv"
	"testing"
)

// BenchmarkRender measures layout and SVG writing together, for the
// sizes docs/BENCHMARKS.md records.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{50, 200, 500} {
		g := randomGraph(n, uint64(n))
		b.Run(strconv.Itoa(n)+"_nodes", func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				r, err := Render(g, Options{})
				if err != nil {
					b.Fatal(err)
				}
				size = len(r.HTML)
			}
			b.ReportMetric(float64(size), "bytes/html")
			b.ReportMetric(float64(len(g.Edges)), "edges")
		})
	}
}
