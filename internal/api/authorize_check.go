package api

import (
	"context"
	"net/http"

	"greenroom/internal/access"
)

// checker decides without auditing (access.Authorizer.Check).
type checker interface {
	Check(ctx context.Context, action string, res access.Resource) access.Decision
}

// Decide answers what the middleware would decide for a request by the
// principal of ctx to method target, without auditing or acting: the
// portal asks it to disable the controls the viewer cannot use, with the
// reason, instead of letting them reach a 403. The route's own rule and
// resource are used, so a page and its form's route never disagree.
// Public and self-checked routes, and requests without a principal, are
// allowed here (their handlers decide).
func (a *Authorize) Decide(ctx context.Context, method, target string) access.Decision {
	if access.FromContext(ctx) == nil {
		return access.Decision{Allowed: true, Reason: "authentication is off"}
	}
	r, err := http.NewRequestWithContext(ctx, method, target, http.NoBody)
	if err != nil {
		return access.Decision{Reason: "the action's address is malformed"}
	}
	_, pattern := a.Mux.Handler(r)
	rule, ok := RouteRuleFor(pattern)
	if pattern == "" || !ok || rule.Public || rule.SelfChecked {
		return access.Decision{Allowed: true}
	}
	res := access.Resource{Type: rule.Type}
	if rule.Resource != nil {
		setPathValues(r, pattern)
		res = rule.Resource(ctx, r, a.Lookup)
	}
	if res.Type == "route" || res.Type == "" {
		res = access.Resource{Type: "route", Ref: pattern}
	}
	c, ok := a.Authz.(checker)
	if !ok {
		// Only Authorize is available, which audits: deciding for display
		// must not write audit records, so leave the route to decide.
		return access.Decision{Allowed: true}
	}
	return c.Check(ctx, rule.Action, res)
}
