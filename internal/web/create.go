package web

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
)

func init() { registerNav(navItem{ID: "create", Label: "Create", Path: "/create", Order: 40}) }

// Scaffolder is what the create pages need of the scaffolder service.
type Scaffolder interface {
	Templates(ctx context.Context) ([]*scaffolder.Template, error)
	Template(ctx context.Context, ref greenroom.EntityRef) (*scaffolder.Template, error)
	CreateTask(ctx context.Context, req scaffolder.CreateRequest) (string, error)
	Task(ctx context.Context, id string) (scaffolder.Task, error)
	ListTasks(ctx context.Context, f scaffolder.TaskFilter) ([]scaffolder.Task, int, error)
	Events(ctx context.Context, id string, after int64) ([]scaffolder.Event, error)
	Cancel(ctx context.Context, id string) (scaffolder.Status, error)
	Retry(ctx context.Context, id string) error
	DryRun(ctx context.Context, req scaffolder.DryRunRequest, files fs.FS) (scaffolder.DryRunResult, error)
	TemplateFiles(ctx context.Context, entity map[string]any) fs.FS
}

// PickerSource lists entities of a kind for the form's pickers.
type PickerSource interface {
	Entities(ctx context.Context, kind string) ([]json.RawMessage, error)
}

// CreatePages are the golden-path pages: /create and what follows it.
type CreatePages struct {
	h       *Handler
	svc     Scaffolder
	pickers PickerSource
}

// CreatePages returns the create pages over svc.
func (h *Handler) CreatePages(svc Scaffolder, pickers PickerSource) *CreatePages {
	return &CreatePages{h: h, svc: svc, pickers: pickers}
}

// Routes registers the create pages.
func (c *CreatePages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /create", c.h.handle(c.list))
	mux.Handle("GET /create/templates/{namespace}/{name}", c.h.handle(c.form))
	mux.Handle("POST /create/templates/{namespace}/{name}", c.h.handle(c.submit))
	mux.Handle("GET /create/tasks", c.h.handle(c.tasks))
	mux.Handle("GET /create/tasks/{id}", c.h.handle(c.task))
	mux.Handle("POST /create/tasks/{id}", c.h.handle(c.taskAction))
	mux.Handle("GET /create/edit", c.h.handle(c.editor))
	mux.Handle("POST /create/edit", c.h.handle(c.editorRun))
}

type templateCard struct {
	Title, Description, Type, Owner, Path string
	Tags                                  []string
}

type filterOption struct {
	Value    string
	Selected bool
}

type createListView struct {
	Cards                   []templateCard
	Tags, Owners, Types     []filterOption
	Tag, Owner, Type, Query string
	Total                   int
	Can                     control // may the viewer run templates
}

func options(values map[string]bool, selected string) []filterOption {
	out := make([]filterOption, 0, len(values))
	for v := range values {
		out = append(out, filterOption{Value: v, Selected: v == selected})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

func (c *CreatePages) list(w http.ResponseWriter, r *http.Request) error {
	all, err := c.svc.Templates(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := createListView{Tag: q.Get("tag"), Owner: q.Get("owner"), Type: q.Get("type"), Query: strings.TrimSpace(q.Get("q")), Total: len(all)}
	tags, owners, types := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, t := range all {
		for _, tag := range t.Tags {
			tags[tag] = true
		}
		if t.Owner != "" {
			owners[t.Owner] = true
		}
		if t.Type != "" {
			types[t.Type] = true
		}
		if (v.Tag != "" && !slices.Contains(t.Tags, v.Tag)) || (v.Owner != "" && t.Owner != v.Owner) || (v.Type != "" && t.Type != v.Type) {
			continue
		}
		title := t.Title
		if title == "" {
			title = t.Ref.Name
		}
		if v.Query != "" && !strings.Contains(strings.ToLower(title+" "+t.Description), strings.ToLower(v.Query)) {
			continue
		}
		v.Cards = append(v.Cards, templateCard{Title: title, Description: t.Description, Type: t.Type, Owner: t.Owner, Tags: t.Tags,
			Path: "/create/templates/" + url.PathEscape(t.Ref.Namespace) + "/" + url.PathEscape(t.Ref.Name)})
	}
	v.Tags, v.Owners, v.Types = options(tags, v.Tag), options(owners, v.Owner), options(types, v.Type)
	target := "/create/templates/default/template"
	if len(v.Cards) > 0 {
		target = v.Cards[0].Path
	}
	v.Can = c.h.can(r, http.MethodPost, target, "create-why", "run templates")
	return c.h.render(w, r, http.StatusOK, "create_list", &page{Title: "Create something new", Nav: "create", Data: v})
}

// canRun says whether the viewer may run templates (review and create
// post to action, the run rule).
func (c *CreatePages) canRun(r *http.Request, action string) control {
	return c.h.can(r, http.MethodPost, action, "create-why", "run this template")
}

func (c *CreatePages) template(r *http.Request) (*scaffolder.Template, error) {
	ref := greenroom.EntityRef{Kind: "template", Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	return c.svc.Template(r.Context(), ref)
}

func (c *CreatePages) form(w http.ResponseWriter, r *http.Request) error {
	t, err := c.template(r)
	if err != nil {
		return err
	}
	v := c.formView(r.Context(), t, t.WithDefaults(nil), nil)
	v.Can = c.canRun(r, v.Action)
	return c.h.render(w, r, http.StatusOK, "create_form", &page{Title: v.Title, Nav: "create", Data: v})
}

func (c *CreatePages) submit(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	t, err := c.template(r)
	if err != nil {
		return err
	}
	values, fieldErrs := formValues(t, r.PostForm)
	status := http.StatusOK
	if err := t.ValidateValues(t.WithDefaults(values)); err != nil {
		for k, msg := range schemaFieldErrors(t, err) {
			if _, ok := fieldErrs[k]; !ok && !(k == "" && len(fieldErrs) > 0) {
				fieldErrs[k] = msg
			}
		}
	}
	if r.PostFormValue("action") == "edit" {
		v := c.formView(r.Context(), t, values, nil)
		v.Can = c.canRun(r, v.Action)
		return c.h.render(w, r, http.StatusOK, "create_form", &page{Title: v.Title, Nav: "create", Data: v})
	}
	if len(fieldErrs) > 0 {
		v := c.formView(r.Context(), t, values, fieldErrs)
		v.Can = c.canRun(r, v.Action)
		return c.h.render(w, r, http.StatusUnprocessableEntity, "create_form", &page{Title: v.Title, Nav: "create", Data: v})
	}
	if r.PostFormValue("action") != "create" {
		v := c.formView(r.Context(), t, values, nil)
		v.Can = c.canRun(r, v.Action)
		v.Review = true
		return c.h.render(w, r, status, "create_form", &page{Title: "Review: " + v.Title, Nav: "create", Data: v})
	}
	id, err := c.svc.CreateTask(r.Context(), scaffolder.CreateRequest{TemplateRef: t.Ref.String(), Values: values})
	if err != nil {
		if greenroom.ErrorCode(err) == greenroom.CodeInvalid {
			v := c.formView(r.Context(), t, values, map[string]string{"": greenroom.ErrorMessage(err)})
			v.Can = c.canRun(r, v.Action)
			return c.h.render(w, r, http.StatusUnprocessableEntity, "create_form", &page{Title: v.Title, Nav: "create", Data: v})
		}
		return err
	}
	http.Redirect(w, r, "/create/tasks/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

type taskRow struct {
	ID, Template, Status, CreatedBy, Created, Path string
}

func (c *CreatePages) tasks(w http.ResponseWriter, r *http.Request) error {
	// createdBy filters as in the API; a caller who may not see others'
	// tasks only ever lists their own (the service scopes it).
	ts, total, err := c.svc.ListTasks(r.Context(), scaffolder.TaskFilter{Limit: 100, CreatedBy: r.URL.Query().Get("createdBy")})
	if err != nil {
		return err
	}
	rows := make([]taskRow, 0, len(ts))
	for _, t := range ts {
		ref, _ := t.Spec.TemplateInfo["entityRef"].(string)
		rows = append(rows, taskRow{ID: t.ID, Template: ref, Status: string(t.Status), CreatedBy: t.CreatedBy,
			Created: t.CreatedAt.Format("2006-01-02 15:04:05 UTC"), Path: "/create/tasks/" + url.PathEscape(t.ID)})
	}
	return c.h.render(w, r, http.StatusOK, "create_tasks", &page{Title: "Tasks", Nav: "create", Data: map[string]any{"Rows": rows, "Total": total}})
}

type stepView struct {
	ID, Name, Action, Status, Error string
	Log                             []string
}

type linkView struct{ Title, URL string }

type taskView struct {
	ID, Template, Status, Error, CreatedBy, Created string
	Steps                                           []stepView
	TaskLog                                         []string
	Links                                           []linkView
	LastEvent                                       int64
	Running, CanRetry, CanCancel                    bool
	StreamURL                                       string
	Can                                             control // may the viewer cancel or retry
}

func (c *CreatePages) task(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	t, err := c.svc.Task(r.Context(), id)
	if err != nil {
		return err
	}
	evs, err := c.svc.Events(r.Context(), id, 0)
	if err != nil {
		return err
	}
	v := taskView{ID: t.ID, Status: string(t.Status), Error: t.Error, CreatedBy: t.CreatedBy, Created: t.CreatedAt.Format("2006-01-02 15:04:05 UTC"),
		Running: !t.Status.Terminal(), CanRetry: t.Status == scaffolder.StatusFailed || t.Status == scaffolder.StatusCancelled, CanCancel: !t.Status.Terminal(),
		StreamURL: "/api/scaffolder/v2/tasks/" + url.PathEscape(t.ID) + "/eventstream"}
	v.Template, _ = t.Spec.TemplateInfo["entityRef"].(string)
	v.Can = c.h.can(r, http.MethodPost, "/create/tasks/"+url.PathEscape(t.ID), "task-why", "cancel or retry tasks")
	index := map[string]int{}
	for i, st := range t.Spec.Steps {
		sv := stepView{ID: st.ID, Name: st.Name, Action: st.Action, Status: string(scaffolder.StatusOpen)}
		if i < len(t.Steps) {
			sv.Status, sv.Error = string(t.Steps[i].Status), t.Steps[i].Error
		}
		index[st.ID] = i
		v.Steps = append(v.Steps, sv)
	}
	for _, e := range evs {
		v.LastEvent = e.ID
		msg, _ := e.Body["message"].(string)
		line := e.CreatedAt.Format("15:04:05") + " " + msg
		if step, _ := e.Body["stepId"].(string); step != "" {
			if i, ok := index[step]; ok {
				v.Steps[i].Log = append(v.Steps[i].Log, line)
				continue
			}
		}
		v.TaskLog = append(v.TaskLog, line)
	}
	if links, ok := t.Output["links"].([]any); ok {
		for _, l := range links {
			m, _ := l.(map[string]any)
			title, _ := m["title"].(string)
			u, _ := m["url"].(string)
			if ref, _ := m["entityRef"].(string); ref != "" && u == "" {
				u = entityPathFromRef(ref)
			}
			if u != "" && (strings.HasPrefix(u, "/") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
				v.Links = append(v.Links, linkView{Title: or(title, u), URL: u})
			}
		}
	}
	return c.h.render(w, r, http.StatusOK, "create_task", &page{Title: "Task " + shortID(t.ID), Nav: "create", Data: v})
}

func entityPathFromRef(ref string) string {
	er, err := greenroom.ParseEntityRef(ref, "component", "default")
	if err != nil {
		return ""
	}
	return "/catalog/" + url.PathEscape(er.Namespace) + "/" + url.PathEscape(strings.ToLower(er.Kind)) + "/" + url.PathEscape(er.Name)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (c *CreatePages) taskAction(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	var err error
	switch r.PostFormValue("action") {
	case "cancel":
		_, err = c.svc.Cancel(r.Context(), id)
	case "retry":
		err = c.svc.Retry(r.Context(), id)
	default:
		return greenroom.Errorf(greenroom.CodeInvalid, "unknown action %q", r.PostFormValue("action"))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/create/tasks/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// the template editor

type editorView struct {
	Template, Values string
	Ran              bool
	Result           scaffolder.DryRunResult
	Files            []editorFile
	Error            string
	Examples         []filterOption
}

type editorFile struct {
	Path, Content string
	Binary        bool
}

const maxEditorTemplate = 256 << 10

func (c *CreatePages) editor(w http.ResponseWriter, r *http.Request) error {
	v := editorView{Values: "name: my-service\nowner: group:default/team-payments\nrepoUrl: github.com?owner=acme-ledger&repo=my-service\n"}
	if ref := r.URL.Query().Get("template"); ref != "" {
		if er, err := greenroom.ParseEntityRef(ref, "template", "default"); err == nil {
			if t, err := c.svc.Template(r.Context(), er); err == nil {
				v.Template = entityYAML(t.Entity)
			}
		}
	}
	return c.h.render(w, r, http.StatusOK, "create_editor", &page{Title: "Template editor", Nav: "create", Data: v})
}

func (c *CreatePages) editorRun(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxEditorTemplate*2)
	if err := r.ParseForm(); err != nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "The form could not be read: %v", err)
	}
	if err := checkCSRF(r); err != nil {
		return err
	}
	v := editorView{Template: r.PostFormValue("template"), Values: r.PostFormValue("values"), Ran: true}
	status := http.StatusOK
	raw, ent, values, err := parseEditorInput(v.Template, v.Values)
	if err == nil {
		v.Result, err = c.svc.DryRun(r.Context(), scaffolder.DryRunRequest{Template: raw, Values: values}, c.svc.TemplateFiles(r.Context(), ent))
	}
	if err != nil {
		v.Error, status = greenroom.ErrorMessage(err), http.StatusUnprocessableEntity
		if greenroom.ErrorCode(err) == greenroom.CodeInternal {
			return err
		}
	}
	v.Files = editorFiles(v.Result.DirectoryContents)
	return c.h.render(w, r, status, "create_editor", &page{Title: "Template editor", Nav: "create", Data: v})
}
