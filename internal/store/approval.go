package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

var _ access.ApprovalStore = (*Store)(nil)

const approvalColumns = "id, action, resource, owner, requester, executor, payload, reason, state, decided_by, decision, result, created_at, decided_at, finished_at"

func scanApproval(sc scanner) (access.Approval, error) {
	var a access.Approval
	var payload string
	err := sc.Scan(&a.ID, &a.Action, &a.Resource, &a.Owner, &a.Requester, &a.Executor, &payload, &a.Reason, &a.State,
		&a.DecidedBy, &a.Decision, &a.Result, timeCol{&a.CreatedAt}, timeCol{&a.DecidedAt}, timeCol{&a.FinishedAt})
	a.Payload = []byte(payload)
	return a, err
}

// CreateApproval stores a new pending request.
func (s *Store) CreateApproval(ctx context.Context, a access.Approval) error {
	if a.ID == "" || a.Action == "" || a.Executor == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "approval needs an id, an action and an executor")
	}
	payload := string(a.Payload)
	if payload == "" {
		payload = "null"
	}
	_, err := s.write.ExecContext(ctx, s.d.rebind("INSERT INTO approvals ("+approvalColumns+
		") VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', '', '', '', ?, NULL, NULL)"),
		a.ID, a.Action, a.Resource, a.Owner, a.Requester, a.Executor, payload, a.Reason, s.d.timeArg(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create approval: %w", err)
	}
	return nil
}

// Approval returns one request, code not_found for an unknown id.
func (s *Store) Approval(ctx context.Context, id string) (access.Approval, error) {
	a, err := scanApproval(s.queryRowContext(ctx, "SELECT "+approvalColumns+" FROM approvals WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return access.Approval{}, greenroom.Errorf(greenroom.CodeNotFound, "no approval request %s", id)
	}
	if err != nil {
		return access.Approval{}, fmt.Errorf("store: approval %s: %w", id, err)
	}
	return a, nil
}

// ListApprovals returns the requests in state ("" for all), oldest first.
func (s *Store) ListApprovals(ctx context.Context, state string, limit int) ([]access.Approval, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := "SELECT " + approvalColumns + " FROM approvals"
	var args []any
	if state != "" {
		q += " WHERE state = ?"
		args = append(args, state)
	}
	q += " ORDER BY created_at, id LIMIT ?"
	args = append(args, limit)
	rows, err := s.queryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list approvals: %w", err)
	}
	defer rows.Close()
	var out []access.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list approvals: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list approvals: %w", err)
	}
	return out, nil
}

// DecideApproval moves a pending request to state (approved or denied);
// a request no longer pending is code conflict, so two deciders cannot
// both win.
func (s *Store) DecideApproval(ctx context.Context, id, state, by, comment string, at time.Time) (access.Approval, error) {
	if state != access.ApprovalApproved && state != access.ApprovalDenied {
		return access.Approval{}, greenroom.Errorf(greenroom.CodeInvalid, "an approval is decided approved or denied, not %q", state)
	}
	res, err := s.write.ExecContext(ctx, s.d.rebind("UPDATE approvals SET state = ?, decided_by = ?, decision = ?, decided_at = ? WHERE id = ? AND state = 'pending'"),
		state, by, comment, s.d.timeArg(at), id)
	if err != nil {
		return access.Approval{}, fmt.Errorf("store: decide approval %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return access.Approval{}, fmt.Errorf("store: decide approval %s: %w", id, err)
	} else if n == 0 {
		cur, err := s.Approval(ctx, id)
		if err != nil {
			return access.Approval{}, err
		}
		return access.Approval{}, greenroom.Errorf(greenroom.CodeConflict, "approval request %s is already %s", id, cur.State)
	}
	return s.Approval(ctx, id)
}

// FinishApproval records the outcome (executed or failed) of an approved
// request's executor; any other state is code conflict.
func (s *Store) FinishApproval(ctx context.Context, id, state, result string, at time.Time) error {
	if state != access.ApprovalExecuted && state != access.ApprovalFailed {
		return greenroom.Errorf(greenroom.CodeInvalid, "an approval finishes executed or failed, not %q", state)
	}
	res, err := s.write.ExecContext(ctx, s.d.rebind("UPDATE approvals SET state = ?, result = ?, finished_at = ? WHERE id = ? AND state = 'approved'"),
		state, result, s.d.timeArg(at), id)
	if err != nil {
		return fmt.Errorf("store: finish approval %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: finish approval %s: %w", id, err)
	} else if n == 0 {
		return greenroom.Errorf(greenroom.CodeConflict, "approval request %s is not approved", id)
	}
	return nil
}
