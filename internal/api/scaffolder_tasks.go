package api

import (
	"context"
	"strings"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
)

// OwnTasks is the scaffolder service as its caller may see it, for the
// task routes here and the portal's task pages alike: Backstage's createdBy
// semantics, enforced. A caller sees, lists, follows, cancels and retries
// only the tasks they created; one SeesAll allows (platform admins: the
// admin action on Resource::"scaffolder") sees every task and may filter
// the list by createdBy. Someone else's task answers code not_found with
// a missing task's very message. Without a principal (authentication off)
// or without SeesAll every task is visible.
type OwnTasks struct {
	*scaffolder.Service
	SeesAll func(ctx context.Context) bool
}

// scope returns the only creator the caller of ctx may see tasks of, or
// all.
func (o *OwnTasks) scope(ctx context.Context) (creator string, all bool) {
	p := access.FromContext(ctx)
	if p == nil || o.SeesAll == nil || o.SeesAll(ctx) {
		return "", true
	}
	return p.UserRef, false
}

// Task returns a task the caller may see.
func (o *OwnTasks) Task(ctx context.Context, id string) (scaffolder.Task, error) {
	t, err := o.Service.Task(ctx, id)
	if err != nil {
		return scaffolder.Task{}, err
	}
	if creator, all := o.scope(ctx); !all && !strings.EqualFold(t.CreatedBy, creator) {
		return scaffolder.Task{}, greenroom.Errorf(greenroom.CodeNotFound, "task %s not found", id)
	}
	return t, nil
}

// ListTasks lists the caller's tasks (anyone's for one who sees all): a
// createdBy filter naming someone else lists nothing.
func (o *OwnTasks) ListTasks(ctx context.Context, f scaffolder.TaskFilter) ([]scaffolder.Task, int, error) {
	creator, all := o.scope(ctx)
	if !all {
		if f.CreatedBy != "" && !strings.EqualFold(f.CreatedBy, creator) {
			return []scaffolder.Task{}, 0, nil
		}
		f.CreatedBy = creator
	}
	return o.Service.ListTasks(ctx, f)
}

// Events returns the events of a task the caller may see.
func (o *OwnTasks) Events(ctx context.Context, id string, after int64) ([]scaffolder.Event, error) {
	if _, err := o.Task(ctx, id); err != nil {
		return nil, err
	}
	return o.Service.Events(ctx, id, after)
}

// Cancel cancels a task the caller may see.
func (o *OwnTasks) Cancel(ctx context.Context, id string) (scaffolder.Status, error) {
	if _, err := o.Task(ctx, id); err != nil {
		return "", err
	}
	return o.Service.Cancel(ctx, id)
}

// Retry retries a task the caller may see.
func (o *OwnTasks) Retry(ctx context.Context, id string) error {
	if _, err := o.Task(ctx, id); err != nil {
		return err
	}
	return o.Service.Retry(ctx, id)
}

var _ Scaffolder = (*OwnTasks)(nil)
