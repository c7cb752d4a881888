package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
)

var _ scaffolder.TaskStore = (*Store)(nil)

// maxTaskEventBody bounds one stored event; longer log lines are cut.
const maxTaskEventBody = 64 << 10

func millis(t time.Time) int64 { return t.UTC().UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// CreateTask stores a new scaffolder task.
func (s *Store) CreateTask(ctx context.Context, t scaffolder.Task) error {
	spec, err := json.Marshal(t.Spec)
	if err != nil {
		return err
	}
	steps, err := json.Marshal(t.Steps)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO scaffolder_tasks
		(id, spec, status, created_by, created_at, steps) VALUES (?, ?, ?, ?, ?, ?)`),
		t.ID, string(spec), string(t.Status), t.CreatedBy, millis(t.CreatedAt), string(steps))
	if err != nil {
		return fmt.Errorf("store: create task: %w", err)
	}
	return nil
}

const taskColumns = "id, spec, status, created_by, created_at, last_heartbeat_at, steps, output, error"

func scanTask(row interface{ Scan(...any) error }) (scaffolder.Task, error) {
	var t scaffolder.Task
	var spec, status, steps, output string
	var created int64
	var hb sql.NullInt64
	if err := row.Scan(&t.ID, &spec, &status, &t.CreatedBy, &created, &hb, &steps, &output, &t.Error); err != nil {
		return t, err
	}
	t.Status = scaffolder.Status(status)
	t.CreatedAt = fromMillis(created)
	if hb.Valid {
		h := fromMillis(hb.Int64)
		t.LastHeartbeatAt = &h
	}
	if err := json.Unmarshal([]byte(spec), &t.Spec); err != nil {
		return t, fmt.Errorf("task %s spec: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(steps), &t.Steps); err != nil {
		return t, fmt.Errorf("task %s steps: %w", t.ID, err)
	}
	if output != "" {
		if err := json.Unmarshal([]byte(output), &t.Output); err != nil {
			return t, fmt.Errorf("task %s output: %w", t.ID, err)
		}
	}
	return t, nil
}

// Task returns one task; code not_found for an unknown id.
func (s *Store) Task(ctx context.Context, id string) (scaffolder.Task, error) {
	t, err := scanTask(s.write.QueryRowContext(ctx, s.d.rebind("SELECT "+taskColumns+" FROM scaffolder_tasks WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, greenroom.Errorf(greenroom.CodeNotFound, "task %s not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("store: task %s: %w", id, err)
	}
	return t, nil
}

// ListTasks returns tasks newest first and how many match in all.
func (s *Store) ListTasks(ctx context.Context, f scaffolder.TaskFilter) ([]scaffolder.Task, int, error) {
	where, args := " WHERE 1=1", []any{}
	if f.CreatedBy != "" {
		where += " AND created_by = ?"
		args = append(args, f.CreatedBy)
	}
	if f.Status != "" {
		where += " AND status = ?"
		args = append(args, string(f.Status))
	}
	var total int
	if err := s.queryRowContext(ctx, "SELECT COUNT(*) FROM scaffolder_tasks"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count tasks: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := "SELECT " + taskColumns + " FROM scaffolder_tasks" + where + " ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
	rows, err := s.queryContext(ctx, q, append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list tasks: %w", err)
	}
	defer rows.Close()
	out := []scaffolder.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// SaveTask stores a task's status, steps, output, error and heartbeat. A
// task cancelled meanwhile stays cancelled.
func (s *Store) SaveTask(ctx context.Context, t scaffolder.Task) error {
	steps, err := json.Marshal(t.Steps)
	if err != nil {
		return err
	}
	output := ""
	if t.Output != nil {
		b, err := json.Marshal(t.Output)
		if err != nil {
			return err
		}
		output = string(b)
	}
	var hb any
	if t.LastHeartbeatAt != nil {
		hb = millis(*t.LastHeartbeatAt)
	}
	// cancelled wins over processing/completed written by a runner that has
	// not yet seen the cancellation; open (a retry) may replace it.
	res, err := s.write.ExecContext(ctx, s.d.rebind(`UPDATE scaffolder_tasks SET
		status = CASE WHEN status = 'cancelled' AND ? IN ('processing', 'completed') THEN status ELSE ? END,
		steps = ?, output = ?, error = ?, last_heartbeat_at = COALESCE(?, last_heartbeat_at)
		WHERE id = ?`), string(t.Status), string(t.Status), string(steps), output, t.Error, hb, t.ID)
	if err != nil {
		return fmt.Errorf("store: save task %s: %w", t.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return greenroom.Errorf(greenroom.CodeNotFound, "task %s not found", t.ID)
	}
	return nil
}

// AppendTaskEvent stores an event and returns its id.
func (s *Store) AppendTaskEvent(ctx context.Context, e scaffolder.Event) (int64, error) {
	body, err := json.Marshal(e.Body)
	if err != nil {
		return 0, err
	}
	if len(body) > maxTaskEventBody {
		msg, _ := e.Body["message"].(string)
		body, _ = json.Marshal(map[string]any{"message": msg[:min(len(msg), maxTaskEventBody/2)] + "… (cut)", "stepId": e.Body["stepId"]})
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	var id int64
	err = s.write.QueryRowContext(ctx, s.d.rebind(`INSERT INTO scaffolder_task_events (task_id, event_type, body, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`), e.TaskID, e.Type, string(body), millis(e.CreatedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: task %s event: %w", e.TaskID, err)
	}
	return id, nil
}

// TaskEvents returns a task's events with ids above after, oldest first.
func (s *Store) TaskEvents(ctx context.Context, taskID string, after int64, limit int) ([]scaffolder.Event, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := s.write.QueryContext(ctx, s.d.rebind(`SELECT id, event_type, body, created_at FROM scaffolder_task_events
		WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?`), taskID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: task %s events: %w", taskID, err)
	}
	defer rows.Close()
	out := []scaffolder.Event{}
	for rows.Next() {
		e := scaffolder.Event{TaskID: taskID}
		var body string
		var created int64
		if err := rows.Scan(&e.ID, &e.Type, &body, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMillis(created)
		if err := json.Unmarshal([]byte(body), &e.Body); err != nil {
			return nil, fmt.Errorf("store: task %s event %d: %w", taskID, e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
