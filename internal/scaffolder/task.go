package scaffolder

import (
	"context"
	"encoding/json"
	"time"
)

// Status is a task's (or step's) status, with Backstage's names.
type Status string

// Task and step statuses.
const (
	StatusOpen       Status = "open"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
	StatusSkipped    Status = "skipped"
)

// Terminal reports whether a task in this status will not run again
// (until retried).
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// TaskSpec is Backstage's TaskSpecV1beta3: what a task runs.
type TaskSpec struct {
	APIVersion   string         `json:"apiVersion"`
	Steps        []Step         `json:"steps"`
	Output       map[string]any `json:"output"`
	Parameters   map[string]any `json:"parameters"`
	User         map[string]any `json:"user,omitempty"`
	TemplateInfo map[string]any `json:"templateInfo,omitempty"`
}

// StepState is a step's stored progress: what resume and retry start from.
type StepState struct {
	ID        string         `json:"id"`
	Status    Status         `json:"status"`
	Output    map[string]any `json:"output,omitempty"`
	Error     string         `json:"error,omitempty"`
	Created   []string       `json:"created,omitempty"`
	StartedAt *time.Time     `json:"startedAt,omitempty"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	Attempts  int            `json:"attempts,omitempty"`
}

// Task is one run of a template.
type Task struct {
	ID              string         `json:"id"`
	Spec            TaskSpec       `json:"spec"`
	Status          Status         `json:"status"`
	CreatedAt       time.Time      `json:"createdAt"`
	LastHeartbeatAt *time.Time     `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string         `json:"createdBy,omitempty"`
	Steps           []StepState    `json:"steps"`
	Output          map[string]any `json:"output,omitempty"`
	Error           string         `json:"error,omitempty"`
}

// Event types, as Backstage's SerializedTaskEvent.
const (
	EventLog        = "log"
	EventCompletion = "completion"
	EventCancelled  = "cancelled"
	EventRecovered  = "recovered"
)

// Event is one entry of a task's stored log.
type Event struct {
	ID        int64          `json:"id"`
	TaskID    string         `json:"taskId"`
	Type      string         `json:"type"`
	Body      map[string]any `json:"body"`
	CreatedAt time.Time      `json:"createdAt"`
}

// TaskFilter selects tasks to list.
type TaskFilter struct {
	CreatedBy string
	Status    Status
	Limit     int
	Offset    int
}

// TaskStore keeps tasks and their events; internal/store implements it.
// Task returns an error with code not_found for an unknown id.
type TaskStore interface {
	CreateTask(ctx context.Context, t Task) error
	Task(ctx context.Context, id string) (Task, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, int, error)
	// SaveTask stores status, steps, output, error and heartbeat.
	SaveTask(ctx context.Context, t Task) error
	AppendTaskEvent(ctx context.Context, e Event) (int64, error)
	TaskEvents(ctx context.Context, taskID string, after int64, limit int) ([]Event, error)
}

// Enqueuer durably queues a task run (the jobs pool).
type Enqueuer func(ctx context.Context, taskID string) error

// TaskJobKind is the job kind that runs a task.
const TaskJobKind = "scaffolder.task"

// TaskJob is the payload of a task job.
type TaskJob struct {
	TaskID string `json:"taskId"`
}

// DecodeTaskJob reads a job payload.
func DecodeTaskJob(payload []byte) (TaskJob, error) {
	var j TaskJob
	err := json.Unmarshal(payload, &j)
	return j, err
}
