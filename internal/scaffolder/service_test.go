package scaffolder_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/goccy/go-yaml"

	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

// fakeCatalog serves templates parsed from YAML.
type fakeCatalog struct{ entities map[string]json.RawMessage }

func (c *fakeCatalog) Templates(context.Context) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for ref, e := range c.entities {
		if strings.HasPrefix(ref, "template:") {
			out = append(out, e)
		}
	}
	return out, nil
}

func (c *fakeCatalog) Entity(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if e, ok := c.entities[ref.String()]; ok {
		return e, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "no %s", ref)
}

type staticFiles struct{ fsys fs.FS }

func (s staticFiles) TemplateFiles(context.Context, map[string]any) (fs.FS, error) {
	return s.fsys, nil
}

func yamlToJSON(t testing.TB, src string) json.RawMessage {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const demoTemplate = `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: demo
  title: Demo
  tags: [go]
spec:
  owner: group:default/platform
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {type: string, pattern: '^[a-z][a-z0-9-]*$', ui:autofocus: true}
        withDocs: {type: boolean, default: true}
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
    - id: docs
      name: Docs
      if: ${{ parameters.withDocs }}
      action: debug:log
      input: {message: 'docs for ${{ parameters.name }}'}
    - id: mark
      name: Mark
      action: test:mark
      input: {}
    - id: write
      name: Write catalog file
      action: catalog:write
      input:
        entity:
          apiVersion: backstage.io/v1alpha1
          kind: Component
          metadata: {name: '${{ parameters.name }}'}
          spec: {type: service, lifecycle: experimental, owner: '${{ steps.mark.output.owner }}'}
  output:
    links:
      - title: Repository
        url: 'https://example.com/${{ parameters.name }}'
    text:
      - title: Marked
        content: '${{ steps.mark.output.owner }}'
`

var skeleton = fstest.MapFS{
	"skeleton/README.md":                 {Data: []byte("# ${{ values.name }}\n")},
	"skeleton/${{ values.name }}/app.go": {Data: []byte("package main // ${{ values.name }}\n")},
	"skeleton/bin.dat":                   {Data: []byte{0, 1, 2, '$', '{', '{'}},
}

type harness struct {
	svc   *scaffolder.Service
	marks *atomic.Int32
	fail  *atomic.Bool
	crash *atomic.Bool
	kill  context.CancelCauseFunc
	queue chan string
}

func newHarness(t testing.TB, dataDir string, st scaffolder.TaskStore) *harness {
	h := &harness{marks: new(atomic.Int32), fail: new(atomic.Bool), crash: new(atomic.Bool), queue: make(chan string, 10)}
	reg := scaffolder.NewRegistry()
	if err := reg.Register(&scaffolder.Action{ID: "test:mark", SideEffects: true, Input: map[string]any{"type": "object"},
		Run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			if h.crash.Load() {
				h.kill(errors.New("process killed")) // the worker dies mid-step
				<-ctx.Done()
				return ctx.Err()
			}
			if h.fail.Load() {
				ac.Created("external thing")
				return errors.New("boom")
			}
			h.marks.Add(1)
			ac.Output("owner", "group:default/team-a")
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	cat := &fakeCatalog{entities: map[string]json.RawMessage{"template:default/demo": yamlToJSON(t, demoTemplate)}}
	h.svc = scaffolder.NewService(scaffolder.Options{
		Store: st, Catalog: cat, Files: staticFiles{skeleton}, DataDir: dataDir, Actions: reg,
		Enqueue: func(_ context.Context, id string) error { h.queue <- id; return nil },
	})
	return h
}

func TestTaskRunsToCompletion(t *testing.T) {
	st := storetest.SQLite(t)
	dir := t.TempDir()
	h := newHarness(t, dir, st)
	ctx := t.Context()
	id, err := h.svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/demo", Values: map[string]any{"name": "billing", "withDocs": false}})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-h.queue; got != id {
		t.Fatalf("queued %s, want %s", got, id)
	}
	if err := h.svc.RunTask(ctx, id); err != nil {
		t.Fatal(err)
	}
	task, err := h.svc.Task(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != scaffolder.StatusCompleted {
		t.Fatalf("status %s (%s), want completed", task.Status, task.Error)
	}
	if task.Steps[1].Status != scaffolder.StatusSkipped {
		t.Errorf("docs step %s, want skipped by its if", task.Steps[1].Status)
	}
	ws := h.svc.Workspace(id)
	for name, want := range map[string]string{
		"README.md":         "# billing\n",
		"billing/app.go":    "package main // billing\n",
		"catalog-info.yaml": "owner: group:default/team-a",
	} {
		b, err := os.ReadFile(filepath.Join(ws, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s = %q, %v; want it to contain %q", name, b, err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "bin.dat")); string(b) != "\x00\x01\x02${{" {
		t.Errorf("binary file was changed: %q", b)
	}
	links, _ := task.Output["links"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["url"] != "https://example.com/billing" {
		t.Errorf("output links = %v", task.Output["links"])
	}
	evs, _ := h.svc.Events(ctx, id, 0)
	last := evs[len(evs)-1]
	if last.Type != scaffolder.EventCompletion || last.Body["status"] != "completed" {
		t.Errorf("last event = %+v, want completion", last)
	}
}

func TestCreateTaskRejectsBadValues(t *testing.T) {
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	_, err := h.svc.CreateTask(t.Context(), scaffolder.CreateRequest{TemplateRef: "template:default/demo", Values: map[string]any{"name": "Bad Name"}})
	if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), "/name") {
		t.Errorf("err = %v, want invalid naming /name", err)
	}
	_, err = h.svc.CreateTask(t.Context(), scaffolder.CreateRequest{TemplateRef: "template:default/missing"})
	if !greenroom.IsNotFound(err) {
		t.Errorf("missing template: err = %v", err)
	}
}

// TestResumeAfterCrash: the process dies during a step; a new service over
// the same store and data dir resumes from the last completed step without
// running completed side-effecting steps again.
func TestResumeAfterCrash(t *testing.T) {
	st := storetest.SQLite(t)
	dir := t.TempDir()
	h := newHarness(t, dir, st)
	ctx := t.Context()
	id, err := h.svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/demo", Values: map[string]any{"name": "billing"}})
	if err != nil {
		t.Fatal(err)
	}
	h.crash.Store(true)
	jobCtx, kill := context.WithCancelCause(ctx)
	h.kill = kill
	if err := h.svc.RunTask(jobCtx, id); err == nil {
		t.Fatal("RunTask returned nil for a run cut short; the job would not be run again")
	}
	task, _ := h.svc.Task(ctx, id)
	if task.Steps[0].Status != scaffolder.StatusCompleted || task.Steps[2].Status != scaffolder.StatusProcessing {
		t.Fatalf("steps after crash = %+v", task.Steps)
	}
	// a new process: fresh service, same store and data dir
	h2 := newHarness(t, dir, st)
	if err := h2.svc.RunTask(ctx, id); err != nil {
		t.Fatal(err)
	}
	task, _ = h2.svc.Task(ctx, id)
	if task.Status != scaffolder.StatusCompleted || h2.marks.Load() != 1 {
		t.Fatalf("resumed task %s, marks %d; want completed with the step run once", task.Status, h2.marks.Load())
	}
	evs, _ := h2.svc.Events(ctx, id, 0)
	var recovered bool
	for _, e := range evs {
		recovered = recovered || e.Type == scaffolder.EventRecovered
	}
	if !recovered {
		t.Error("no recovered event after the resume")
	}
}

func TestFailRetryAndCancel(t *testing.T) {
	st := storetest.SQLite(t)
	h := newHarness(t, t.TempDir(), st)
	ctx := t.Context()
	id, err := h.svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/demo", Values: map[string]any{"name": "billing"}})
	if err != nil {
		t.Fatal(err)
	}
	h.fail.Store(true)
	if err := h.svc.RunTask(ctx, id); err != nil {
		t.Fatal(err)
	}
	task, _ := h.svc.Task(ctx, id)
	if task.Status != scaffolder.StatusFailed || !strings.Contains(task.Error, "boom") || !strings.Contains(task.Error, "external thing") {
		t.Fatalf("failed task = %s %q; want failed with the error and what was created", task.Status, task.Error)
	}
	h.fail.Store(false)
	if err := h.svc.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RunTask(ctx, <-h.queue); err != nil {
		t.Fatal(err)
	}
	if task, _ = h.svc.Task(ctx, id); task.Status != scaffolder.StatusCompleted {
		t.Fatalf("after retry: %s %s", task.Status, task.Error)
	}
	if err := h.svc.Retry(ctx, id); greenroom.ErrorCode(err) != greenroom.CodeConflict {
		t.Errorf("retry of a completed task: %v, want conflict", err)
	}
	id2, _ := h.svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/demo", Values: map[string]any{"name": "other"}})
	if _, err := h.svc.Cancel(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RunTask(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if task, _ = h.svc.Task(ctx, id2); task.Status != scaffolder.StatusCancelled || task.Steps[0].Status != scaffolder.StatusOpen {
		t.Errorf("cancelled task ran: %s %+v", task.Status, task.Steps)
	}
}

func TestDryRunHasNoSideEffects(t *testing.T) {
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	res, err := h.svc.DryRun(t.Context(), scaffolder.DryRunRequest{
		Template: yamlToJSON(t, demoTemplate), Values: map[string]any{"name": "preview"},
	}, skeleton)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != scaffolder.StatusCompleted || h.marks.Load() != 0 {
		t.Fatalf("dry-run status %s (%s), side-effecting action ran %d times", res.Status, res.Error, h.marks.Load())
	}
	var paths []string
	for _, f := range res.DirectoryContents {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, ",") != "README.md,bin.dat,catalog-info.yaml,preview/app.go" {
		t.Errorf("dry-run files = %v", paths)
	}
}

func toFS(v any) fs.FS { return v.(fs.FS) }

// TestCancelRunningTask: cancelling a task stops the step that is running.
func TestCancelRunningTask(t *testing.T) {
	st := storetest.SQLite(t)
	src := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: slow}\nspec:\n  steps:\n    - {id: wait, action: debug:wait, input: {seconds: 60}}\n    - {id: after, action: debug:log, input: {message: never}}\n"
	cat := &fakeCatalog{entities: map[string]json.RawMessage{"template:default/slow": yamlToJSON(t, src)}}
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: cat, DataDir: t.TempDir()})
	ctx := t.Context()
	id, err := svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/slow"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.RunTask(ctx, id) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		task, _ := svc.Task(ctx, id)
		if len(task.Steps) > 0 && task.Steps[0].Status == scaffolder.StatusProcessing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the wait step did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if _, err := svc.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunTask still running 5s after cancel")
	}
	task, _ := svc.Task(ctx, id)
	if task.Status != scaffolder.StatusCancelled || task.Steps[1].Status != scaffolder.StatusOpen {
		t.Errorf("after cancel: %s %+v", task.Status, task.Steps)
	}
	t.Logf("cancelled in %s", time.Since(start))
}
