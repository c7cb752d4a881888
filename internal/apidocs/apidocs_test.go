package apidocs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"greenroom/examples"
	"greenroom/internal/yamltree"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func render(t *testing.T, typ, def string, level int) string {
	t.Helper()
	h, err := Render(typ, def, Options{HeadingLevel: level, IDPrefix: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestRenderFixtures(t *testing.T) {
	tests := []struct {
		typ, file string
		headings  []string // the outline
		contains  []string // fragments of the markup
	}{
		{
			typ: "openapi", file: "petstore-3.1.yaml",
			headings: []string{
				"h2 Petstore version 2.1.0", "h3 Getting started", "h3 Servers",
				"h3 pets", "h4 GET /pets List pets", "h5 Parameters", "h5 Responses",
				"h4 POST /pets Add a pet", "h5 Parameters", "h5 Request body (required)", "h5 Responses",
				"h4 GET /pets/{petId} Info for a pet", "h5 Parameters", "h5 Responses",
				"h4 DELETE /pets/{petId} Delete a pet (deprecated)", "h5 Parameters", "h5 Responses",
				"h3 store", "h4 POST /store/orders Place an order", "h5 Request body (required)", "h5 Responses",
				"h3 Other operations", "h4 GET /health Liveness", "h5 Responses",
				"h3 Webhooks", "h4 POST newPet A pet was added", "h5 Request body", "h5 Responses",
				"h3 Schemas", "h4 NewPet", "h4 Pet", "h4 Kind", "h4 Category", "h4 Person", "h4 Shelter", "h4 Order", "h4 Error",
			},
			contains: []string{
				`OpenAPI 3.1.0 · 7 operations`,
				`<th scope="row"><code>petId</code></th><td>path</td><td>string</td><td>required</td>`,
				`<p>Default: <code>20</code></p><p class="apidocs-constraints">at least 1; at most 100</p>`,
				`array of <a href="#t-schema-Pet"><code>Pet</code></a>`,
				`<code class="apidocs-name">parent</code> <span class="apidocs-type"><a href="#t-schema-Category"><code>Category</code></a></span> <span class="apidocs-flag">(recursive: see above)</span>`,
				`includes the properties of NewPet`,
				`<p>What the pet is.</p>`, // a description beside a 3.1 $ref
				`string (date) | null`,
				`<p class="apidocs-enum">One of: <code>&#34;dog&#34;</code>, <code>&#34;cat&#34;</code>, <code>&#34;bird&#34;</code></p>`,
				`told apart by type`,
				`<p>Always <code>&#34;person&#34;</code></p>`,
				`greater than 0`,
				`<p>Each value: <span class="apidocs-type">string</span></p>`,
				`<summary>Example</summary><pre tabindex="0"><code>{&#34;petId&#34;:&#34;p-1&#34;,&#34;quantity&#34;:1}</code></pre>`,
				`<code>X-Trace-Id</code></th><td>header</td>`, // path-level parameter through a $ref
				`<code>application/problem&#43;json</code>`,
				`<a href="https://example.com/guide">guide</a>`,
			},
		},
		{
			typ: "openapi", file: "swagger-2.0.json",
			headings: []string{
				"h2 Legacy Orders version 1.0", "h3 Servers", "h3 orders",
				"h4 GET /orders List orders", "h5 Parameters", "h5 Responses",
				"h4 POST /orders Create an order", "h5 Request body (required)", "h5 Responses",
				"h4 POST /orders/{id}/attachments Attach a file", "h5 Parameters", "h5 Request body", "h5 Responses",
				"h3 Schemas", "h4 Order", "h4 Line",
			},
			contains: []string{
				`Swagger 2.0 · 3 operations`,
				`<code>https://orders.example.com/api</code> (https)`,
				`<th scope="row"><code>page</code></th><td>query</td><td>integer (int32)</td><td>optional</td><td><p>Page number</p>`,
				`<th scope="row"><code>X-Tenant</code></th><td>header</td><td>string</td><td>required</td>`,
				`<code>multipart/form-data</code>: <span class="apidocs-type">object</span>`,
				`<code class="apidocs-name">file</code> <span class="apidocs-type">file</span> <span class="apidocs-required">required</span>`,
				`<code class="apidocs-name">status</code> <span class="apidocs-type">string | null</span>`,
				`<th scope="row"><code>Location</code></th><td>header</td><td>string</td>`,
				`matches ^[A-Z0-9-]&#43;$`,
				`at least 1 item`,
			},
		},
		{
			typ: "asyncapi", file: "asyncapi-2.6.yaml",
			headings: []string{
				"h2 Shipping events version 0.4.0", "h3 Servers",
				"h3 Channel shipments/{shipmentId}/status", "h4 Parameters",
				"h4 Subscribe onShipmentStatus Receive status changes.", "h5 Message Shipped Shipment shipped", "h5 Message Delivered",
				"h4 Publish requestStatus Ask for the current status.", "h5 Message StatusRequest",
				"h3 Schemas", "h4 Shipment",
			},
			contains: []string{
				`AsyncAPI 2.6.0 · 1 channel, 2 operations`,
				`<strong>production</strong>: <code>broker.example.com:9092</code> (kafka)`,
				`<p>Events about <strong>shipments</strong>.</p>`,
				`<th scope="row"><code>shipmentId</code></th><td>channel</td><td>string (uuid)</td><td>required</td>`,
				`Content type: <code>application/avro</code>`,
				`Content type: <code>application/json</code>`,
				`Payload: <span class="apidocs-type"><a href="#t-schema-Shipment"><code>Shipment</code></a> (object)</span>`,
				`<code class="apidocs-name">signedBy</code>`,
				`<code class="apidocs-name">traceId</code>`,
			},
		},
		{
			typ: "asyncapi", file: "asyncapi-3.0.yaml",
			headings: []string{
				"h2 Chat version 1.0.0", "h3 Servers",
				"h3 Channel rooms/{roomId} A chat room", "h4 Parameters",
				"h4 Send say Say something.", "h5 Message said Someone said something",
				"h4 Receive listen", "h5 Message said Someone said something", "h5 Message joined",
				"h4 Other messages of this channel", "h5 Message Typing",
				"h3 Schemas", "h4 Member",
			},
			contains: []string{
				`<strong>ws</strong>: <code>chat.example.com/ws</code> (wss)`,
				`Channel ID: <code>room</code>`,
				`<code>roomId</code></th><td>channel</td><td>string</td><td>required</td><td><p>The room.</p>`,
				`<code class="apidocs-name">text</code> <span class="apidocs-type">string</span><p class="apidocs-constraints">at most 2000 characters</p>`,
			},
		},
		{
			typ: "graphql", file: "schema.graphql",
			headings: []string{
				"h2 Untitled API", "h3 Queries", "h3 Mutations", "h3 Subscriptions", "h3 Types",
				"h4 type Author", "h4 type Book", "h4 type BookConnection", "h4 interface Node", "h4 union SearchResult",
				"h4 enum Genre", "h4 input AddBookInput", "h4 scalar Date",
			},
			contains: []string{
				`GraphQL SDL`,
				`<p>The bookshop schema.</p>`,
				`<code class="apidocs-name">book</code>(<code>id</code>: <span class="apidocs-type"><code>ID</code>!</span>): <span class="apidocs-type"><a href="#t-type-Book"><code>Book</code></a></span>`,
				`<code>first</code>: <span class="apidocs-type"><code>Int</code></span> = <code>10</code>`,
				`<span class="apidocs-type">[<a href="#t-type-SearchResult"><code>SearchResult</code></a>!]!</span>`,
				`(deprecated: Use book or author.)`,
				`<code class="apidocs-name">rating</code>: <span class="apidocs-type"><code>Float</code></span><p>Added by an extension.</p>`,
				`Implements <span class="apidocs-type"><a href="#t-type-Node"><code>Node</code></a></span>`,
				`One of <span class="apidocs-type"><a href="#t-type-Book"><code>Book</code></a></span>, <span class="apidocs-type"><a href="#t-type-Author"><code>Author</code></a></span>`,
				`<code>POETRY</code> <span class="apidocs-deprecated">(deprecated: Merged into FICTION.)</span>`,
				`<code class="apidocs-name">isbn</code>: <span class="apidocs-type"><code>String</code></span> <span class="apidocs-deprecated">(deprecated: deprecated)</span>`,
				`<code class="apidocs-name">genre</code>: <span class="apidocs-type"><a href="#t-type-Genre"><code>Genre</code></a></span> = <code>FICTION</code>`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out := render(t, tt.typ, fixture(t, tt.file), 2)
			root := checkFragment(t, out, 2)
			if diff := cmp.Diff(tt.headings, headings(root)); diff != "" {
				t.Errorf("outline (-want +got):\n%s", diff)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("fragment lacks %s", c)
				}
			}
			if strings.Contains(out, "apidocs-notes") {
				t.Errorf("notes on a clean definition:\n%s", out)
			}
		})
	}
}

func TestHeadingLevels(t *testing.T) {
	def := fixture(t, "petstore-3.1.yaml")
	for _, level := range []int{1, 3, 5, 6} {
		out := render(t, "openapi", def, level)
		checkFragment(t, out, level)
	}
	if _, err := Render("openapi", def, Options{HeadingLevel: 7}); err == nil {
		t.Error("heading level 7 accepted")
	}
	if _, err := Render("openapi", def, Options{IDPrefix: `x" onclick="y`}); err == nil {
		t.Error("a bad id prefix accepted")
	}
}

// demoAPIs reads every API entity of the bundled demo with its definition,
// $text placeholders resolved as the catalog resolves them.
func demoAPIs(t testing.TB) map[string][2]string {
	t.Helper()
	b, err := fs.ReadFile(examples.FS, "apis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := yamltree.ParseDocuments("apis.yaml", b, yamltree.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, d := range docs {
		if d.Get("kind").Str() != "API" {
			continue
		}
		spec := d.Get("spec")
		def := spec.Get("definition")
		text := def.Str()
		if file := def.Get("$text").Str(); file != "" {
			raw, err := fs.ReadFile(examples.FS, path.Clean(file))
			if err != nil {
				t.Fatal(err)
			}
			text = string(raw)
		}
		out[d.Get("metadata").Get("name").Str()] = [2]string{spec.Get("type").Str(), text}
	}
	if len(out) < 5 {
		t.Fatalf("%d demo APIs", len(out))
	}
	return out
}

func TestDemoDefinitions(t *testing.T) {
	for name, api := range demoAPIs(t) {
		t.Run(name, func(t *testing.T) {
			typ, def := api[0], api[1]
			doc, err := Parse(typ, def, Options{})
			if typ == "grpc" {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("grpc: %v", err)
				}
				out := render(t, typ, def, 2)
				checkFragment(t, out, 2)
				if !strings.Contains(out, `no viewer for API type &#34;grpc&#34;`) || !strings.Contains(out, `<pre class="apidocs-source" tabindex="0">`) {
					t.Errorf("grpc fallback: %s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Notes) > 0 {
				t.Errorf("notes: %q", doc.Notes)
			}
			if doc.Title == "" && typ != "graphql" {
				t.Error("no title")
			}
			switch typ {
			case "openapi":
				if doc.OpenAPI.Operations == 0 {
					t.Error("no operations")
				}
			case "asyncapi":
				if doc.AsyncAPI.Operations == 0 || len(doc.AsyncAPI.Channels) == 0 {
					t.Error("no channels or operations")
				}
			case "graphql":
				if doc.GraphQL.Query == nil {
					t.Error("no Query type")
				}
			}
			checkFragment(t, render(t, typ, def, 2), 2)
		})
	}
}

func TestHostileDefinition(t *testing.T) {
	out := render(t, "openapi", fixture(t, "hostile-openapi.yaml"), 2)
	checkFragment(t, out, 2)
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", "<img", "<iframe", "<style", "<svg", "javascript:alert('link')", `href="javascript`, `href="data:`, "onerror=alert(1)>", `"onmouseover="`} {
		if strings.Contains(lower, bad) {
			t.Errorf("fragment contains %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;", // the title, as text
		`<a href="https://example.com">ok</a>`,                // safe links stay
		`<a href="https://tracker.example/p.png">pixel</a>`,   // images become links
		"click", // the unsafe link's text stays
		"<code>&lt;b&gt;p&lt;/b&gt;</code>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("fragment lacks %s", want)
		}
	}
}

func TestInvalidDefinitions(t *testing.T) {
	tests := []struct {
		typ, file string
		line, col int
		message   string
	}{
		{"openapi", "invalid/yaml-syntax.yaml", 4, 7, "mapping values are not allowed"},
		{"openapi", "invalid/json-syntax.json", 3, 25, "invalid character '}'"},
		{"openapi", "invalid/not-openapi.yaml", 1, 1, "neither an openapi nor a swagger field"},
		{"openapi", "invalid/version.yaml", 1, 1, `OpenAPI version "4.0.0"`},
		{"openapi", "invalid/duplicate-key.json", 1, 30, `key "a" is given twice`},
		{"asyncapi", "invalid/asyncapi-version.yaml", 1, 1, `AsyncAPI version "1.2.0"`},
		{"asyncapi", "petstore-3.1.yaml", 1, 1, "no asyncapi field"},
		{"graphql", "invalid/broken.graphql", 3, 1, "Expected ]"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			def := fixture(t, tt.file)
			_, err := Parse(tt.typ, def, Options{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want an *Error", err)
			}
			if e.Line != tt.line || e.Column != tt.col || !strings.Contains(e.Message, tt.message) {
				t.Errorf("error %q at %d:%d, want %q at %d:%d", e.Message, e.Line, e.Column, tt.message, tt.line, tt.col)
			}
			out := render(t, tt.typ, def, 3)
			checkFragment(t, out, 3)
			if !strings.Contains(out, "could not be read:</strong> "+strings.ReplaceAll(strings.ReplaceAll(e.Error(), "'", "&#39;"), `"`, "&#34;")) {
				t.Errorf("fragment does not show the located error %q:\n%s", e.Error(), out)
			}
			if !strings.Contains(out, `<pre class="apidocs-source" tabindex="0"><code>`) {
				t.Errorf("fragment does not show the definition")
			}
		})
	}
}

func TestBounds(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	tests := []struct {
		name, typ, def, want string
	}{
		{"too large", "openapi", "openapi: 3.0.0\n#" + strings.Repeat("x", MaxDefinitionBytes), "more than the 5242880 this viewer reads"},
		{"deep json", "openapi", deep, "nesting deeper than 96 levels"},
		{"deep yaml", "openapi", strings.Repeat("[", 300) + strings.Repeat("]", 300), "nest"},
		{"alias bomb", "openapi", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "limit"},
		{"not utf-8", "graphql", "type Query { a: \xff }", "not valid UTF-8"},
		{"empty", "openapi", "  \n", "empty"},
		{"trailing json", "openapi", `{"openapi": "3.0.0"} {}`, "goes on after its end"},
		{"scalar", "openapi", `42`, "must be a mapping"},
		{"empty graphql", "graphql", "# nothing", "defines no types"},
		{"deep graphql", "graphql", "type Query { a: " + strings.Repeat("[", 2000) + "Int" + strings.Repeat("]", 2000) + " }", "nesting depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.typ, tt.def, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			h, rerr := Render(tt.typ, tt.def, Options{})
			if rerr != nil || !strings.Contains(string(h), "could not be read") {
				t.Errorf("render: %v", rerr)
			}
		})
	}
	// The text fallback is bounded too.
	big := "openapi: [" + strings.Repeat("x", 2*maxRaw)
	h, _ := Render("openapi", big, Options{})
	if len(h) > maxRaw+10_000 || !strings.Contains(string(h), "Only the first 1024 KB") {
		t.Errorf("fallback of %d bytes is %d bytes", len(big), len(h))
	}
}

func TestReferences(t *testing.T) {
	def := `openapi: 3.0.0
info: {title: Refs, version: "1"}
paths:
  /a:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/A'}
        '400': {$ref: '#/components/responses/Missing'}
        '500':
          description: external
          content:
            application/json:
              schema: {$ref: 'common.yaml#/Error'}
components:
  schemas:
    A:
      type: object
      properties:
        b: {$ref: '#/components/schemas/B'}
        loop: {$ref: '#/components/schemas/L1'}
    B:
      type: object
      properties:
        a: {$ref: '#/components/schemas/A'}
        escaped: {$ref: '#/components/schemas/We~1ird~0Name'}
    L1: {$ref: '#/components/schemas/L2'}
    L2: {$ref: '#/components/schemas/L1'}
    We/ird~Name: {type: string, description: pointer escapes}
`
	doc, err := Parse("openapi", def, Options{IDPrefix: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ // the schemas are read first
		`line 24, column 9: $ref "#/components/schemas/L1" leads round in a loop of $refs`,
		`line 30, column 5: $ref "#/components/schemas/L2" leads round in a loop of $refs`,
		`line 31, column 5: $ref "#/components/schemas/L1" leads round in a loop of $refs`,
		`line 12, column 9: $ref "#/components/responses/Missing" names nothing in this document`,
		`line 17, column 15: $ref "common.yaml#/Error" is in another document, which this viewer does not follow`,
	}
	if diff := cmp.Diff(want, doc.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	resp := doc.OpenAPI.Groups[0].Operations[0].Responses
	a := resp[0].Content[0].Schema
	// A expands in the operation; B inside it links to its section, where
	// B's a links back to A.
	if a.RefName != "A" || !a.Properties[0].Collapsed || a.Properties[0].RefAnchor != "r-schema-B" {
		t.Errorf("A: %+v; b: %+v", a, a.Properties[0])
	}
	b := doc.OpenAPI.Schemas[1]
	if b.Name != "B" || b.Schema.Properties[0].RefAnchor != "r-schema-A" {
		t.Errorf("B: %+v", b.Schema.Properties[0])
	}
	if e := b.Schema.Properties[1]; e.RefName != "We/ird~Name" || e.RefAnchor != "r-schema-We-ird-Name" {
		t.Errorf("escaped ref: %+v", e)
	}
	// A schema that contains itself is shown once, then linked.
	self, err := Parse("openapi", "openapi: 3.0.0\npaths:\n  /t:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/T'}\ncomponents:\n  schemas:\n    T:\n      type: object\n      properties:\n        children: {type: array, items: {$ref: '#/components/schemas/T'}}\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tree := self.OpenAPI.Groups[0].Operations[0].Responses[0].Content[0].Schema
	if kids := tree.Properties[0]; kids.Type != "array of T" || !kids.Items.Recursive {
		t.Errorf("children: %+v, items %+v", kids, kids.Items)
	}
	if resp[1].Description != "(the response could not be read)" || resp[2].Content[0].Schema.Unresolved != "common.yaml#/Error" {
		t.Errorf("responses: %+v", resp)
	}
	checkFragment(t, render(t, "openapi", def, 2), 2)
}

func TestSchemaBudget(t *testing.T) {
	// Each schema refers to the next twice: expanded naively, 2^30 nodes.
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\ninfo: {title: Wide, version: \"1\"}\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/S0'}\ncomponents:\n  schemas:\n")
	for i := range 30 {
		b.WriteString("    S" + itoa(i) + ":\n      type: object\n      properties:\n        l: {$ref: '#/components/schemas/S" + itoa(i+1) + "'}\n        r: {$ref: '#/components/schemas/S" + itoa(i+1) + "'}\n")
	}
	b.WriteString("    S30: {type: string}\n")
	out := render(t, "openapi", b.String(), 2)
	if len(out) > 2<<20 {
		t.Errorf("%d bytes rendered", len(out))
	}
	checkFragment(t, out, 2)
}

func itoa(i int) string {
	return strings.TrimLeft(string([]byte{byte('0' + i/10), byte('0' + i%10)}), "0")
}

func TestMarkdown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain *text*", "<p>plain <em>text</em></p>\n"},
		{"# Title\n## Sub", "<h4>Title</h4>\n<h5>Sub</h5>\n"},
		{"###### Six", "<h6>Six</h6>\n"},
		{"[x](javascript:alert(1))", "<p>x</p>\n"},
		{"[x](JaVaScRiPt:alert(1))", "<p>x</p>\n"},
		{"[x](vbscript:x) [y](file:///etc/passwd) [z](data:text/html,x)", "<p>x y z</p>\n"},
		{"[x](https://example.com \"t\")", "<p><a href=\"https://example.com\" title=\"t\">x</a></p>\n"},
		{"[x](#anchor) [y](/path) [m](mailto:a@example.com)", "<p><a href=\"#anchor\">x</a> <a href=\"/path\">y</a> <a href=\"mailto:a@example.com\">m</a></p>\n"},
		{"![alt](https://example.com/i.png)", "<p><a href=\"https://example.com/i.png\">alt</a></p>\n"},
		{"![](https://example.com/i.png)", "<p><a href=\"https://example.com/i.png\">image</a></p>\n"},
		{"<script>alert(1)</script>", "<!-- raw HTML omitted -->\n"},
		{"a <b onclick=x>b</b>", "<p>a <!-- raw HTML omitted -->b<!-- raw HTML omitted --></p>\n"},
		{"www.example.com and https://example.org", "<p><a href=\"http://www.example.com\">www.example.com</a> and <a href=\"https://example.org\">https://example.org</a></p>\n"},
		{"<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n"},
		{"| a | b |\n|---|---|\n| 1 | 2 |", "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n"},
	}
	for _, tt := range tests {
		if got := string(markdown(tt.in, 4)); got != tt.want {
			t.Errorf("markdown(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
