package entity

import (
	"testing"
	"time"
)

// BenchmarkValidate validates every demo entity once per iteration and
// reports the cost per entity.
func BenchmarkValidate(b *testing.B) {
	demo := demoEntities(b)
	Validate(demo[0]) // compile the schemas outside the timing
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		for _, e := range demo {
			if ps := Validate(e); ps != nil {
				b.Fatal(ps)
			}
		}
	}
	reportPerEntity(b, start, len(demo))
}

// BenchmarkRelations derives the relations of every demo entity once per
// iteration and reports the cost per entity.
func BenchmarkRelations(b *testing.B) {
	demo := demoEntities(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		for _, e := range demo {
			if _, err := Relations(e); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerEntity(b, start, len(demo))
}

// BenchmarkParse decodes every demo entity from JSON once per iteration.
func BenchmarkParse(b *testing.B) {
	var docs [][]byte
	for _, e := range demoEntities(b) {
		js, err := CanonicalJSON(e)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, js)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		for _, d := range docs {
			if _, err := Parse(d); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerEntity(b, start, len(docs))
}

func reportPerEntity(b *testing.B, start time.Time, n int) {
	b.Helper()
	per := float64(time.Since(start).Nanoseconds()) / float64(b.N*n)
	b.ReportMetric(per, "ns/entity")
	b.ReportMetric(1e9/per, "entities/s")
}
