package scaffolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// Catalog is what the scaffolder reads of the catalog.
type Catalog interface {
	// Templates returns every Template entity (JSON).
	Templates(ctx context.Context) ([]json.RawMessage, error)
	// Entity returns one entity (JSON); code not_found when missing.
	Entity(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
}

// FilesResolver finds a template's own files (skeleton/…) from its entity.
type FilesResolver interface {
	TemplateFiles(ctx context.Context, entity map[string]any) (fs.FS, error)
}

// Authorizer is the single hook where permission "scaffolder.task.create"
// (and approval) is checked before a task is created. nil allows all.
type Authorizer func(ctx context.Context, permission string, tmpl *Template) error

// PermissionTaskCreate is the permission checked by CreateTask.
const PermissionTaskCreate = "scaffolder.task.create"

// Options configure a Service.
type Options struct {
	Store   TaskStore
	Catalog Catalog
	Files   FilesResolver
	Enqueue Enqueuer
	// DataDir holds task workspaces (DataDir/scaffolder/tasks/<id>).
	DataDir   string
	Deps      *Deps
	Limits    Limits
	Logger    *slog.Logger
	Authorize Authorizer
	Actions   *Registry
}

// Service is the scaffolder's business logic shared by every transport.
type Service struct {
	store     TaskStore
	catalog   Catalog
	files     FilesResolver
	enqueue   Enqueuer
	dataDir   string
	deps      *Deps
	engine    *Engine
	actions   *Registry
	log       *slog.Logger
	authorize Authorizer

	mu      sync.Mutex
	secrets map[string]map[string]string // in memory only, never stored
	subs    map[string]map[chan struct{}]struct{}
	running map[string]context.CancelFunc
}

// NewService returns a service.
func NewService(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Actions == nil {
		o.Actions = NewRegistry()
	}
	if o.Deps == nil {
		o.Deps = &Deps{}
	}
	eng := NewEngine(o.Limits)
	o.Deps.eng = eng
	return &Service{
		store: o.Store, catalog: o.Catalog, files: o.Files, enqueue: o.Enqueue, dataDir: o.DataDir,
		deps: o.Deps, engine: eng, actions: o.Actions, log: o.Logger, authorize: o.Authorize,
		secrets: map[string]map[string]string{}, subs: map[string]map[chan struct{}]struct{}{},
		running: map[string]context.CancelFunc{},
	}
}

// Engine returns the service's expression engine.
func (s *Service) Engine() *Engine { return s.engine }

// Actions returns the registered actions.
func (s *Service) Actions() []*Action { return s.actions.List() }

// Registry returns the action registry.
func (s *Service) Registry() *Registry { return s.actions }

// Templates returns the catalog's templates sorted by title.
func (s *Service) Templates(ctx context.Context) ([]*Template, error) {
	raws, err := s.catalog.Templates(ctx)
	if err != nil {
		return nil, fmt.Errorf("scaffolder: templates: %w", err)
	}
	var out []*Template
	for _, raw := range raws {
		t, err := ParseTemplate(raw)
		if err != nil {
			s.log.Debug("skipping template", "err", err)
			continue
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return displayName(out[i]) < displayName(out[j]) })
	return out, nil
}

func displayName(t *Template) string {
	if t.Title != "" {
		return strings.ToLower(t.Title)
	}
	return t.Ref.Name
}

// Template returns one template.
func (s *Service) Template(ctx context.Context, ref greenroom.EntityRef) (*Template, error) {
	if !strings.EqualFold(ref.Kind, "template") {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "%s is not a Template", ref)
	}
	ref.Kind = "template"
	raw, err := s.catalog.Entity(ctx, ref)
	if err != nil {
		return nil, err
	}
	return ParseTemplate(raw)
}

// ParameterSchema is Backstage's GET parameter-schema response.
type ParameterSchema struct {
	Title        string          `json:"title"`
	Description  string          `json:"description,omitempty"`
	Presentation map[string]any  `json:"presentation,omitempty"`
	Steps        []ParameterStep `json:"steps"`
}

// Schema returns a template's parameter schema.
func (t *Template) Schema() ParameterSchema {
	title := t.Title
	if title == "" {
		title = t.Ref.Name
	}
	steps := t.Parameters
	if steps == nil {
		steps = []ParameterStep{}
	}
	return ParameterSchema{Title: title, Description: t.Description, Presentation: t.Presentation, Steps: steps}
}

// CreateRequest is POST /v2/tasks.
type CreateRequest struct {
	TemplateRef string            `json:"templateRef"`
	Values      map[string]any    `json:"values"`
	Secrets     map[string]string `json:"secrets,omitempty"`
}

// CreateTask validates the values and the template's steps, stores the
// task and queues it. The returned id names the task.
func (s *Service) CreateTask(ctx context.Context, req CreateRequest) (string, error) {
	ref, err := greenroom.ParseEntityRef(req.TemplateRef, "template", "default")
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "templateRef: %v", err)
	}
	tmpl, err := s.Template(ctx, ref)
	if err != nil {
		return "", err
	}
	if s.authorize != nil {
		if err := s.authorize(ctx, PermissionTaskCreate, tmpl); err != nil {
			return "", err
		}
	}
	req.Values = tmpl.WithDefaults(req.Values)
	if ps := tmpl.Validate(s.actions, s.engine); len(ps) > 0 {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "template %s is invalid: %s", ref, Problems(ps).Error())
	}
	if err := tmpl.ValidateValues(req.Values); err != nil {
		return "", err
	}
	user := s.user(ctx)
	spec := s.spec(tmpl, req.Values, user)
	if err := s.precheck(spec); err != nil {
		return "", err
	}
	t := Task{
		ID: uuid.NewString(), Spec: spec, Status: StatusOpen, CreatedAt: time.Now().UTC(),
		Steps: make([]StepState, len(spec.Steps)),
	}
	for i, st := range spec.Steps {
		t.Steps[i] = StepState{ID: st.ID, Status: StatusOpen}
	}
	if ref, _ := user["ref"].(string); ref != "" {
		t.CreatedBy = ref
	}
	if err := s.store.CreateTask(ctx, t); err != nil {
		return "", fmt.Errorf("scaffolder: store task: %w", err)
	}
	if len(req.Secrets) > 0 {
		s.mu.Lock()
		s.secrets[t.ID] = req.Secrets
		s.mu.Unlock()
	}
	if s.enqueue != nil {
		if err := s.enqueue(ctx, t.ID); err != nil {
			return "", fmt.Errorf("scaffolder: queue task: %w", err)
		}
	}
	return t.ID, nil
}

// precheck validates, before the task starts, each step input that does
// not depend on an earlier step's output, rendered with the parameters.
func (s *Service) precheck(spec TaskSpec) error {
	r := &run{svc: s, task: &Task{Spec: spec, Steps: make([]StepState, len(spec.Steps))}}
	data := r.data()
	for _, st := range spec.Steps {
		if st.Each != nil || referencesSteps(st.Input) {
			continue
		}
		a, ok := s.actions.Get(st.Action)
		if !ok {
			return greenroom.Errorf(greenroom.CodeInvalid, "step %s: unknown action %q", st.ID, st.Action)
		}
		if st.If != nil {
			cond, err := s.engine.RenderValue(st.If, data)
			if err != nil || !truthy(cond) {
				continue
			}
		}
		rendered, err := s.engine.RenderValue(anyMap(st.Input), data)
		if err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "step %s: input: %s", st.ID, greenroom.ErrorMessage(err))
		}
		in, _ := rendered.(map[string]any)
		if err := a.CheckInput(orEmpty(in)); err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "step %s: %s", st.ID, greenroom.ErrorMessage(err))
		}
	}
	return nil
}

func referencesSteps(v any) bool {
	found := false
	walkStrings(v, "", func(_, s string) {
		if strings.Contains(s, "${{") && stepRef.MatchString(s) {
			found = true
		}
	})
	return found
}

func (s *Service) user(ctx context.Context) map[string]any {
	p := access.FromContext(ctx)
	if p == nil {
		return map[string]any{}
	}
	u := map[string]any{"ref": p.UserRef}
	if ref, err := greenroom.ParseEntityRef(p.UserRef, "user", "default"); err == nil && s.catalog != nil {
		if raw, err := s.catalog.Entity(ctx, ref); err == nil {
			var ent map[string]any
			if json.Unmarshal(raw, &ent) == nil {
				u["entity"] = ent
			}
		}
	}
	if u["entity"] == nil {
		name := p.UserRef
		if i := strings.LastIndexAny(name, "/:"); i >= 0 {
			name = name[i+1:]
		}
		u["entity"] = map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "User",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"profile": map[string]any{"displayName": p.DisplayName, "email": p.Email}}}
	}
	return u
}

func (s *Service) spec(t *Template, values map[string]any, user map[string]any) TaskSpec {
	md, _ := t.Entity["metadata"].(map[string]any)
	info := map[string]any{"entityRef": t.Ref.String(), "entity": map[string]any{"metadata": md}}
	if ann, ok := md["annotations"].(map[string]any); ok {
		if loc, ok := ann["backstage.io/managed-by-location"].(string); ok {
			info["baseUrl"] = strings.TrimPrefix(strings.TrimPrefix(loc, "url:"), "file:")
		}
	}
	return TaskSpec{APIVersion: APIVersion, Steps: t.Steps, Output: t.Output, Parameters: values, User: user, TemplateInfo: info}
}

// Task returns a task.
func (s *Service) Task(ctx context.Context, id string) (Task, error) {
	return s.store.Task(ctx, id)
}

// ListTasks lists tasks, newest first.
func (s *Service) ListTasks(ctx context.Context, f TaskFilter) ([]Task, int, error) {
	return s.store.ListTasks(ctx, f)
}

// Events returns a task's events after the given id.
func (s *Service) Events(ctx context.Context, id string, after int64) ([]Event, error) {
	if _, err := s.store.Task(ctx, id); err != nil {
		return nil, err
	}
	return s.store.TaskEvents(ctx, id, after, 1000)
}

// Subscribe returns a channel signalled when the task has new events in
// this process, and a function to stop.
func (s *Service) Subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs[id] == nil {
		s.subs[id] = map[chan struct{}]struct{}{}
	}
	s.subs[id][ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs[id], ch)
		if len(s.subs[id]) == 0 {
			delete(s.subs, id)
		}
		s.mu.Unlock()
	}
}

func (s *Service) notify(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Service) event(ctx context.Context, id, typ string, body map[string]any) {
	if _, err := s.store.AppendTaskEvent(context.WithoutCancel(ctx), Event{TaskID: id, Type: typ, Body: body, CreatedAt: time.Now().UTC()}); err != nil {
		s.log.Warn("task event not stored", "task", id, "err", err)
	}
	s.notify(id)
}

// Cancel cancels an open or running task.
func (s *Service) Cancel(ctx context.Context, id string) (Status, error) {
	t, err := s.store.Task(ctx, id)
	if err != nil {
		return "", err
	}
	if t.Status.Terminal() {
		return t.Status, greenroom.Errorf(greenroom.CodeConflict, "task %s is already %s", id, t.Status)
	}
	t.Status = StatusCancelled
	if err := s.store.SaveTask(ctx, t); err != nil {
		return "", err
	}
	s.mu.Lock()
	cancel := s.running[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.event(ctx, id, EventCancelled, map[string]any{"message": "Task cancelled", "created": createdSoFar(&t)})
	return StatusCancelled, nil
}

// Retry runs a failed or cancelled task again from its first step that did
// not complete.
func (s *Service) Retry(ctx context.Context, id string) error {
	t, err := s.store.Task(ctx, id)
	if err != nil {
		return err
	}
	if t.Status != StatusFailed && t.Status != StatusCancelled {
		return greenroom.Errorf(greenroom.CodeConflict, "task %s is %s; only failed or cancelled tasks can be retried", id, t.Status)
	}
	for i := range t.Steps {
		if t.Steps[i].Status == StatusFailed || t.Steps[i].Status == StatusProcessing {
			t.Steps[i].Status = StatusOpen
		}
	}
	t.Status, t.Error = StatusOpen, ""
	if err := s.store.SaveTask(ctx, t); err != nil {
		return err
	}
	s.event(ctx, id, EventRecovered, map[string]any{"message": "Task retried from its first incomplete step"})
	if s.enqueue != nil {
		return s.enqueue(ctx, id)
	}
	return nil
}

// Workspace is where a task's files are built.
func (s *Service) Workspace(id string) string {
	return filepath.Join(s.dataDir, "scaffolder", "tasks", id, "workspace")
}

const heartbeatEvery = 5 * time.Second

// RunTask runs (or resumes) a stored task: the job handler. Step failures
// fail the task and return nil; errors of the store are returned so that
// the job is retried.
func (s *Service) RunTask(ctx context.Context, id string) error {
	t, err := s.store.Task(ctx, id)
	if err != nil {
		if greenroom.IsNotFound(err) {
			return nil // deleted
		}
		return err
	}
	if t.Status.Terminal() {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.running[id] = cancel
	secrets := s.secrets[id]
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
	}()
	resumed := t.Status == StatusProcessing
	ws := s.Workspace(id)
	fresh := !workspaceExists(ws)
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return fmt.Errorf("scaffolder: workspace: %w", err)
	}
	if resumed {
		s.event(ctx, id, EventRecovered, map[string]any{"message": "Task resumed after an interruption, from its last completed step"})
	}
	now := time.Now().UTC()
	t.Status, t.LastHeartbeatAt = StatusProcessing, &now
	if err := s.store.SaveTask(ctx, t); err != nil {
		return err
	}
	var files fs.FS
	if s.files != nil {
		md, _ := t.Spec.TemplateInfo["entity"].(map[string]any)
		files, _ = s.files.TemplateFiles(ctx, map[string]any{"metadata": md["metadata"]})
	}
	// Watch for cancellation by another replica.
	go s.watchCancel(ctx, id, cancel)
	r := &run{
		svc: s, task: &t, workspace: ws, files: files, secrets: secrets,
		emit: func(ctx context.Context, stepID string, status Status, msg string) {
			body := map[string]any{"message": msg}
			if stepID != "" {
				body["stepId"] = stepID
			}
			if status != "" {
				body["status"] = string(status)
			}
			s.event(ctx, id, EventLog, body)
		},
		checkpoint: func(ctx context.Context) error {
			now := time.Now().UTC()
			t.LastHeartbeatAt = &now
			cur, err := s.store.Task(context.WithoutCancel(ctx), id)
			if err == nil && cur.Status == StatusCancelled {
				t.Status = StatusCancelled
				cancel()
			}
			if err := s.store.SaveTask(context.WithoutCancel(ctx), t); err != nil {
				return errInfra{err}
			}
			return nil
		},
	}
	err = r.execute(ctx, fresh && hasCompleted(&t))
	var infra errInfra
	switch {
	case errors.As(err, &infra):
		return infra.err
	case t.Status == StatusCancelled || (err != nil && ctx.Err() != nil && !errors.As(err, new(stepError))):
		if parent := context.Cause(ctx); parent != nil && !errors.Is(parent, context.Canceled) {
			return err // shutdown or lost lease: run again later
		}
		cur, gerr := s.store.Task(context.WithoutCancel(ctx), id)
		if gerr == nil && cur.Status != StatusCancelled {
			return err // our context ended (shutdown): the job runs again
		}
		t.Status = StatusCancelled
		for i := range t.Steps {
			if t.Steps[i].Status == StatusProcessing {
				t.Steps[i].Status = StatusCancelled
			}
		}
		_ = s.store.SaveTask(context.WithoutCancel(ctx), t)
		s.event(ctx, id, EventCompletion, map[string]any{"message": "Run completed with status: cancelled", "status": "cancelled", "created": createdSoFar(&t)})
		return nil
	case err != nil:
		t.Status, t.Error = StatusFailed, err.Error()
		created := createdSoFar(&t)
		if len(created) > 0 {
			t.Error += "; created before the failure: " + strings.Join(created, ", ")
		}
		if serr := s.store.SaveTask(context.WithoutCancel(ctx), t); serr != nil {
			return serr
		}
		s.event(ctx, id, EventCompletion, map[string]any{
			"message": "Run completed with status: failed", "status": "failed",
			"error": map[string]any{"name": "Error", "message": err.Error()}, "created": created,
		})
		s.forgetSecrets(id)
		return nil
	}
	t.Status = StatusCompleted
	if err := s.store.SaveTask(context.WithoutCancel(ctx), t); err != nil {
		return err
	}
	s.event(ctx, id, EventCompletion, map[string]any{"message": "Run completed with status: completed", "status": "completed", "output": t.Output})
	s.forgetSecrets(id)
	return nil
}

func (s *Service) forgetSecrets(id string) {
	s.mu.Lock()
	delete(s.secrets, id)
	s.mu.Unlock()
}

func hasCompleted(t *Task) bool {
	for _, st := range t.Steps {
		if st.Status == StatusCompleted {
			return true
		}
	}
	return false
}

func (s *Service) watchCancel(ctx context.Context, id string, cancel context.CancelFunc) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if t, err := s.store.Task(ctx, id); err == nil && t.Status == StatusCancelled {
				cancel()
				return
			}
		}
	}
}

// TemplateFiles returns a template entity's own files, nil when unknown.
func (s *Service) TemplateFiles(ctx context.Context, entity map[string]any) fs.FS {
	if s.files == nil {
		return nil
	}
	f, err := s.files.TemplateFiles(ctx, entity)
	if err != nil {
		return nil
	}
	return f
}
