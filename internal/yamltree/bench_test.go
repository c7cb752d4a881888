package yamltree

import "testing"

// BenchmarkParseDocuments parses a generated multi-document catalog file
// of about 500 KB with yamltree and with the goccy/go-yaml implementation
// it replaced, side by side.
func BenchmarkParseDocuments(b *testing.B) {
	data := catalogOfSize(b, 500<<10)
	for _, bm := range []struct {
		name  string
		parse func(string, []byte, Limits, *Budget) ([]*Node, error)
	}{
		{"yaml-v4", ParseDocuments},
		{"goccy", goccyParse},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.parse("catalog-info.yaml", data, Limits{}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
