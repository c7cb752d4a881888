package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
)

// Scaffolder is what the scaffolder routes need of the scaffolder service.
type Scaffolder interface {
	Template(ctx context.Context, ref greenroom.EntityRef) (*scaffolder.Template, error)
	Actions() []*scaffolder.Action
	CreateTask(ctx context.Context, req scaffolder.CreateRequest) (string, error)
	Task(ctx context.Context, id string) (scaffolder.Task, error)
	ListTasks(ctx context.Context, f scaffolder.TaskFilter) ([]scaffolder.Task, int, error)
	Events(ctx context.Context, id string, after int64) ([]scaffolder.Event, error)
	Subscribe(id string) (<-chan struct{}, func())
	Cancel(ctx context.Context, id string) (scaffolder.Status, error)
	Retry(ctx context.Context, id string) error
	DryRun(ctx context.Context, req scaffolder.DryRunRequest, files fs.FS) (scaffolder.DryRunResult, error)
}

// ScaffolderHandler serves Backstage's scaffolder API at /api/scaffolder/v2.
type ScaffolderHandler struct {
	svc    Scaffolder
	errors ErrorWriter
	// poll is how often an event stream looks for events written by
	// another replica.
	poll time.Duration
}

// NewScaffolder returns the scaffolder API handler.
func NewScaffolder(svc Scaffolder, logger *slog.Logger) *ScaffolderHandler {
	return &ScaffolderHandler{svc: svc, errors: ErrorWriter{Logger: logger}, poll: time.Second}
}

// Routes registers the scaffolder routes.
func (h *ScaffolderHandler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/scaffolder/v2/templates/{namespace}/{kind}/{name}/parameter-schema", h.handle(h.parameterSchema))
	mux.Handle("GET /api/scaffolder/v2/actions", h.handle(h.listActions))
	mux.Handle("POST /api/scaffolder/v2/tasks", h.handle(h.createTask))
	mux.Handle("GET /api/scaffolder/v2/tasks", h.handle(h.listTasks))
	mux.Handle("GET /api/scaffolder/v2/tasks/{id}", h.handle(h.getTask))
	mux.Handle("GET /api/scaffolder/v2/tasks/{id}/eventstream", h.handle(h.eventStream))
	mux.Handle("GET /api/scaffolder/v2/tasks/{id}/events", h.handle(h.events))
	mux.Handle("POST /api/scaffolder/v2/tasks/{id}/cancel", h.handle(h.cancel))
	mux.Handle("POST /api/scaffolder/v2/tasks/{id}/retry", h.handle(h.retry))
	mux.Handle("POST /api/scaffolder/v2/dry-run", h.handle(h.dryRun))
}

func (h *ScaffolderHandler) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.errors.Write(w, r, err)
		}
	})
}

// maxScaffolderBody bounds request bodies (dry-run carries files).
const maxScaffolderBody = 64 << 20

func decodeScaffolderBody(r *http.Request, v any, limit int64) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "read body: %v", err)
	}
	if int64(len(b)) > limit {
		return greenroom.Errorf(greenroom.CodeTooLarge, "request body is larger than %d bytes", limit)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "Malformed request body: %v", err)
	}
	return nil
}

func (h *ScaffolderHandler) parameterSchema(w http.ResponseWriter, r *http.Request) error {
	ref := greenroom.EntityRef{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	t, err := h.svc.Template(r.Context(), ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t.Schema())
	return nil
}

type actionJSON struct {
	ID          string         `json:"id"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"schema"`
	Examples    []any          `json:"examples"`
}

func (h *ScaffolderHandler) listActions(w http.ResponseWriter, r *http.Request) error {
	out := []actionJSON{}
	for _, a := range h.svc.Actions() {
		schema := map[string]any{}
		if a.Input != nil {
			schema["input"] = a.Input
		}
		if a.Output != nil {
			schema["output"] = a.Output
		}
		out = append(out, actionJSON{ID: a.ID, Description: a.Description, Schema: schema, Examples: []any{}})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *ScaffolderHandler) createTask(w http.ResponseWriter, r *http.Request) error {
	var req scaffolder.CreateRequest
	if err := decodeScaffolderBody(r, &req, 1<<20); err != nil {
		return err
	}
	id, err := h.svc.CreateTask(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	return nil
}

// taskJSON is Backstage's SerializedTask, with the steps' state added.
type taskJSON struct {
	ID              string                 `json:"id"`
	Spec            scaffolder.TaskSpec    `json:"spec"`
	Status          scaffolder.Status      `json:"status"`
	CreatedAt       string                 `json:"createdAt"`
	LastHeartbeatAt string                 `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string                 `json:"createdBy,omitempty"`
	Steps           []scaffolder.StepState `json:"steps"`
	Output          map[string]any         `json:"output,omitempty"`
	Error           string                 `json:"error,omitempty"`
}

func serializeTask(t scaffolder.Task) taskJSON {
	out := taskJSON{ID: t.ID, Spec: t.Spec, Status: t.Status, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339Nano),
		CreatedBy: t.CreatedBy, Steps: t.Steps, Output: t.Output, Error: t.Error}
	if t.LastHeartbeatAt != nil {
		out.LastHeartbeatAt = t.LastHeartbeatAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func (h *ScaffolderHandler) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := scaffolder.TaskFilter{CreatedBy: q.Get("createdBy"), Status: scaffolder.Status(q.Get("status"))}
	var err error
	if f.Limit, err = intParam(q.Get("limit")); err != nil {
		return err
	}
	if f.Offset, err = intParam(q.Get("offset")); err != nil {
		return err
	}
	tasks, total, err := h.svc.ListTasks(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]taskJSON, len(tasks))
	for i, t := range tasks {
		out[i] = serializeTask(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out, "totalTasks": total})
	return nil
}

func intParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "%q is not a non-negative integer", s)
	}
	return n, nil
}

func (h *ScaffolderHandler) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := h.svc.Task(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, serializeTask(t))
	return nil
}

func afterParam(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("after")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "after %q is not an event id", s)
	}
	return n, nil
}

func (h *ScaffolderHandler) events(w http.ResponseWriter, r *http.Request) error {
	after, err := afterParam(r)
	if err != nil {
		return err
	}
	evs, err := h.svc.Events(r.Context(), r.PathValue("id"), after)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, evs)
	return nil
}

// eventStream sends the task's events as server-sent events (event: the
// type, data: the event JSON) and ends after the completion event, as
// Backstage's eventstream does.
func (h *ScaffolderHandler) eventStream(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	after, err := afterParam(r)
	if err != nil {
		return err
	}
	evs, err := h.svc.Events(r.Context(), id, after)
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w) // reaches Flush through the middleware's wrappers
	flush := func() { _ = rc.Flush() }
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	notify, stop := h.svc.Subscribe(id)
	defer stop()
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	for {
		for _, e := range evs {
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b); err != nil {
				return nil
			}
			after = e.ID
			if e.Type == scaffolder.EventCompletion {
				flush()
				return nil
			}
		}
		flush()
		select {
		case <-r.Context().Done():
			return nil
		case <-notify:
		case <-tick.C:
		}
		if evs, err = h.svc.Events(r.Context(), id, after); err != nil {
			return nil // the stream has started; the client reconnects
		}
	}
}

func (h *ScaffolderHandler) cancel(w http.ResponseWriter, r *http.Request) error {
	st, err := h.svc.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": st})
	return nil
}

func (h *ScaffolderHandler) retry(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := h.svc.Retry(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	return nil
}

func (h *ScaffolderHandler) dryRun(w http.ResponseWriter, r *http.Request) error {
	var req scaffolder.DryRunRequest
	if err := decodeScaffolderBody(r, &req, maxScaffolderBody); err != nil {
		return err
	}
	if len(req.Template) == 0 {
		return greenroom.Errorf(greenroom.CodeInvalid, "Malformed request body: template is required")
	}
	res, err := h.svc.DryRun(r.Context(), req, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
