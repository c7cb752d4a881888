package store_test

import (
	"testing"
	"time"

	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestScaffolderTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		task := scaffolder.Task{
			ID: "00000000-0000-4000-8000-00000000000a", Status: scaffolder.StatusOpen, CreatedAt: time.Now().UTC(), CreatedBy: "user:default/jane",
			Spec:  scaffolder.TaskSpec{APIVersion: scaffolder.APIVersion, Parameters: map[string]any{"name": "svc"}, Steps: []scaffolder.Step{{ID: "a", Name: "A", Action: "debug:log"}}},
			Steps: []scaffolder.StepState{{ID: "a", Status: scaffolder.StatusOpen}},
		}
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTask(ctx, task); err == nil {
			t.Error("a task id stored twice was accepted")
		}
		if _, err := s.Task(ctx, "nope"); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
			t.Errorf("unknown task: err %v, want not_found", err)
		}
		task.Status = scaffolder.StatusProcessing
		task.Steps[0].Status = scaffolder.StatusCompleted
		task.Steps[0].Output = map[string]any{"x": "y"}
		hb := time.Now().UTC()
		task.LastHeartbeatAt = &hb
		if err := s.SaveTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		got, err := s.Task(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != scaffolder.StatusProcessing || got.Steps[0].Output["x"] != "y" || got.Spec.Parameters["name"] != "svc" || got.LastHeartbeatAt == nil || got.CreatedBy != "user:default/jane" {
			t.Errorf("stored task = %+v", got)
		}
		// cancellation wins over a runner's later processing/completed write
		task.Status = scaffolder.StatusCancelled
		if err := s.SaveTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		task.Status = scaffolder.StatusCompleted
		if err := s.SaveTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Task(ctx, task.ID); got.Status != scaffolder.StatusCancelled {
			t.Errorf("status after cancel then complete = %s, want cancelled", got.Status)
		}
		for i := range 3 {
			if _, err := s.AppendTaskEvent(ctx, scaffolder.Event{TaskID: task.ID, Type: scaffolder.EventLog, Body: map[string]any{"message": "m", "n": i}}); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := s.TaskEvents(ctx, task.ID, 0, 0)
		if err != nil || len(evs) != 3 {
			t.Fatalf("events = %v, %v; want 3", evs, err)
		}
		after, _ := s.TaskEvents(ctx, task.ID, evs[0].ID, 0)
		if len(after) != 2 || after[0].ID != evs[1].ID {
			t.Errorf("events after the first = %v", after)
		}
		list, total, err := s.ListTasks(ctx, scaffolder.TaskFilter{CreatedBy: "user:default/jane"})
		if err != nil || total != 1 || len(list) != 1 {
			t.Errorf("ListTasks = %v, %d, %v", list, total, err)
		}
		if _, total, _ := s.ListTasks(ctx, scaffolder.TaskFilter{CreatedBy: "user:default/other"}); total != 0 {
			t.Errorf("other user's tasks: %d", total)
		}
	})
}
