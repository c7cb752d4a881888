package authn

import (
	"context"
	"log/slog"

	"greenroom/internal/access"
)

// The audit actions of sign-in.
const (
	ActionSignIn        = "auth.signin"
	ActionSignOut       = "auth.signout"
	ActionSignOutAll    = "auth.signout.everywhere"
	ActionRefresh       = "auth.refresh"
	ActionTokenUse      = "auth.token.use"
	ActionTokenCreate   = "auth.token.create"
	ActionTokenRevoke   = "auth.token.revoke"
	ActionCSRF          = "auth.csrf"
	ActionRedirect      = "auth.redirect"
	ActionRateLimited   = "auth.ratelimit"
	ActionSessionReject = "auth.session"
)

// logAuditor writes audit events to the log when no audit store is wired.
type logAuditor struct{ logger *slog.Logger }

func (a logAuditor) Audit(ctx context.Context, ev access.AuditEvent) error {
	a.logger.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("action", ev.Action), slog.String("actor", ev.Actor), slog.String("actor_kind", string(ev.ActorKind)),
		slog.String("resource", ev.Resource), slog.String("decision", ev.Decision), slog.String("reason", ev.Reason),
		slog.String("request_id", ev.RequestID), slog.String("source", ev.Source))
	return nil
}
