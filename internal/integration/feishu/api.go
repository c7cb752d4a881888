package feishu

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
)

var _ feishu.Source = (*Client)(nil)

// pages follows has_more/page_token until Feishu says there is no more,
// never by counting items; fetch returns a page's has_more and next token.
func (c *Client) pages(op string, fetch func(token string) (bool, string, error)) error {
	token := ""
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n >= c.opts.MaxPages {
			return &greenroom.Error{Code: greenroom.CodeTooLarge, Message: fmt.Sprintf("Feishu %s: more than %d pages", op, c.opts.MaxPages)}
		}
		more, next, err := fetch(token)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if next == "" || seen[next] {
			// has_more without a new token would loop forever.
			return &greenroom.Error{Code: greenroom.CodeUnavailable,
				Message: fmt.Sprintf("Feishu %s: has_more is true but page_token %q does not move on", op, next)}
		}
		seen[next] = true
		token = next
	}
}

// ListFolder lists one Drive folder (drive/v1/files).
func (c *Client) ListFolder(ctx context.Context, folderToken string) ([]feishu.File, error) {
	var out []feishu.File
	err := c.pages("drive files", func(tok string) (bool, string, error) {
		q := url.Values{"page_size": {"200"}}
		if folderToken != "" {
			q.Set("folder_token", folderToken)
		}
		if tok != "" {
			q.Set("page_token", tok)
		}
		var data struct {
			Files []struct {
				Token        string `json:"token"`
				Name         string `json:"name"`
				Type         string `json:"type"`
				ParentToken  string `json:"parent_token"`
				URL          string `json:"url"`
				ModifiedTime string `json:"modified_time"`
			} `json:"files"`
			HasMore       bool   `json:"has_more"`
			NextPageToken string `json:"next_page_token"`
			PageToken     string `json:"page_token"`
		}
		if err := c.call(ctx, request{op: "drive files", method: http.MethodGet, path: "drive/v1/files", query: q, auth: true}, &data); err != nil {
			return false, "", err
		}
		for _, f := range data.Files {
			out = append(out, feishu.File{Token: f.Token, Name: f.Name, Type: f.Type, ParentToken: f.ParentToken,
				URL: f.URL, Modified: unixSeconds(f.ModifiedTime)})
		}
		next := data.NextPageToken
		if next == "" {
			next = data.PageToken
		}
		return data.HasMore, next, nil
	})
	return out, err
}

func unixSeconds(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// Document reads a docx document's metadata (docx/v1/documents/:id).
func (c *Client) Document(ctx context.Context, id string) (feishu.Document, error) {
	var data struct {
		Document feishu.Document `json:"document"`
	}
	err := c.call(ctx, request{op: "docx document", method: http.MethodGet, path: "docx/v1/documents/" + url.PathEscape(id), auth: true}, &data)
	return data.Document, err
}

// Blocks reads every block of a docx document
// (docx/v1/documents/:id/blocks), page after page until has_more is false.
func (c *Client) Blocks(ctx context.Context, id string) ([]feishu.Block, error) {
	var out []feishu.Block
	err := c.pages("docx blocks", func(tok string) (bool, string, error) {
		q := url.Values{"page_size": {strconv.Itoa(c.opts.PageSize)}, "document_revision_id": {"-1"}, "user_id_type": {"open_id"}}
		if tok != "" {
			q.Set("page_token", tok)
		}
		var data struct {
			Items     []feishu.Block `json:"items"`
			HasMore   bool           `json:"has_more"`
			PageToken string         `json:"page_token"`
		}
		if err := c.call(ctx, request{op: "docx blocks", method: http.MethodGet,
			path: "docx/v1/documents/" + url.PathEscape(id) + "/blocks", query: q, auth: true}, &data); err != nil {
			return false, "", err
		}
		out = append(out, data.Items...)
		return data.HasMore, data.PageToken, nil
	})
	return out, err
}

// Media downloads a media file (drive/v1/medias/:token/download).
func (c *Client) Media(ctx context.Context, token string) (feishu.Media, error) {
	body, hdr, err := c.do(ctx, request{op: "media download", method: http.MethodGet,
		path: "drive/v1/medias/" + url.PathEscape(token) + "/download", auth: true})
	if err != nil {
		return feishu.Media{}, err
	}
	m := feishu.Media{Data: body, ContentType: hdr.Get("Content-Type")}
	if _, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition")); err == nil {
		m.FileName = params["filename"]
	}
	return m, nil
}

// UserName reads a user's name (contact/v3/users/:id, open_id).
func (c *Client) UserName(ctx context.Context, openID string) (string, error) {
	var data struct {
		User struct {
			Name   string `json:"name"`
			EnName string `json:"en_name"`
		} `json:"user"`
	}
	err := c.call(ctx, request{op: "contact user", method: http.MethodGet, path: "contact/v3/users/" + url.PathEscape(openID),
		query: url.Values{"user_id_type": {"open_id"}}, auth: true}, &data)
	if err != nil {
		return "", err
	}
	if data.User.Name == "" {
		return data.User.EnName, nil
	}
	return data.User.Name, nil
}

// Members lists a document's collaborators
// (drive/v1/permissions/:token/members).
func (c *Client) Members(ctx context.Context, token, fileType string) ([]feishu.Member, error) {
	var out []feishu.Member
	err := c.pages("permission members", func(tok string) (bool, string, error) {
		q := url.Values{"type": {fileType}, "fields": {"name,type"}}
		if tok != "" {
			q.Set("page_token", tok)
		}
		var data struct {
			Items []struct {
				MemberType string `json:"member_type"`
				MemberID   string `json:"member_id"`
				Perm       string `json:"perm"`
				Name       string `json:"name"`
			} `json:"items"`
			HasMore   bool   `json:"has_more"`
			PageToken string `json:"page_token"`
		}
		if err := c.call(ctx, request{op: "permission members", method: http.MethodGet,
			path: "drive/v1/permissions/" + url.PathEscape(token) + "/members", query: q, auth: true}, &data); err != nil {
			return false, "", err
		}
		for _, m := range data.Items {
			out = append(out, feishu.Member{MemberType: m.MemberType, MemberID: m.MemberID, Perm: m.Perm, Name: m.Name})
		}
		return data.HasMore, data.PageToken, nil
	})
	return out, err
}

var _ feishu.CommentSource = (*Client)(nil)

// Comments reads a document's comments (drive/v1/files/:token/comments),
// every page; a comment's text is its replies' text runs, replies joined
// by " / ".
func (c *Client) Comments(ctx context.Context, token, fileType string) (map[string]string, error) {
	out := map[string]string{}
	err := c.pages("comments", func(tok string) (bool, string, error) {
		q := url.Values{"file_type": {fileType}, "page_size": {"100"}, "user_id_type": {"open_id"}}
		if tok != "" {
			q.Set("page_token", tok)
		}
		var data struct {
			Items []struct {
				CommentID string `json:"comment_id"`
				ReplyList struct {
					Replies []struct {
						Content struct {
							Elements []struct {
								Type    string `json:"type"`
								TextRun struct {
									Text string `json:"text"`
								} `json:"text_run"`
							} `json:"elements"`
						} `json:"content"`
					} `json:"replies"`
				} `json:"reply_list"`
			} `json:"items"`
			HasMore   bool   `json:"has_more"`
			PageToken string `json:"page_token"`
		}
		if err := c.call(ctx, request{op: "comments", method: http.MethodGet,
			path: "drive/v1/files/" + url.PathEscape(token) + "/comments", query: q, auth: true}, &data); err != nil {
			return false, "", err
		}
		for _, it := range data.Items {
			var replies []string
			for _, r := range it.ReplyList.Replies {
				var b strings.Builder
				for _, e := range r.Content.Elements {
					b.WriteString(e.TextRun.Text)
				}
				if s := strings.TrimSpace(b.String()); s != "" {
					replies = append(replies, s)
				}
			}
			out[it.CommentID] = strings.Join(replies, " / ")
		}
		return data.HasMore, data.PageToken, nil
	})
	return out, err
}
