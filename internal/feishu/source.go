package feishu

import (
	"context"
	"time"
)

// Source reads Feishu: the Open API client implements it. Errors carry a
// greenroom code: CodeForbidden when the app may not read the object,
// CodeNotFound when it does not exist, CodeUnavailable when Feishu cannot
// be reached or keeps rate-limiting after retries.
type Source interface {
	// ListFolder returns every item of a Drive folder (all pages), one
	// level deep; "" is the root folder of the app.
	ListFolder(ctx context.Context, folderToken string) ([]File, error)
	// Document returns a docx document's metadata.
	Document(ctx context.Context, documentID string) (Document, error)
	// Blocks returns every block of a docx document (all pages).
	Blocks(ctx context.Context, documentID string) ([]Block, error)
	// Media downloads an image or file by media token.
	Media(ctx context.Context, token string) (Media, error)
	// UserName returns a user's display name by open_id.
	UserName(ctx context.Context, openID string) (string, error)
	// Members returns who may access a document.
	Members(ctx context.Context, token, fileType string) ([]Member, error)
}

// File is one item of a Drive folder.
type File struct {
	Token       string    `json:"token"`
	Name        string    `json:"name"`
	Type        string    `json:"type"` // docx, doc, sheet, bitable, mindnote, file, folder, shortcut…
	ParentToken string    `json:"parentToken,omitempty"`
	URL         string    `json:"url,omitempty"`
	Modified    time.Time `json:"modified,omitzero"`
	// Path is the folder path below the scanned folder ("" at its top),
	// filled in by Scan.
	Path string `json:"path,omitempty"`
	// Folders are the display names of the folders on Path, for the nav.
	Folders []string `json:"folders,omitempty"`
}

// Media is a downloaded media file.
type Media struct {
	Data        []byte
	ContentType string
	FileName    string
}

// Member is one collaborator of a document.
type Member struct {
	MemberType string `json:"memberType"` // openid, userid, email, openchat, opendepartmentid, …
	MemberID   string `json:"memberId"`
	Perm       string `json:"perm"` // view, edit, full_access
	Name       string `json:"name,omitempty"`
}

// CommentSource is a Source that can read a document's comments; it is
// asked only when a conversion preserves comments.
type CommentSource interface {
	// Comments returns the text of each comment (its replies joined) by
	// comment id.
	Comments(ctx context.Context, token, fileType string) (map[string]string, error)
}
