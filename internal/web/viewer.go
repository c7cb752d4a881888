package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"greenroom/internal/access"
	"greenroom/internal/access/authn"
	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// IdentifyFunc returns the entity ref of the signed-in user of r
// ("user:default/jdoe"), ok false for an anonymous visitor. Sign-in is not
// built yet: until the composition root sets one, everyone is anonymous,
// and the pages say what "owned by me" will show once it is.
type IdentifyFunc func(r *http.Request) (userRef string, ok bool)

// SetIdentify sets how pages learn who is signed in. Call it before
// serving.
func (h *Handler) SetIdentify(fn IdentifyFunc) { h.identify = fn }

// viewer is who is looking at a page.
type viewer struct {
	UserRef string   // "" when anonymous
	Starred []string // refs of starred entities, from the cookie
	// Guest is set for the guest of local mode or a guest session: the
	// layout shows the guest banner.
	Guest bool
	// Session is set when a sign-in session backs the page, which can
	// then be signed out of.
	Session bool
	// SignIn is set when sign-in is configured (AuthPages), so the header
	// offers the sign-in link to anonymous visitors.
	SignIn bool
}

// SignedIn reports whether the viewer is known.
func (v viewer) SignedIn() bool { return v.UserRef != "" }

// Name is the viewer's short name for the header.
func (v viewer) Name() string { return humanRef(v.UserRef, "user") }

// IsStarred reports whether the viewer starred ref.
func (v viewer) IsStarred(ref string) bool { return slices.Contains(v.Starred, ref) }

func (h *Handler) viewer(r *http.Request) viewer {
	v := viewer{Starred: starredRefs(r)}
	if p := access.FromContext(r.Context()); p != nil {
		v.Guest = p.Kind == access.KindGuest
	}
	if c, err := r.Cookie(authn.SessionCookie); err == nil && c.Value != "" {
		v.Session = true
	}
	v.SignIn = h.identify != nil
	if h.identify != nil {
		if ref, ok := h.identify(r); ok {
			if er, err := entity.ParseRefInContext(ref, "user", ""); err == nil {
				v.UserRef = er.String()
			}
		}
	}
	return v
}

// maxOwnershipRefs bounds the groups whose ownership counts as a user's.
const maxOwnershipRefs = 100

// ownershipRefs returns the refs whose ownership counts as the viewer's,
// as Backstage's ownershipEntityRefs: the user and every group the user
// entity is a member of. An anonymous viewer owns nothing.
func (h *Handler) ownershipRefs(ctx context.Context, v viewer) ([]string, error) {
	if !v.SignedIn() {
		return nil, nil
	}
	out := []string{v.UserRef}
	r, err := entity.ParseRefInContext(v.UserRef, "user", "")
	if err != nil {
		return out, nil
	}
	raw, err := h.catalog.EntityByName(ctx, r)
	if greenroom.IsNotFound(err) {
		return out, nil // signed in, but no User entity: owns what names them
	}
	if err != nil {
		return nil, err
	}
	e, err := parseEntity(raw)
	if err != nil {
		return nil, err
	}
	for _, g := range e.RelationTargets(entity.RelationMemberOf) {
		if len(out) > maxOwnershipRefs {
			break
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Starred entities are kept in a cookie, so the list works without
// JavaScript and without sign-in (Backstage keeps them in per-user
// settings; they move there once sign-in exists). The cookie holds
// lowercased refs joined by "|", at most maxStarred of them.
const (
	starredCookie = "greenroom_starred"
	maxStarred    = 40
)

// starredRefs reads the starred cookie, dropping anything malformed.
func starredRefs(r *http.Request) []string {
	c, err := r.Cookie(starredCookie)
	if err != nil || len(c.Value) > 4000 {
		return nil
	}
	var out []string
	for s := range strings.SplitSeq(c.Value, "|") {
		ref, err := entity.ParseRefInContext(s, "", "")
		if err != nil || ref.Kind == "" {
			continue
		}
		if s := ref.String(); !slices.Contains(out, s) && len(out) < maxStarred {
			out = append(out, s)
		}
	}
	return out
}

func setStarred(w http.ResponseWriter, r *http.Request, refs []string) {
	http.SetCookie(w, &http.Cookie{
		Name: starredCookie, Value: strings.Join(refs, "|"), Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: 60 * 60 * 24 * 365,
	})
}
