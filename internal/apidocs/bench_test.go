package apidocs

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"greenroom/internal/yamltree"
)

// largeOpenAPI is an OpenAPI 3.0 document of n operations over n/4
// schemas that refer to each other, as generated API definitions are.
func largeOpenAPI(n int) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo:\n  title: Large API\n  version: 1.0.0\n  description: A generated API with **many** operations.\ntags:\n")
	for t := range 10 {
		fmt.Fprintf(&b, "  - name: area-%d\n    description: Operations of area %d.\n", t, t)
	}
	b.WriteString("paths:\n")
	schemas := max(1, n/4)
	for i := range n {
		s := i % schemas
		if i%2 == 0 {
			fmt.Fprintf(&b, "  /things-%d/{id}:\n    get:\n", i)
		} else {
			fmt.Fprintf(&b, "  /things-%d:\n    post:\n", i)
		}
		fmt.Fprintf(&b, "      tags: [area-%d]\n      operationId: op%d\n      summary: Operation number %d\n      description: |\n        Does thing %d. See [the guide](https://example.com/guide).\n", i%10, i, i, i)
		if i%2 == 0 {
			b.WriteString("      parameters:\n        - name: id\n          in: path\n          required: true\n          schema: {type: string, format: uuid}\n        - name: expand\n          in: query\n          schema: {type: array, items: {type: string, enum: [owner, history]}}\n")
		} else {
			fmt.Fprintf(&b, "      requestBody:\n        required: true\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Thing%d'}\n", s)
		}
		fmt.Fprintf(&b, "      responses:\n        '200':\n          description: The thing.\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Thing%d'}\n        '404':\n          description: No such thing.\n", s)
	}
	b.WriteString("components:\n  schemas:\n")
	for s := range schemas {
		fmt.Fprintf(&b, "    Thing%d:\n      type: object\n      required: [id, name]\n      properties:\n        id: {type: string, format: uuid, readOnly: true}\n        name: {type: string, minLength: 1, maxLength: 200}\n        status: {type: string, enum: [draft, active, retired]}\n        createdAt: {type: string, format: date-time}\n        next: {$ref: '#/components/schemas/Thing%d'}\n        tags:\n          type: array\n          items: {type: string}\n        attributes:\n          type: object\n          additionalProperties: {type: string}\n", s, (s+1)%schemas)
	}
	return b.String()
}

func toJSON(tb testing.TB, y string) string {
	n, err := yamltree.Parse("x", []byte(y), yamltree.Limits{MaxStructural: maxYAMLStructural}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(n.Interface())
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// BenchmarkRenderOpenAPI measures parsing and rendering a definition of
// 200 operations, as YAML and as JSON, for docs/BENCHMARKS.md.
func BenchmarkRenderOpenAPI(b *testing.B) {
	y := largeOpenAPI(200)
	for _, c := range []struct{ name, def string }{{"yaml", y}, {"json", toJSON(b, y)}} {
		b.Run("200_operations_"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.def)))
			var size int
			for b.Loop() {
				h, err := Render("openapi", c.def, Options{})
				if err != nil {
					b.Fatal(err)
				}
				size = len(h)
			}
			b.ReportMetric(float64(size), "bytes/html")
		})
	}
}

func TestLargeOpenAPI(t *testing.T) {
	doc, err := Parse("openapi", largeOpenAPI(200), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI.Operations != 200 || len(doc.OpenAPI.Groups) != 10 || len(doc.OpenAPI.Schemas) != 50 || len(doc.Notes) > 0 {
		t.Errorf("%d operations in %d groups, %d schemas, notes %v", doc.OpenAPI.Operations, len(doc.OpenAPI.Groups), len(doc.OpenAPI.Schemas), doc.Notes)
	}
	checkFragment(t, render(t, "openapi", largeOpenAPI(200), 2), 2)
}
