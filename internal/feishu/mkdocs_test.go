package feishu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"pgregory.net/rapid"
)

func TestAddNav(t *testing.T) {
	pages := []NavPage{{Title: "A: colon", Path: "feishu/a.md"}, {Title: "B", Sections: []string{"Team"}, Path: "feishu/team/b.md"}}
	tests := []struct {
		name, src string
		want      string // "" means unchanged
		note      bool
	}{
		{"block nav between keys", "site_name: X\nnav:\n  - Home: index.md\ntheme: material\n",
			"site_name: X\nnav:\n  - Home: index.md\n  - \"Feishu\":\n    - \"A: colon\": \"feishu/a.md\"\n    - \"Team\":\n      - \"B\": \"feishu/team/b.md\"\ntheme: material\n", false},
		{"nav at end without newline, unindented items", "site_name: X\nnav:\n- index.md",
			"site_name: X\nnav:\n- index.md\n- \"Feishu\":\n  - \"A: colon\": \"feishu/a.md\"\n  - \"Team\":\n    - \"B\": \"feishu/team/b.md\"\n", false},
		{"comments and blank lines after nav stay after", "nav:\n  - index.md\n\n# tail\nplugins: [search]\n",
			"nav:\n  - index.md\n  - \"Feishu\":\n    - \"A: colon\": \"feishu/a.md\"\n    - \"Team\":\n      - \"B\": \"feishu/team/b.md\"\n\n# tail\nplugins: [search]\n", false},
		{"no nav", "site_name: X\n", "", true},
		{"flow nav", "site_name: X\nnav: [index.md]\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, edit, err := addNav([]byte(tt.src), "x", "Feishu", pages)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.src
			}
			if string(out) != want {
				t.Errorf("got:\n%s\nwant:\n%s", out, want)
			}
			if (edit.Note != "") != tt.note {
				t.Errorf("note = %q", edit.Note)
			}
			back, ok := removeNav(out, edit)
			if !ok || string(back) != tt.src {
				t.Errorf("removeNav did not restore the file: %v\n%s", ok, back)
			}
		})
	}
	t.Run("created", func(t *testing.T) {
		out, edit, err := addNav(nil, "pay", "Feishu", pages)
		if err != nil || !edit.Created {
			t.Fatal(err, edit)
		}
		var doc struct {
			SiteName string `yaml:"site_name"`
			Nav      []any  `yaml:"nav"`
		}
		if err := yaml.Unmarshal(out, &doc); err != nil || doc.SiteName != "pay" || len(doc.Nav) != 1 {
			t.Errorf("created mkdocs.yml %+v, %v:\n%s", doc, err, out)
		}
	})
	t.Run("not YAML", func(t *testing.T) {
		if _, err := docsDirOf([]byte("nav: [\n  - : :\n")); err == nil || !strings.Contains(err.Error(), "mkdocs.yml") {
			t.Errorf("docsDirOf = %v", err)
		}
		if _, err := docsDirOf([]byte("docs_dir: ../../etc\n")); err == nil {
			t.Error("docs_dir leaving the repository accepted")
		}
	})
}

// Property 12: documentation migration — for any mkdocs.yml with a block
// nav and any set of migrated pages, rollback's nav edit restores the file
// byte for byte, and the edited file stays YAML with every page in its nav.
func TestPropertyNavRollbackRestoresFile(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		indent := rapid.SampledFrom([]string{"", "  ", "    "}).Draw(t, "indent")
		var src strings.Builder
		src.WriteString("site_name: S\n")
		if rapid.Bool().Draw(t, "comment") {
			src.WriteString("# comment: kept\n")
		}
		src.WriteString("nav:\n")
		for i, n := 0, rapid.IntRange(0, 4).Draw(t, "items"); i < n; i++ {
			fmt.Fprintf(&src, "%s- P%d: p%d.md\n", indent, i, i)
		}
		if rapid.Bool().Draw(t, "trailer") {
			src.WriteString("\ntheme:\n  name: material\n")
		}
		title := rapid.StringMatching(`[\p{L}\p{N} :#'"-]{1,20}`)
		var pages []NavPage
		for i, n := 0, rapid.IntRange(1, 6).Draw(t, "pages"); i < n; i++ {
			p := NavPage{Title: title.Draw(t, "title"), Path: fmt.Sprintf("feishu/d%d.md", i)}
			if rapid.Bool().Draw(t, "nested") {
				p.Sections = []string{title.Draw(t, "section")}
			}
			pages = append(pages, p)
		}
		out, edit, err := addNav([]byte(src.String()), "s", "Feishu", pages)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Nav []any `yaml:"nav"`
		}
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("edited mkdocs.yml is not YAML: %v\n%s", err, out)
		}
		navJSON, _ := json.Marshal(doc.Nav)
		for _, p := range pages {
			if !strings.Contains(string(navJSON), p.Path) {
				t.Fatalf("nav lacks %s:\n%s", p.Path, out)
			}
		}
		back, ok := removeNav(out, edit)
		if !ok || string(back) != src.String() {
			t.Fatalf("rollback left:\n%q\nwant:\n%q", back, src.String())
		}
	})
}

// Property 12: documentation migration — for any block tree (random
// types, nesting, styles, dangling and repeated children), conversion
// terminates without error, yields valid UTF-8 ending in one newline, and
// renders every text run's words somewhere unless its block is dropped by
// the conventions.
func TestPropertyConversionTotal(t *testing.T) {
	types := []BlockType{2, 3, 5, 9, 11, 12, 13, 14, 15, 17, 19, 22, 24, 25, 27, 31, 32, 34, 18, 999, 4242}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "blocks")
		blocks := []Block{{BlockID: "doc", BlockType: TypePage, Text: &Text{Elements: runs(rapid.StringN(0, 10, -1).Draw(t, "title"))}}}
		for i := 1; i <= n; i++ {
			parent := rapid.IntRange(0, i-1).Draw(t, "parent")
			bt := rapid.SampledFrom(types).Draw(t, "type")
			b := Block{BlockID: fmt.Sprint("b", i), ParentID: blocks[parent].BlockID, BlockType: bt}
			if _, ok := textKeys[bt]; ok {
				b.Text = &Text{Elements: []TextElement{styled(rapid.String().Draw(t, "text"), ElementStyle{
					Bold: rapid.Bool().Draw(t, "b"), Italic: rapid.Bool().Draw(t, "i"), InlineCode: rapid.Bool().Draw(t, "c")})}}
			}
			if bt == TypeImage {
				b.Image = &Image{Token: "tok"}
			}
			if bt == TypeTable {
				b.Table = &Table{Cells: []string{fmt.Sprint("b", rapid.IntRange(0, n+2).Draw(t, "cell"))}, Property: TableProperty{ColumnSize: rapid.IntRange(0, 3).Draw(t, "cols")}}
			}
			blocks = append(blocks, b)
			blocks[parent].Children = append(blocks[parent].Children, b.BlockID)
			if rapid.IntRange(0, 20).Draw(t, "dangle") == 0 {
				blocks[parent].Children = append(blocks[parent].Children, "missing", "doc")
			}
		}
		c, _ := NewConverter(DefaultConversion(), nil)
		r, err := c.Convert(context.Background(), blocks)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(r.Markdown) {
			t.Fatalf("invalid UTF-8: %q", r.Markdown)
		}
		if r.Markdown != "" && (!strings.HasSuffix(r.Markdown, "\n") || strings.HasSuffix(r.Markdown, "\n\n")) {
			t.Fatalf("output does not end in one newline: %q", r.Markdown)
		}
	})
}

// FuzzConvert feeds arbitrary block lists to the converter: it must never
// panic, and must either fail cleanly or produce valid UTF-8.
func FuzzConvert(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz-seeds/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"block_id":"d","block_type":1,"children":["a"]},{"block_id":"a","block_type":31,"table":{"cells":["a"],"property":{"column_size":1,"merge_info":[{"row_span":9,"col_span":9}]}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var blocks []Block
		if json.Unmarshal(data, &blocks) != nil {
			return
		}
		c, _ := NewConverter(DefaultConversion(), nil)
		c.MaxBlocks = 2000
		r, err := c.Convert(context.Background(), blocks)
		if err == nil && !utf8.ValidString(r.Markdown) && utf8.Valid(data) {
			t.Fatalf("invalid UTF-8 from valid input: %q", r.Markdown)
		}
	})
}

// BenchmarkConvert1000Blocks converts a generated 1,000-block document
// (headings, paragraphs with styled runs and links, nested lists, code,
// tables): the target is under 50 ms.
func BenchmarkConvert1000Blocks(b *testing.B) {
	blocks := thousandBlocks()
	c, _ := NewConverter(DefaultConversion(), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Convert(context.Background(), blocks); err != nil {
			b.Fatal(err)
		}
	}
}

func thousandBlocks() []Block {
	d := newDoc("Generated handbook")
	for len(d.blocks) < 1000 {
		d.add("doc", TypeHeading1+1, runs("Section heading")...)
		d.add("doc", TypeText, styled("Some ", ElementStyle{}), styled("bold", ElementStyle{Bold: true}),
			styled(" and a ", ElementStyle{}), styled("link", ElementStyle{Link: &Link{URL: "https%3A%2F%2Fexample.com%2Fa"}}),
			styled(" with `code` and * stars_", ElementStyle{}))
		l := d.add("doc", TypeBullet, runs("item one")...)
		d.add(l, TypeOrdered, runs("nested")...)
		d.add(l, TypeOrdered, runs("nested two")...)
		code := d.add("doc", TypeCode, runs("func main() {\n\tprintln(1)\n}\n")...)
		d.block(code).Text.Style.Language = 22
		if len(d.blocks)%5 == 0 {
			d.table("doc", 2, 2, func(r, c int) string { return "cell" }, nil)
		}
	}
	return d.blocks[:1000]
}

func TestThousandBlocksFast(t *testing.T) {
	blocks := thousandBlocks()
	if len(blocks) != 1000 {
		t.Fatalf("%d blocks", len(blocks))
	}
	if raceEnabled {
		t.Skip("timing targets are not checked under the race detector")
	}
	res := testing.Benchmark(BenchmarkConvert1000Blocks)
	if per := res.NsPerOp(); per > 50e6 {
		t.Errorf("1,000 blocks in %.1f ms, target < 50 ms", float64(per)/1e6)
	}
}
