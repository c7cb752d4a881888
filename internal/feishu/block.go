package feishu

import (
	"encoding/json"
	"fmt"
)

// BlockType is the docx v1 block_type enum (FORMAT.md §2).
type BlockType int

// The block types the converter renders; every other number is dropped with
// a warning, its children kept.
const (
	TypePage           BlockType = 1
	TypeText           BlockType = 2
	TypeHeading1       BlockType = 3
	TypeHeading9       BlockType = 11
	TypeBullet         BlockType = 12
	TypeOrdered        BlockType = 13
	TypeCode           BlockType = 14
	TypeQuote          BlockType = 15
	TypeEquation       BlockType = 16
	TypeTodo           BlockType = 17
	TypeBitable        BlockType = 18
	TypeCallout        BlockType = 19
	TypeChatCard       BlockType = 20
	TypeDiagram        BlockType = 21
	TypeDivider        BlockType = 22
	TypeFile           BlockType = 23
	TypeGrid           BlockType = 24
	TypeGridColumn     BlockType = 25
	TypeIframe         BlockType = 26
	TypeImage          BlockType = 27
	TypeISV            BlockType = 28
	TypeMindnote       BlockType = 29
	TypeSheet          BlockType = 30
	TypeTable          BlockType = 31
	TypeTableCell      BlockType = 32
	TypeView           BlockType = 33
	TypeQuoteContainer BlockType = 34
	TypeBoard          BlockType = 43
	TypeUndefined      BlockType = 999
)

// Block is one block of a docx document as the blocks API returns it. Only
// the payload matching BlockType is read: real dumps carry spurious empty
// payloads of other types.
type Block struct {
	BlockID    string    `json:"block_id"`
	ParentID   string    `json:"parent_id"`
	BlockType  BlockType `json:"block_type"`
	Children   []string  `json:"children,omitempty"`
	CommentIDs []string  `json:"comment_ids,omitempty"`

	// Text is the payload of the text-like types (page, text, heading1–9,
	// bullet, ordered, code, quote, equation, todo), whatever its key.
	Text *Text `json:"-"`

	Image *Image `json:"image,omitempty"`
	Table *Table `json:"table,omitempty"`

	// Raw keeps every other key of the block, so a block survives a
	// decode/encode round trip (the fake server serves what it was given).
	Raw map[string]json.RawMessage `json:"-"`
}

// textKeys maps text-like block types to their payload key.
var textKeys = map[BlockType]string{
	1: "page", 2: "text", 3: "heading1", 4: "heading2", 5: "heading3", 6: "heading4", 7: "heading5",
	8: "heading6", 9: "heading7", 10: "heading8", 11: "heading9", 12: "bullet", 13: "ordered",
	14: "code", 15: "quote", 16: "equation", 17: "todo",
}

// UnmarshalJSON decodes a block, reading the text payload under the key its
// type names.
func (b *Block) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	type plain Block
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*b = Block(p)
	b.Raw = raw
	if key, ok := textKeys[b.BlockType]; ok {
		if v, ok := raw[key]; ok && string(v) != "null" {
			var t Text
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("block %s: %s: %w", b.BlockID, key, err)
			}
			b.Text = &t
		}
	}
	if b.BlockType != TypeImage {
		b.Image = nil
	}
	if b.BlockType != TypeTable {
		b.Table = nil
	}
	return nil
}

// MarshalJSON encodes the block with its original keys.
func (b Block) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	for k, v := range b.Raw {
		out[k] = v
	}
	out["block_id"] = b.BlockID
	out["parent_id"] = b.ParentID
	out["block_type"] = b.BlockType
	if len(b.Children) > 0 {
		out["children"] = b.Children
	}
	if len(b.CommentIDs) > 0 {
		out["comment_ids"] = b.CommentIDs
	}
	if key, ok := textKeys[b.BlockType]; ok && b.Text != nil {
		out[key] = b.Text
	}
	if b.Image != nil {
		out["image"] = b.Image
	}
	if b.Table != nil {
		out["table"] = b.Table
	}
	return json.Marshal(out)
}

// Text is the payload of text-like blocks.
type Text struct {
	Style    TextStyle     `json:"style"`
	Elements []TextElement `json:"elements"`
}

// TextStyle is a text block's style; only the fields Markdown can express
// are read.
type TextStyle struct {
	Done     bool `json:"done,omitempty"`
	Language int  `json:"language,omitempty"`
}

// TextElement is one inline element; exactly one field is set.
type TextElement struct {
	TextRun     *TextRun     `json:"text_run,omitempty"`
	MentionUser *MentionUser `json:"mention_user,omitempty"`
	MentionDoc  *MentionDoc  `json:"mention_doc,omitempty"`
	Equation    *TextRun     `json:"equation,omitempty"`
	// Reminder, File, InlineBlock and Undefined are dropped when rendering.
	Reminder    json.RawMessage `json:"reminder,omitempty"`
	File        json.RawMessage `json:"file,omitempty"`
	InlineBlock json.RawMessage `json:"inline_block,omitempty"`
}

// TextRun is a run of text with one style.
type TextRun struct {
	Content string       `json:"content"`
	Style   ElementStyle `json:"text_element_style"`
}

// MentionUser mentions a user by open_id.
type MentionUser struct {
	UserID string       `json:"user_id"`
	Style  ElementStyle `json:"text_element_style"`
}

// MentionDoc links another Feishu document; URL is percent-encoded.
type MentionDoc struct {
	Token   string       `json:"token"`
	ObjType int          `json:"obj_type"`
	URL     string       `json:"url"`
	Title   string       `json:"title"`
	Style   ElementStyle `json:"text_element_style"`
}

// ElementStyle is an inline element's style.
type ElementStyle struct {
	Bold          bool     `json:"bold,omitempty"`
	Italic        bool     `json:"italic,omitempty"`
	Strikethrough bool     `json:"strikethrough,omitempty"`
	Underline     bool     `json:"underline,omitempty"`
	InlineCode    bool     `json:"inline_code,omitempty"`
	Link          *Link    `json:"link,omitempty"`
	CommentIDs    []string `json:"comment_ids,omitempty"`
}

// Link is an inline link; URL is percent-encoded once by the API.
type Link struct {
	URL string `json:"url"`
}

// Image is an image block's payload; Token names the media to download.
type Image struct {
	Token  string `json:"token"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

// Table is a table block's payload: Cells are table_cell block ids,
// row-major.
type Table struct {
	Cells    []string      `json:"cells"`
	Property TableProperty `json:"property"`
}

// TableProperty describes a table's shape.
type TableProperty struct {
	RowSize    int         `json:"row_size"`
	ColumnSize int         `json:"column_size"`
	HeaderRow  bool        `json:"header_row,omitempty"`
	MergeInfo  []MergeInfo `json:"merge_info,omitempty"`
}

// MergeInfo is one cell's span; covered cells have spans of 1.
type MergeInfo struct {
	RowSpan int `json:"row_span"`
	ColSpan int `json:"col_span"`
}

// Document is a docx document's metadata (GET docx/v1/documents/:id).
type Document struct {
	DocumentID string `json:"document_id"`
	RevisionID int64  `json:"revision_id"`
	Title      string `json:"title"`
}

// Dump is a document and all its blocks, the shape of the public fixtures
// ({"document": …, "blocks": […]}).
type Dump struct {
	Document Document `json:"document"`
	Blocks   []Block  `json:"blocks"`
}
