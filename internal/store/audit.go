package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

var _ access.AuditLog = (*Store)(nil)

// Bounds of one audit event's text, so that a hostile request cannot make
// the log grow by megabytes per entry.
const (
	maxAuditField   = 2048
	maxAuditDetails = 32
)

func clip(s string) string {
	if len(s) <= maxAuditField {
		return s
	}
	return s[:maxAuditField]
}

// Audit appends one event. Rows are never updated (a trigger refuses it).
func (s *Store) Audit(ctx context.Context, ev access.AuditEvent) error {
	if ev.Action == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "audit event without an action")
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	details := map[string]string{}
	for k, v := range ev.Details {
		if len(details) == maxAuditDetails {
			break
		}
		details[clip(k)] = clip(v)
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("store: audit details: %w", err)
	}
	_, err = s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO audit_events
		(at, actor, actor_kind, contractor, action, resource, decision, reason, request_id, source, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		s.d.timeArg(ev.Time), clip(ev.Actor), string(ev.ActorKind), ev.Contractor, clip(ev.Action), clip(ev.Resource),
		ev.Decision, clip(ev.Reason), clip(ev.RequestID), clip(ev.Source), string(b))
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// QueryAudit returns the events f selects, newest first.
func (s *Store) QueryAudit(ctx context.Context, f access.AuditFilter) ([]access.AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) { where = append(where, cond); args = append(args, arg) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if a := f.Action; a != "" {
		if strings.HasSuffix(a, "*") || strings.HasSuffix(a, ".") {
			p := strings.TrimSuffix(a, "*")
			add("substr(action, 1, ?) = ?", len(p))
			args = append(args, p)
		} else {
			add("action = ?", a)
		}
	}
	if f.Resource != "" {
		add("resource = ?", f.Resource)
	}
	switch f.Decision {
	case "":
	case "none":
		add("decision = ?", "")
	default:
		add("decision = ?", f.Decision)
	}
	if !f.Since.IsZero() {
		add("at >= ?", s.d.timeArg(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", s.d.timeArg(f.Until))
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = access.DefaultAuditLimit
	}
	limit = min(limit, access.MaxAuditLimit)
	q := "SELECT id, at, actor, actor_kind, contractor, action, resource, decision, reason, request_id, source, details FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.queryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: query audit: %w", err)
	}
	defer rows.Close()
	var out []access.AuditRecord
	for rows.Next() {
		var (
			r       access.AuditRecord
			kind    string
			details string
			con     any
		)
		if err := rows.Scan(&r.ID, timeCol{&r.Time}, &r.Actor, &kind, &con, &r.Action, &r.Resource, &r.Decision, &r.Reason,
			&r.RequestID, &r.Source, &details); err != nil {
			return nil, fmt.Errorf("store: query audit: %w", err)
		}
		r.ActorKind = access.Kind(kind)
		r.Contractor = truthyCol(con)
		if err := json.Unmarshal([]byte(details), &r.Details); err != nil {
			return nil, fmt.Errorf("store: audit event %d details: %w", r.ID, err)
		}
		if len(r.Details) == 0 {
			r.Details = nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: query audit: %w", err)
	}
	return out, nil
}

// truthyCol reads a boolean column: BOOLEAN on PostgreSQL, an integer on
// SQLite.
func truthyCol(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	return false
}

// DeleteAuditBefore deletes the events older than before (only
// contractors' when contractorsOnly): the retention job.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, contractorsOnly bool) (int64, error) {
	q := "DELETE FROM audit_events WHERE at < ?"
	args := []any{s.d.timeArg(before)}
	if contractorsOnly {
		q += " AND contractor = ?"
		args = append(args, true)
	}
	res, err := s.write.ExecContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("store: audit retention: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: audit retention: %w", err)
	}
	return n, nil
}
