package feishu

import (
	"strconv"
	"strings"
)

// maxTableCells bounds one table (Feishu allows far fewer).
const maxTableCells = 10_000

// table renders a table block: a GFM pipe table, or an HTML table when a
// cell is merged (or ConvertTables is off).
func (r *renderer) table(b *Block, depth int) string {
	if b.Table == nil {
		r.warn(b.BlockID, "table without a table payload dropped")
		return ""
	}
	cols := b.Table.Property.ColumnSize
	cells := b.Table.Cells
	if len(cells) > maxTableCells {
		r.warn(b.BlockID, "table of %d cells truncated to %d", len(cells), maxTableCells)
		cells = cells[:maxTableCells]
	}
	if cols <= 0 || cols > len(cells) {
		if len(cells) == 0 {
			return ""
		}
		r.warn(b.BlockID, "table column_size %d does not fit its %d cells; one column per row assumed", cols, len(cells))
		cols = 1
	}
	rows := (len(cells) + cols - 1) / cols
	merged := false
	for _, m := range b.Table.Property.MergeInfo {
		if m.RowSpan > 1 || m.ColSpan > 1 {
			merged = true
			break
		}
	}
	// The table's cells are its children; mark them seen so that they are
	// rendered once, here.
	cellBlock := func(i int) *Block {
		if i >= len(cells) {
			return nil
		}
		c, ok := r.byID[cells[i]]
		if !ok {
			r.warn(b.BlockID, "cell %s is missing from the block list", cells[i])
			return nil
		}
		r.seen[c.BlockID] = true
		return c
	}
	if merged || !r.c.cfg.ConvertTables {
		return r.htmlTable(b, rows, cols, cellBlock, depth)
	}
	var out strings.Builder
	for row := 0; row < rows; row++ {
		out.WriteString("|")
		for col := 0; col < cols; col++ {
			text := r.cellText(cellBlock(row*cols+col), depth, inlineMD)
			out.WriteString(" " + strings.ReplaceAll(text, "|", `\|`) + " |")
		}
		if row == 0 {
			out.WriteString("\n|" + strings.Repeat(" --- |", cols))
		}
		if row < rows-1 {
			out.WriteString("\n")
		}
	}
	return out.String()
}

func (r *renderer) htmlTable(b *Block, rows, cols int, cellBlock func(int) *Block, depth int) string {
	merge := b.Table.Property.MergeInfo
	covered := make([]bool, rows*cols)
	var out strings.Builder
	out.WriteString("<table>\n")
	for row := 0; row < rows; row++ {
		out.WriteString("<tr>")
		for col := 0; col < cols; col++ {
			i := row*cols + col
			c := cellBlock(i)
			if covered[i] {
				continue
			}
			rs, cs := 1, 1
			if i < len(merge) {
				rs, cs = max(merge[i].RowSpan, 1), max(merge[i].ColSpan, 1)
			}
			for dr := 0; dr < rs && row+dr < rows; dr++ {
				for dc := 0; dc < cs && col+dc < cols; dc++ {
					if dr != 0 || dc != 0 {
						covered[(row+dr)*cols+col+dc] = true
					}
				}
			}
			tag := "td"
			if row == 0 {
				tag = "th"
			}
			out.WriteString("<" + tag)
			if rs > 1 {
				out.WriteString(` rowspan="` + strconv.Itoa(rs) + `"`)
			}
			if cs > 1 {
				out.WriteString(` colspan="` + strconv.Itoa(cs) + `"`)
			}
			out.WriteString(">" + r.cellText(c, depth, inlineHTML) + "</" + tag + ">")
		}
		out.WriteString("</tr>\n")
	}
	out.WriteString("</table>")
	return out.String()
}

// cellText is a cell's content as one line: its text blocks' inline
// content joined by <br>.
func (r *renderer) cellText(cell *Block, depth int, mode inlineMode) string {
	if cell == nil {
		return ""
	}
	var texts []string
	var walk func(b *Block, depth int)
	walk = func(b *Block, depth int) {
		for _, k := range r.kids(b, depth) {
			switch {
			case k.BlockType == TypeImage:
				if s := r.image(k); s != "" {
					if mode == inlineHTML {
						s = `<img src="` + strings.TrimSuffix(strings.TrimPrefix(s, "![]("), ")") + `" alt="">`
					}
					texts = append(texts, s)
				}
			case k.Text != nil && k.BlockType != TypeCode:
				// Every child text block counts, empty ones too: "a", ""
				// is "a<br>", as CONVENTIONS.md joins them.
				s := r.inline(k.BlockID, k.Text.Elements, mode)
				texts = append(texts, strings.TrimSpace(strings.ReplaceAll(s, "\\\n", "<br>")))
			case k.BlockType == TypeCode && k.Text != nil:
				var sb strings.Builder
				for _, e := range k.Text.Elements {
					if e.TextRun != nil {
						sb.WriteString(e.TextRun.Content)
					}
				}
				if c := strings.TrimSpace(sb.String()); c != "" {
					if mode == inlineHTML {
						texts = append(texts, "<code>"+strings.ReplaceAll(htmlText(c), "\n", "<br>")+"</code>")
					} else {
						texts = append(texts, strings.ReplaceAll(codeSpan(c), "\n", " "))
					}
				}
			case k.BlockType == TypeTable:
				r.warn(k.BlockID, "table inside a table cell dropped")
			}
			walk(k, depth+1)
		}
	}
	walk(cell, depth+1)
	return strings.Join(texts, "<br>")
}
