package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// run is one execution of a task's steps: a stored task or a dry-run.
type run struct {
	svc       *Service
	task      *Task
	workspace string
	files     fs.FS
	dryRun    bool
	secrets   map[string]string
	// emit records a log line of a step (stepID "" for the task).
	emit func(ctx context.Context, stepID string, status Status, msg string)
	// checkpoint stores the task after each state change.
	checkpoint func(ctx context.Context) error
}

// context builds the data expressions see.
func (r *run) data() map[string]any {
	steps := map[string]any{}
	for i, st := range r.task.Steps {
		if st.Status == StatusCompleted || st.Status == StatusSkipped {
			steps[r.task.Spec.Steps[i].ID] = map[string]any{"output": orEmpty(st.Output)}
		}
	}
	user := r.task.Spec.User
	if user == nil {
		user = map[string]any{}
	}
	secrets := map[string]any{}
	for k, v := range r.secrets {
		secrets[k] = v
	}
	return map[string]any{
		"parameters":   orEmpty(r.task.Spec.Parameters),
		"steps":        steps,
		"user":         user,
		"secrets":      secrets,
		"templateInfo": orEmpty(r.task.Spec.TemplateInfo),
		"context":      map[string]any{"task": map[string]any{"id": r.task.ID}},
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// execute runs the steps not yet completed, in order. It returns the
// failing step's error; infrastructure errors (the store) are wrapped in
// errInfra so the job is retried instead of the task failed.
func (r *run) execute(ctx context.Context, workspaceFresh bool) error {
	eng := r.svc.engine
	for i := range r.task.Spec.Steps {
		step := r.task.Spec.Steps[i]
		st := &r.task.Steps[i]
		a, ok := r.svc.actions.Get(step.Action)
		if !ok {
			return r.fail(ctx, i, greenroom.Errorf(greenroom.CodeInvalid, "unknown action %q", step.Action))
		}
		if st.Status == StatusCompleted || st.Status == StatusSkipped {
			if !workspaceFresh || a.SideEffects || st.Status == StatusSkipped {
				continue // resumed: keep what the step did
			}
			// The workspace was lost (another replica, a wiped disk): steps
			// that only build it run again; published steps never do.
			r.emit(ctx, step.ID, StatusProcessing, "Workspace lost since this step ran; running it again")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		data := r.data()
		if step.If != nil {
			cond, err := eng.RenderValue(step.If, data)
			if err != nil {
				return r.fail(ctx, i, fmt.Errorf("if: %w", err))
			}
			if !truthy(cond) {
				now := time.Now().UTC()
				*st = StepState{ID: step.ID, Status: StatusSkipped, StartedAt: &now, EndedAt: &now}
				r.emit(ctx, step.ID, StatusSkipped, "Skipping step "+step.ID+" because its if condition was false")
				if err := r.checkpoint(ctx); err != nil {
					return err
				}
				continue
			}
		}
		now := time.Now().UTC()
		st.Status, st.StartedAt, st.EndedAt, st.Error = StatusProcessing, &now, nil, ""
		st.Attempts++
		r.emit(ctx, step.ID, StatusProcessing, "Beginning step "+step.Name)
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
		output, created, err := r.runStep(ctx, a, step, data)
		st.Created = append(st.Created, created...)
		if err != nil {
			return r.fail(ctx, i, err)
		}
		end := time.Now().UTC()
		st.Status, st.Output, st.EndedAt = StatusCompleted, output, &end
		r.emit(ctx, step.ID, StatusCompleted, "Finished step "+step.Name)
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
	out, err := eng.RenderValue(anyMap(r.task.Spec.Output), r.data())
	if err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "spec.output: %v", err)
	}
	r.task.Output, _ = out.(map[string]any)
	return nil
}

// runStep renders the input (each: once per item), validates it and runs the action.
func (r *run) runStep(ctx context.Context, a *Action, step Step, data map[string]any) (map[string]any, []string, error) {
	eng := r.svc.engine
	items := []any{nil}
	if step.Each != nil {
		v, err := eng.RenderValue(step.Each, data)
		if err != nil {
			return nil, nil, fmt.Errorf("each: %w", err)
		}
		switch x := v.(type) {
		case []any:
			items = x
		case map[string]any:
			items = nil
			for k, val := range x {
				items = append(items, map[string]any{"key": k, "value": val})
			}
		default:
			return nil, nil, greenroom.Errorf(greenroom.CodeInvalid, "each must render to a list or an object")
		}
	}
	output := map[string]any{}
	var created []string
	var results []any
	for _, item := range items {
		d := data
		if step.Each != nil {
			d = map[string]any{}
			for k, v := range data {
				d[k] = v
			}
			if m, ok := item.(map[string]any); ok && m["key"] != nil && m["value"] != nil {
				d["each"] = m
			} else {
				d["each"] = map[string]any{"value": item}
			}
		}
		if r.dryRun && a.SideEffects {
			// As Backstage: an action that cannot dry-run is skipped before
			// its input is checked, with example outputs from its schema.
			r.emit(ctx, step.ID, StatusProcessing, fmt.Sprintf("Dry run: skipping %s, which changes systems outside the workspace", a.ID))
			if step.Each == nil {
				output = exampleOutput(a.Output)
			}
			continue
		}
		rendered, err := eng.RenderValue(anyMap(step.Input), d)
		if err != nil {
			return nil, created, fmt.Errorf("input: %w", err)
		}
		input, _ := rendered.(map[string]any)
		if input == nil {
			input = map[string]any{}
		}
		if err := a.CheckInput(input); err != nil {
			return nil, created, err
		}
		ac := &ActionContext{
			TaskID: r.task.ID, StepID: step.ID, Input: input, Workspace: r.workspace,
			TemplateFS: r.files, TemplateInfo: r.task.Spec.TemplateInfo, User: r.task.Spec.User,
			Secrets: r.secrets, DryRun: r.dryRun, Deps: r.svc.deps,
			log: func(msg string) { r.emit(ctx, step.ID, StatusProcessing, msg) },
		}
		err = runAction(ctx, a, ac)
		created = append(created, ac.created...)
		if err != nil {
			return nil, created, err
		}
		if step.Each != nil {
			results = append(results, ac.output)
		} else {
			output = ac.output
		}
	}
	if step.Each != nil {
		output = map[string]any{"results": results}
	}
	return output, created, nil
}

func runAction(ctx context.Context, a *Action, ac *ActionContext) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("action %s panicked: %v", a.ID, p)
		}
	}()
	return a.Run(ctx, ac)
}

// errInfra marks errors of the store rather than of the template.
type errInfra struct{ err error }

func (e errInfra) Error() string { return e.err.Error() }
func (e errInfra) Unwrap() error { return e.err }

func (r *run) fail(ctx context.Context, i int, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return err
	}
	st := &r.task.Steps[i]
	end := time.Now().UTC()
	st.Status, st.Error, st.EndedAt = StatusFailed, err.Error(), &end
	msg := "Step " + r.task.Spec.Steps[i].Name + " failed: " + err.Error()
	r.emit(ctx, st.ID, StatusFailed, msg)
	if cerr := r.checkpoint(ctx); cerr != nil {
		return cerr
	}
	return stepError{step: r.task.Spec.Steps[i].ID, err: err}
}

type stepError struct {
	step string
	err  error
}

func (e stepError) Error() string { return "step " + e.step + ": " + e.err.Error() }
func (e stepError) Unwrap() error { return e.err }

// createdSoFar lists what the task's steps created outside the workspace.
func createdSoFar(t *Task) []string {
	var out []string
	for _, st := range t.Steps {
		out = append(out, st.Created...)
	}
	return out
}

// truthy is JavaScript truthiness, which Backstage applies to if.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		s := strings.TrimSpace(x)
		return s != "" && s != "false"
	case float64:
		return x != 0
	case int:
		return x != 0
	default:
		return true
	}
}

func anyMap(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func workspaceExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// exampleOutput makes placeholder outputs from an output schema, for the
// steps a dry-run skips.
func exampleOutput(schema map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		ps, _ := p.(map[string]any)
		switch ps["type"] {
		case "array":
			out[name] = []any{}
		case "number", "integer":
			out[name] = 0
		case "boolean":
			out[name] = false
		case "object":
			out[name] = map[string]any{}
		default:
			out[name] = "<" + name + ">"
		}
	}
	return out
}
