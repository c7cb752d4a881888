package web

import (
	"context"
	"net/http"
	"strings"

	"greenroom/internal/access"
)

// RouteDecider says what the permission layer would decide for a request
// of the viewer (api.Authorize.Decide): pages ask it before offering a
// control, so that what the viewer cannot do is disabled with the reason
// rather than a dead end at a 403 page.
type RouteDecider interface {
	Decide(ctx context.Context, method, target string) access.Decision
}

// SetPermissions sets the permission layer pages ask; without one every
// control is enabled (the routes still decide).
func (h *Handler) SetPermissions(d RouteDecider) { h.perms = d }

// control is whether the viewer may use one form or button, and if not
// why; ID names the visible reason for aria-describedby.
type control struct {
	Allowed bool
	// NeedsApproval: using it sends a request for approval.
	NeedsApproval bool
	Reason        string
	ID            string
	What          string // what it does, for "You cannot …"
}

// can is the one helper pages use: may the viewer of r send method to
// target? id names the reason's element, what says what the control does
// ("register components").
func (h *Handler) can(r *http.Request, method, target, id, what string) control {
	if h.perms == nil {
		return control{Allowed: true, ID: id, What: what}
	}
	return fromDecision(h.perms.Decide(r.Context(), method, target), id, what)
}

// fromDecision is a control from a permission decision.
func fromDecision(d access.Decision, id, what string) control {
	c := control{Allowed: d.Allowed || d.NeedsApproval, NeedsApproval: d.NeedsApproval && !d.Allowed, Reason: d.Reason, ID: id, What: what}
	if !c.Allowed && c.Reason == "" {
		c.Reason = "no policy allows it"
	}
	c.Reason = strings.TrimSuffix(c.Reason, ".")
	return c
}
