package scaffolder

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"greenroom/internal/greenroom"
)

// Action is a step's implementation, registered under Backstage's id.
type Action struct {
	ID          string
	Description string
	// Input and Output are JSON Schemas (draft 7) of the step's input and
	// of the outputs it sets.
	Input  map[string]any
	Output map[string]any
	// SideEffects marks actions that change something outside the task's
	// workspace (a repository, the catalog, an external API). They are
	// skipped in dry-run and never re-run once completed, even when a
	// resumed task has lost its workspace.
	SideEffects bool
	// Run does the work. It must honour ctx.
	Run func(ctx context.Context, ac *ActionContext) error

	inputSchema *jsonschema.Schema
}

// ActionContext is what an action sees of its task.
type ActionContext struct {
	TaskID string
	StepID string
	// Input is the step's rendered input, valid against the action's schema.
	Input map[string]any
	// Workspace is the task's working directory (absolute).
	Workspace string
	// TemplateFS holds the template's own files (skeleton/…), rooted at the
	// directory of its template.yaml; nil when unknown.
	TemplateFS fs.FS
	// TemplateInfo is templateInfo of the task spec.
	TemplateInfo map[string]any
	// User is the user entity and ref, as ${{ user }} sees them.
	User    map[string]any
	Secrets map[string]string
	DryRun  bool
	Deps    *Deps

	log    func(msg string)
	output map[string]any
	mu     sync.Mutex
	// created records what was created outside the workspace, for cleanup
	// or a clear record when a later step fails.
	created []string
}

// Logf writes a line to the step's log.
func (ac *ActionContext) Logf(format string, args ...any) {
	if ac.log != nil {
		ac.log(fmt.Sprintf(format, args...))
	}
}

// Output sets one of the step's outputs.
func (ac *ActionContext) Output(name string, v any) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if ac.output == nil {
		ac.output = map[string]any{}
	}
	ac.output[name] = v
}

// Created records something the step created outside the workspace.
func (ac *ActionContext) Created(what string) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	ac.created = append(ac.created, what)
}

// String input helpers.
func (ac *ActionContext) str(key string) string {
	s, _ := ac.Input[key].(string)
	return s
}

func (ac *ActionContext) boolean(key string) bool {
	b, _ := ac.Input[key].(bool)
	return b
}

func (ac *ActionContext) strings(key string) []string {
	var out []string
	switch v := ac.Input[key].(type) {
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case string:
		out = []string{v}
	}
	return out
}

// Deps are the systems actions talk to; nil fields make the actions that
// need them fail with a clear error.
type Deps struct {
	Catalog CatalogRegistrar
	HTTP    *http.Client
	Logger  *slog.Logger
	Git     GitAuth
	// FetchTree returns the directory at an absolute URL of a git host
	// (…/owner/repo/tree/branch/path), for fetch:* actions given one; nil
	// refuses absolute URLs.
	FetchTree func(ctx context.Context, url string) (fs.FS, error)
	// GitHub gives the REST API base URL and token for a GitHub host
	// (integrations.github); ok is false for an unknown host.
	GitHub     func(host string) (apiBase, token string, ok bool)
	Endpoints  Endpoints
	Publishers []string // hosts publish:git may push to; empty allows all
	// DefaultAuthor and DefaultCommitMessage are scaffolder.defaultAuthor
	// and scaffolder.defaultCommitMessage.
	DefaultAuthor        Author
	DefaultCommitMessage string

	eng *Engine
}

var defaultEngine = NewEngine(Limits{})

func (d *Deps) engine() *Engine {
	if d == nil || d.eng == nil {
		return defaultEngine
	}
	return d.eng
}

// Author is a commit author.
type Author struct{ Name, Email string }

// Endpoints are the base URLs of the external APIs Greenroom's own actions
// call (sentry:create-project, n8n:trigger, github:*).
type Endpoints struct {
	Sentry, SentryToken string
	N8N, N8NToken       string
}

// GitAuth gives credentials for a git remote URL ("" for none).
type GitAuth func(remoteURL string) (user, password string)

// CatalogRegistrar is what catalog:register needs of the catalog.
type CatalogRegistrar interface {
	RegisterLocation(ctx context.Context, req RegisterRequest) (entityRef string, err error)
}

// RegisterRequest is one catalog:register call.
type RegisterRequest struct {
	Target   string // the catalog file's URL
	Optional bool
	TaskID   string
	// LocalFile is the catalog file in the task's workspace (absolute), ""
	// when absent: a registrar may read it when Target is on a host the
	// catalog cannot read.
	LocalFile string
}

// Registry holds the actions a task may use.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]*Action
}

// NewRegistry returns a registry of the built-in actions.
func NewRegistry() *Registry {
	r := &Registry{actions: map[string]*Action{}}
	for _, a := range builtinActions() {
		if err := r.Register(a); err != nil {
			panic(err)
		}
	}
	return r
}

// Register adds an action; its schemas must compile.
func (r *Registry) Register(a *Action) error {
	if a.ID == "" || a.Run == nil {
		return fmt.Errorf("scaffolder: action needs an id and Run")
	}
	if a.Input != nil {
		s, err := compileSchema(a.Input)
		if err != nil {
			return fmt.Errorf("scaffolder: action %s input schema: %w", a.ID, err)
		}
		a.inputSchema = s
	}
	if a.Output != nil {
		if _, err := compileSchema(a.Output); err != nil {
			return fmt.Errorf("scaffolder: action %s output schema: %w", a.ID, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.actions[a.ID]; dup {
		return fmt.Errorf("scaffolder: action %s registered twice", a.ID)
	}
	r.actions[a.ID] = a
	return nil
}

// Get returns an action by id.
func (r *Registry) Get(id string) (*Action, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.actions[id]
	return a, ok
}

// List returns the actions sorted by id.
func (r *Registry) List() []*Action {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Action, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckInput validates a rendered input against the action's schema.
func (a *Action) CheckInput(input map[string]any) error {
	if a.inputSchema == nil {
		return nil
	}
	if err := a.inputSchema.Validate(toJSONValue(input)); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "input does not match %s's schema: %s", a.ID, schemaMessage(err))
	}
	return nil
}

func builtinActions() []*Action {
	var out []*Action
	out = append(out, fetchActions()...)
	out = append(out, fsActions()...)
	out = append(out, debugLog(), debugWait(), catalogWrite(), catalogRegister(), publishGit())
	out = append(out, greenroomActions()...)
	out = append(out, githubActions()...)
	return out
}

// obj builds a JSON Schema object with properties and required keys.
func obj(required []string, props map[string]any) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		r := make([]any, len(required))
		for i, k := range required {
			r[i] = k
		}
		s["required"] = r
	}
	return s
}

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}
func strList(desc string) map[string]any {
	return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc}
}
func anyObj(desc string) map[string]any {
	return map[string]any{"type": "object", "description": desc}
}
