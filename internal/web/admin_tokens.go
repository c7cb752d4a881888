package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/greenroom"
)

// AdminTokens is what the token administration page needs of sign-in:
// every token, and revoking anyone's (both refused to non-administrators
// by sign-in itself, beside the route rule).
type AdminTokens interface {
	AllTokens(ctx context.Context) ([]authn.Token, error)
	RevokeToken(ctx context.Context, p *access.Principal, id string) (authn.Token, error)
	AuditToken(r *http.Request, p *access.Principal, action string, t authn.Token)
}

// SetTokens gives the admin pages the token administration; without it
// /admin/tokens says sign-in tokens are not available.
func (a *AdminPages) SetTokens(t AdminTokens) { a.tokens = t }

type adminTokensView struct {
	Rows      []tokenRow
	Available bool
	Done      string
	// Confirm is the token a revoke asks to confirm.
	Confirm *tokenRow
}

func tokenRows(ts []authn.Token, now time.Time) []tokenRow {
	rows := make([]tokenRow, 0, len(ts))
	for _, t := range ts {
		row := tokenRow{Token: t, State: "active"}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !now.Before(t.ExpiresAt):
			row.State = "expired"
		}
		rows = append(rows, row)
	}
	return rows
}

// tokensPage is GET /admin/tokens: every token with its owner, scopes,
// dates and last use, and a revoke button per live one.
func (a *AdminPages) tokensPage(w http.ResponseWriter, r *http.Request) error {
	v := adminTokensView{Available: a.tokens != nil, Done: r.URL.Query().Get("done")}
	if a.tokens != nil {
		ts, err := a.tokens.AllTokens(r.Context())
		if err != nil {
			return err
		}
		v.Rows = tokenRows(ts, time.Now())
	}
	return a.h.render(w, r, http.StatusOK, "admin_tokens", &page{Title: "Tokens", Nav: "admin", Data: v})
}

// revokeToken is POST /admin/tokens/{id}/revoke: without confirm=yes it
// shows what would be revoked and asks to confirm; with it, it revokes.
func (a *AdminPages) revokeToken(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read.")
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	if a.tokens == nil {
		return greenroom.Errorf(greenroom.CodeNotFound, "Sign-in tokens are not available on this portal.")
	}
	id := r.PathValue("id")
	p := access.FromContext(r.Context())
	if r.PostFormValue("confirm") != "yes" {
		ts, err := a.tokens.AllTokens(r.Context())
		if err != nil {
			return err
		}
		for _, row := range tokenRows(ts, time.Now()) {
			if row.ID == id {
				return a.h.render(w, r, http.StatusOK, "admin_tokens", &page{Title: "Revoke token", Nav: "admin",
					Data: adminTokensView{Available: true, Confirm: &row}})
			}
		}
		return greenroom.Errorf(greenroom.CodeNotFound, "no token %q", id)
	}
	t, err := a.tokens.RevokeToken(r.Context(), p, id)
	if err != nil {
		return err
	}
	a.tokens.AuditToken(r, p, authn.ActionTokenRevoke, t)
	http.Redirect(w, r, "/admin/tokens?done="+url.QueryEscape("Token “"+t.Name+"” of "+t.Subject+" revoked."), http.StatusSeeOther)
	return nil
}
