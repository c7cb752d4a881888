package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

var update = flag.Bool("update", false, "rewrite golden files")

// tb builds block lists for tests: each call adds a block and returns its id.
type tb struct {
	blocks []Block
	n      int
}

func newDoc(title string) *tb {
	t := &tb{}
	t.blocks = append(t.blocks, Block{BlockID: "doc", BlockType: TypePage, Text: &Text{Elements: runs(title)}})
	return t
}

func runs(texts ...string) []TextElement {
	var out []TextElement
	for _, s := range texts {
		if s == "" {
			continue
		}
		out = append(out, TextElement{TextRun: &TextRun{Content: s}})
	}
	return out
}

func styled(s string, st ElementStyle) TextElement {
	return TextElement{TextRun: &TextRun{Content: s, Style: st}}
}

// add adds a block of type t under parent with elements.
func (d *tb) add(parent string, t BlockType, elems ...TextElement) string {
	d.n++
	id := fmt.Sprintf("b%d", d.n)
	b := Block{BlockID: id, ParentID: parent, BlockType: t}
	if _, ok := textKeys[t]; ok {
		b.Text = &Text{Elements: elems}
	}
	d.blocks = append(d.blocks, b)
	for i := range d.blocks {
		if d.blocks[i].BlockID == parent {
			d.blocks[i].Children = append(d.blocks[i].Children, id)
		}
	}
	return id
}

func (d *tb) block(id string) *Block {
	for i := range d.blocks {
		if d.blocks[i].BlockID == id {
			return &d.blocks[i]
		}
	}
	panic(id)
}

func (d *tb) text(parent string, s ...string) string { return d.add(parent, TypeText, runs(s...)...) }

// table adds a rows×cols table whose cells hold one text block each.
func (d *tb) table(parent string, rows, cols int, cell func(r, c int) string, merge []MergeInfo) string {
	id := d.add(parent, TypeTable)
	var cells []string
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			cid := d.add(id, TypeTableCell)
			d.text(cid, cell(r, c))
			cells = append(cells, cid)
		}
	}
	d.block(id).Table = &Table{Cells: cells, Property: TableProperty{RowSize: rows, ColumnSize: cols, MergeInfo: merge}}
	return id
}

func convert(t *testing.T, blocks []Block, cfg ConversionConfig) Result {
	t.Helper()
	c, err := NewConverter(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Convert(context.Background(), blocks)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return r
}

// renderHTML renders Markdown with a GFM renderer and normalises
// whitespace: CONVENTIONS.md's semantic comparison.
func renderHTML(t testing.TB, md string) string {
	t.Helper()
	g := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))
	var buf bytes.Buffer
	if err := g.Convert([]byte(md), &buf); err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`\s+`).ReplaceAllString(buf.String(), " ")
	return strings.TrimSpace(regexp.MustCompile(`>\s+<`).ReplaceAllString(s, "><"))
}

// strict is CONVENTIONS.md's strict comparison form.
func strict(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	s = regexp.MustCompile(`\n{3,}`).ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(s)
}

func TestConvertRules(t *testing.T) {
	bold := ElementStyle{Bold: true}
	tests := []struct {
		name  string
		build func(d *tb)
		title string
		want  string
	}{
		{"empty document", func(d *tb) {}, "", ""},
		{"title only", func(d *tb) {}, "T", "# T\n"},
		{"paragraphs and empty text dropped", func(d *tb) {
			d.text("doc", "one")
			d.add("doc", TypeText)
			d.text("doc", "")
			d.text("doc", "two")
		}, "T", "# T\n\none\n\ntwo\n"},
		{"headings clamp at six", func(d *tb) {
			d.add("doc", TypeHeading1, runs("h1")...)
			d.add("doc", TypeHeading1+5, runs("h6")...)
			d.add("doc", TypeHeading9, runs("h9")...)
		}, "", "# h1\n\n###### h6\n\n###### h9\n"},
		{"text children follow unindented", func(d *tb) {
			p := d.text("doc", "parent")
			d.text(p, "child")
		}, "", "parent\n\nchild\n"},
		{"tight bullets with nested children", func(d *tb) {
			a := d.add("doc", TypeBullet, runs("a")...)
			d.add(a, TypeBullet, runs("a1")...)
			d.add("doc", TypeBullet, runs("b")...)
			d.text("doc", "after")
		}, "", "- a\n  - a1\n- b\n\nafter\n"},
		{"ordered numbering restarts after another sibling", func(d *tb) {
			d.add("doc", TypeOrdered, runs("x")...)
			d.add("doc", TypeOrdered, runs("y")...)
			d.text("doc", "break")
			d.add("doc", TypeOrdered, runs("z")...)
		}, "", "1. x\n2. y\n\nbreak\n\n1. z\n"},
		{"ordered children indented by marker width", func(d *tb) {
			var last string
			for i := 0; i < 10; i++ {
				last = d.add("doc", TypeOrdered, runs(fmt.Sprint("i", i+1))...)
			}
			d.add(last, TypeBullet, runs("deep")...)
		}, "", "1. i1\n2. i2\n3. i3\n4. i4\n5. i5\n6. i6\n7. i7\n8. i8\n9. i9\n10. i10\n    - deep\n"},
		{"todo items", func(d *tb) {
			d.add("doc", TypeTodo, runs("open")...)
			done := d.add("doc", TypeTodo, runs("done")...)
			d.block(done).Text.Style.Done = true
		}, "", "- [ ] open\n- [x] done\n"},
		{"code fence and language", func(d *tb) {
			c := d.add("doc", TypeCode, runs("fmt.Println(1)")...)
			d.block(c).Text.Style.Language = 22
			c2 := d.add("doc", TypeCode, runs("a\n```\nb\n")...)
			d.block(c2).Text.Style.Language = 2
		}, "", "```go\nfmt.Println(1)\n```\n\n````abap\na\n```\nb\n````\n"},
		{"quote and quote container", func(d *tb) {
			d.add("doc", TypeQuote, runs("q")...)
			qc := d.add("doc", TypeQuoteContainer)
			d.text(qc, "p1")
			d.text(qc, "p2")
		}, "", "> q\n\n> p1\n>\n> p2\n"},
		{"callout is a blockquote of its children", func(d *tb) {
			c := d.add("doc", TypeCallout)
			d.add(c, TypeBullet, runs("tip")...)
		}, "", "> - tip\n"},
		{"divider and image", func(d *tb) {
			d.add("doc", TypeDivider)
			img := d.add("doc", TypeImage)
			d.block(img).Image = &Image{Token: "boxcnTOKEN"}
		}, "", "---\n\n![](boxcnTOKEN)\n"},
		{"grid flattened", func(d *tb) {
			g := d.add("doc", TypeGrid)
			c1 := d.add(g, TypeGridColumn)
			c2 := d.add(g, TypeGridColumn)
			d.text(c1, "left")
			d.text(c2, "right")
		}, "", "left\n\nright\n"},
		{"unknown blocks dropped, children kept", func(d *tb) {
			u := d.add("doc", 77)
			d.text(u, "kept")
			d.add("doc", TypeSheet)
			d.add("doc", TypeView)
		}, "", "kept\n"},
		{"inline styles nest link outermost", func(d *tb) {
			d.add("doc", TypeText, styled("x", ElementStyle{Bold: true, Italic: true, Strikethrough: true, Underline: true,
				Link: &Link{URL: "https%3A%2F%2Fe.com%2Fa%20b(c)"}}))
		}, "", "[<u>~~***x***~~</u>](https://e.com/a%20b%28c%29)\n"},
		{"adjacent identical runs merge; spaces move outside", func(d *tb) {
			d.add("doc", TypeText, styled("a", bold), styled("b ", bold), TextElement{TextRun: &TextRun{Content: "c"}})
		}, "", "**ab** c\n"},
		{"inline code with backtick", func(d *tb) {
			d.add("doc", TypeText, styled("a`b", ElementStyle{InlineCode: true}), styled("c", ElementStyle{InlineCode: true, Bold: true}))
		}, "", "`` a`b ``**`c`**\n"},
		{"mentions and equation", func(d *tb) {
			d.add("doc", TypeText,
				TextElement{MentionUser: &MentionUser{UserID: "ou_1"}},
				TextElement{TextRun: &TextRun{Content: " see "}},
				TextElement{MentionDoc: &MentionDoc{URL: "https%3A%2F%2Fx.feishu.cn%2Fdocx%2FA", Title: "Doc A"}},
				TextElement{TextRun: &TextRun{Content: " "}},
				TextElement{MentionDoc: &MentionDoc{URL: "https%3A%2F%2Fx.feishu.cn%2Fdocx%2FB"}},
				TextElement{TextRun: &TextRun{Content: " "}},
				TextElement{Equation: &TextRun{Content: "E=mc^2\n"}},
				TextElement{Reminder: json.RawMessage(`{}`)})
		}, "", "@ou\\_1 see [Doc A](https://x.feishu.cn/docx/A) [https://x.feishu.cn/docx/B](https://x.feishu.cn/docx/B) $E=mc^2$\n"},
		{"special characters stay literal", func(d *tb) {
			d.text("doc", "# not a heading *x* _y_ [z] <b> 1. a")
			d.text("doc", "1. not a list")
			d.text("doc", "- not a bullet")
		}, "", "\\# not a heading \\*x\\* \\_y\\_ \\[z\\] \\<b> 1. a\n\n1\\. not a list\n\n\\- not a bullet\n"},
		{"soft break is a hard break", func(d *tb) {
			d.text("doc", "line1\nline2\n")
		}, "", "line1\\\nline2\n"},
		{"pipe table, first row header, pipes escaped", func(d *tb) {
			d.table("doc", 2, 2, func(r, c int) string { return fmt.Sprintf("r%dc%d|", r, c) }, nil)
		}, "", "| r0c0\\| | r0c1\\| |\n| --- | --- |\n| r1c0\\| | r1c1\\| |\n"},
		{"merged cells make an HTML table", func(d *tb) {
			d.table("doc", 2, 2, func(r, c int) string { return fmt.Sprintf("r%dc%d", r, c) },
				[]MergeInfo{{RowSpan: 1, ColSpan: 2}, {1, 1}, {1, 1}, {1, 1}})
		}, "", "<table>\n<tr><th colspan=\"2\">r0c0</th></tr>\n<tr><td>r1c0</td><td>r1c1</td></tr>\n</table>\n"},
		{"cell text blocks joined by <br>, empty ones too", func(d *tb) {
			id := d.table("doc", 1, 1, func(r, c int) string { return "a" }, nil)
			cell := d.block(id).Table.Cells[0]
			d.text(cell, "")
			d.text(cell, "b")
		}, "", "| a<br><br>b |\n| --- |\n"},
		{"HTML table escapes only what HTML needs", func(d *tb) {
			d.table("doc", 1, 2, func(r, c int) string { return `"x" & <y>` }, []MergeInfo{{RowSpan: 2, ColSpan: 1}, {1, 1}})
		}, "", "<table>\n<tr><th rowspan=\"2\">\"x\" &amp; &lt;y&gt;</th><th>\"x\" &amp; &lt;y&gt;</th></tr>\n</table>\n"},
		{"empty list item with a child", func(d *tb) {
			p := d.add("doc", TypeBullet)
			d.add(p, TypeBullet, runs("child")...)
		}, "", "- \n  - child\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDoc(tt.title)
			tt.build(d)
			got := convert(t, d.blocks, DefaultConversion()).Markdown
			if got != tt.want {
				t.Errorf("Markdown mismatch (-want +got):\n%s", cmp.Diff(tt.want, got))
			}
		})
	}
}

func TestUnknownBlockWarns(t *testing.T) {
	d := newDoc("")
	u := d.add("doc", 4242)
	d.text(u, "child")
	r := convert(t, d.blocks, DefaultConversion())
	if r.Markdown != "child\n" {
		t.Errorf("Markdown = %q", r.Markdown)
	}
	if len(r.Warnings) != 1 || r.Warnings[0].BlockID != u || !strings.Contains(r.Warnings[0].Message, "4242") {
		t.Errorf("warnings = %v, want one naming block %s and type 4242", r.Warnings, u)
	}
}

func TestConversionOptions(t *testing.T) {
	d := newDoc("")
	d.add("doc", TypeText, styled("b", ElementStyle{Bold: true}), styled("c", ElementStyle{InlineCode: true}),
		styled("l", ElementStyle{Italic: true, Link: &Link{URL: "https%3A%2F%2Fe.com"}}))
	d.table("doc", 1, 1, func(r, c int) string { return "cell" }, nil)
	cm := d.text("doc", "commented")
	d.block(cm).CommentIDs = []string{"c1"}

	cfg := ConversionConfig{PreserveFormatting: false, HandleImages: ImagesLink, ConvertTables: false, PreserveComments: true}
	c, err := NewConverter(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.WithComments(map[string]string{"c1": "fix -- this"}).Convert(context.Background(), d.blocks)
	if err != nil {
		t.Fatal(err)
	}
	want := "b`c`[l](https://e.com)\n\n<table>\n<tr><th>cell</th></tr>\n</table>\n\ncommented\n\n<!-- comment: fix - - this -->\n"
	if r.Markdown != want {
		t.Errorf("Markdown mismatch (-want +got):\n%s", cmp.Diff(want, r.Markdown))
	}
	if _, err := NewConverter(ConversionConfig{HandleImages: "inline"}, nil); err == nil {
		t.Error("NewConverter accepted handleImages inline")
	}
}

// fakeAssets resolves images and users for online conversions.
type fakeAssets struct{ calls []string }

func (f *fakeAssets) Image(_ context.Context, token, mode string) (string, error) {
	f.calls = append(f.calls, "image:"+token+":"+mode)
	if token == "bad" {
		return "", fmt.Errorf("no such media")
	}
	return "assets/" + token + ".png", nil
}

func (f *fakeAssets) UserName(_ context.Context, id string) (string, error) {
	f.calls = append(f.calls, "user:"+id)
	return "Ada Lovelace", nil
}

func TestImagesAndUsers(t *testing.T) {
	d := newDoc("")
	d.add("doc", TypeText, TextElement{MentionUser: &MentionUser{UserID: "ou_1"}})
	for _, tok := range []string{"tok", "bad"} {
		img := d.add("doc", TypeImage)
		d.block(img).Image = &Image{Token: tok}
	}
	for _, mode := range []string{ImagesLink, ImagesDownload} {
		t.Run(mode, func(t *testing.T) {
			assets := &fakeAssets{}
			cfg := DefaultConversion()
			cfg.HandleImages = mode
			c, _ := NewConverter(cfg, assets)
			r, err := c.Convert(context.Background(), d.blocks)
			if err != nil {
				t.Fatal(err)
			}
			want := "@ou\\_1\n\n![](tok)\n\n![](bad)\n"
			wantCalls := 0
			if mode == ImagesDownload {
				want = "@Ada Lovelace\n\n![](assets/tok.png)\n\n![](bad)\n"
				wantCalls = 3
			}
			if r.Markdown != want {
				t.Errorf("Markdown mismatch (-want +got):\n%s", cmp.Diff(want, r.Markdown))
			}
			if len(assets.calls) != wantCalls {
				t.Errorf("asset calls = %v, want %d", assets.calls, wantCalls)
			}
			if mode == ImagesDownload && len(r.Warnings) != 1 {
				t.Errorf("warnings = %v, want one for the bad image", r.Warnings)
			}
			if diff := cmp.Diff([]string{"tok", "bad"}, r.Images); diff != "" {
				t.Errorf("Images (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedTrees(t *testing.T) {
	t.Run("cycle and missing child", func(t *testing.T) {
		blocks := []Block{
			{BlockID: "doc", BlockType: TypePage, Children: []string{"a", "missing"}},
			{BlockID: "a", ParentID: "doc", BlockType: TypeBullet, Children: []string{"a", "doc"}, Text: &Text{Elements: runs("a")}},
		}
		r := convert(t, blocks, DefaultConversion())
		if r.Markdown != "- a\n" || len(r.Warnings) != 3 {
			t.Errorf("Markdown = %q, warnings = %v", r.Markdown, r.Warnings)
		}
	})
	t.Run("depth bound", func(t *testing.T) {
		d := newDoc("")
		p := "doc"
		for i := 0; i < 200; i++ {
			p = d.add(p, TypeBullet, runs("x")...)
		}
		r := convert(t, d.blocks, DefaultConversion())
		if n := strings.Count(r.Markdown, "- x"); n != DefaultMaxDepth {
			t.Errorf("rendered %d levels, want %d", n, DefaultMaxDepth)
		}
		if len(r.Warnings) != 1 {
			t.Errorf("warnings = %v", r.Warnings)
		}
	})
	t.Run("block bound", func(t *testing.T) {
		c, _ := NewConverter(DefaultConversion(), nil)
		c.MaxBlocks = 2
		d := newDoc("")
		d.text("doc", "a")
		d.text("doc", "b")
		if _, err := c.Convert(context.Background(), d.blocks); err == nil {
			t.Error("Convert accepted 3 blocks with MaxBlocks 2")
		}
	})
	t.Run("no page block", func(t *testing.T) {
		c, _ := NewConverter(DefaultConversion(), nil)
		if _, err := c.Convert(context.Background(), []Block{{BlockID: "x", BlockType: TypeText}}); err == nil {
			t.Error("Convert accepted a list without a page block")
		}
	})
}

func loadDump(t testing.TB, path string) Dump {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d Dump
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// publicFixtures is the repository's copy of the shared public samples.
const publicFixtures = "../integration/feishu/feishufake/testdata/public"

// TestPublicSamples converts the public samples and compares with golden
// files written by the rules of CONVENTIONS.md (reviewed by hand; -update
// rewrites them). feishu2md's own expected Markdown follows other
// conventions; where the two agree block by block is checked semantically
// in TestPublicSamplesAgainstFeishu2md.
func TestPublicSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(publicFixtures, "*.json"))
	if len(files) == 0 {
		files, _ = filepath.Glob("testdata/public/*.json")
	}
	if len(files) < 3 {
		t.Fatalf("found %d public samples", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			d := loadDump(t, f)
			r := convert(t, d.Blocks, DefaultConversion())
			golden := filepath.Join("testdata", "golden", name+".md")
			if *update {
				_ = os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(r.Markdown), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if strict(r.Markdown) != strict(string(want)) {
				t.Errorf("strict mismatch (-want +got):\n%s", cmp.Diff(string(want), r.Markdown))
			}
			if r.Title != d.Document.Title {
				t.Errorf("Title = %q, want %q", r.Title, d.Document.Title)
			}
			if len(r.Warnings) != 0 {
				t.Errorf("warnings: %v", r.Warnings)
			}
		})
	}
}

// TestPublicSamplesAgainstFeishu2md renders our Markdown and feishu2md's
// expected Markdown to HTML and compares them, allowing only the
// differences SOURCES.md and CONVENTIONS.md explain (listed per sample).
func TestPublicSamplesAgainstFeishu2md(t *testing.T) {
	// Known, intended differences, counted by rendered block: text edited
	// after the dump and mention_doc inside code (sample 1), feishu2md's
	// ``` fence around content holding ``` (which swallows the blocks after
	// it) and $$ for inline equations (sample 2), a loose nested list where
	// CONVENTIONS.md asks for a tight one (sample 3).
	allowed := map[string]int{"feishu2md-testdocx.1": 3, "feishu2md-testdocx.2": 14, "feishu2md-testdocx.3": 2}
	for name, maxDiff := range allowed {
		t.Run(name, func(t *testing.T) {
			jsonPath := filepath.Join(publicFixtures, name+".json")
			if _, err := os.Stat(jsonPath); err != nil {
				t.Fatalf("public samples missing: %v", err)
			}
			d := loadDump(t, jsonPath)
			r := convert(t, d.Blocks, DefaultConversion())
			theirs, err := os.ReadFile(filepath.Join(publicFixtures, name+".md"))
			if err != nil {
				t.Fatal(err)
			}
			ours := splitHTMLBlocks(renderHTML(t, r.Markdown))
			exp := splitHTMLBlocks(renderHTML(t, string(theirs)))
			diffs := 0
			for _, l := range strings.Split(cmp.Diff(exp, ours), "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "+") {
					diffs++
				}
			}
			if diffs > maxDiff {
				t.Errorf("%d rendered blocks differ from feishu2md's, want at most %d:\n%s", diffs, maxDiff, cmp.Diff(exp, ours))
			}
		})
	}
}

// splitHTMLBlocks splits normalised HTML at top-level block boundaries.
func splitHTMLBlocks(s string) []string {
	re := regexp.MustCompile(`</(p|h[1-6]|ul|ol|pre|blockquote|table)>|<hr>`)
	var out []string
	last := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		out = append(out, s[last:m[1]])
		last = m[1]
	}
	if last < len(s) {
		out = append(out, s[last:])
	}
	return out
}

// TestRenderedMarkdownIsSemanticallyStable checks the semantic comparison
// the acceptance uses sees our output the way we mean it: a few rules
// rendered to HTML.
func TestRenderedMarkdownIsSemanticallyStable(t *testing.T) {
	tests := []struct{ md, html string }{
		{"**a** b\n", "<p><strong>a</strong> b</p>"},
		{"\\# x \\*y\\*\n", "<p># x *y*</p>"},
		{"[<u>~~***x***~~</u>](https://e.com)\n", `<p><a href="https://e.com"><u><del><em><strong>x</strong></em></del></u></a></p>`},
		{"1. a\n   1. b\n2. c\n", "<ol><li>a <ol><li>b</li></ol></li><li>c</li></ol>"},
	}
	for _, tt := range tests {
		if got := renderHTML(t, tt.md); got != tt.html {
			t.Errorf("%q renders %q, want %q", tt.md, got, tt.html)
		}
	}
}

func TestOrderedItemWithParagraphChildren(t *testing.T) {
	d := newDoc("")
	o := d.add("doc", TypeOrdered, runs("item")...)
	d.text(o, "p1")
	d.text(o, "p2")
	got := convert(t, d.blocks, DefaultConversion()).Markdown
	if want := "1. item\n   p1\n\n   p2\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
