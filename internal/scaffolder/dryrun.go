package scaffolder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing/fstest"
	"time"

	"greenroom/internal/greenroom"
)

// File is one file of a dry-run's input or output, as Backstage sends it.
type File struct {
	Path          string `json:"path"`
	Base64Content string `json:"base64Content"`
	Executable    bool   `json:"executable,omitempty"`
}

// DryRunRequest is POST /v2/dry-run.
type DryRunRequest struct {
	Template          json.RawMessage   `json:"template"`
	Values            map[string]any    `json:"values"`
	Secrets           map[string]string `json:"secrets,omitempty"`
	DirectoryContents []File            `json:"directoryContents"`
}

// DryRunLog is one log line of a dry-run.
type DryRunLog struct {
	Body map[string]any `json:"body"`
}

// DryRunResult is Backstage's dry-run response.
type DryRunResult struct {
	Log               []DryRunLog    `json:"log"`
	DirectoryContents []File         `json:"directoryContents"`
	Output            map[string]any `json:"output"`
	Steps             []DryRunStep   `json:"steps"`
	Status            Status         `json:"status"`
	Error             string         `json:"error,omitempty"`
}

// DryRunStep names a step of the dry-run.
type DryRunStep struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Status Status `json:"status"`
}

// Dry-run bounds.
const (
	maxDryRunFiles = 5000
	maxDryRunBytes = 50 << 20
)

// DryRun renders a template with values into a temporary workspace,
// skipping every action with side effects, and returns the files, the log
// and the output. Nothing outside the temporary directory changes. Files
// come from req.DirectoryContents, or from files when that is empty.
func (s *Service) DryRun(ctx context.Context, req DryRunRequest, files fs.FS) (DryRunResult, error) {
	var ent map[string]any
	if err := json.Unmarshal(req.Template, &ent); err != nil {
		return DryRunResult{}, greenroom.Errorf(greenroom.CodeInvalid, "template: %v", err)
	}
	tmpl, err := TemplateFromEntity(ent)
	if err != nil {
		return DryRunResult{}, err
	}
	if ps := tmpl.Validate(s.actions, s.engine); len(ps) > 0 {
		return DryRunResult{}, greenroom.Errorf(greenroom.CodeInvalid, "template is invalid: %s", Problems(ps).Error())
	}
	req.Values = tmpl.WithDefaults(req.Values)
	if err := tmpl.ValidateValues(req.Values); err != nil {
		return DryRunResult{}, err
	}
	if len(req.DirectoryContents) > 0 {
		mfs, err := memFS(req.DirectoryContents)
		if err != nil {
			return DryRunResult{}, err
		}
		files = mfs
	}
	ws, err := os.MkdirTemp("", "greenroom-dry-run-")
	if err != nil {
		return DryRunResult{}, err
	}
	defer os.RemoveAll(ws)
	spec := s.spec(tmpl, req.Values, s.user(ctx))
	t := &Task{ID: "dry-run", Spec: spec, Status: StatusProcessing, CreatedAt: time.Now().UTC(), Steps: make([]StepState, len(spec.Steps))}
	for i, st := range spec.Steps {
		t.Steps[i] = StepState{ID: st.ID, Status: StatusOpen}
	}
	res := DryRunResult{Log: []DryRunLog{}, Output: map[string]any{}}
	r := &run{
		svc: s, task: t, workspace: ws, files: files, dryRun: true, secrets: req.Secrets,
		emit: func(_ context.Context, stepID string, status Status, msg string) {
			b := map[string]any{"message": msg, "stepId": stepID}
			if status != "" {
				b["status"] = string(status)
			}
			res.Log = append(res.Log, DryRunLog{Body: b})
		},
		checkpoint: func(context.Context) error { return nil },
	}
	runErr := r.execute(ctx, false)
	for i, st := range spec.Steps {
		res.Steps = append(res.Steps, DryRunStep{ID: st.ID, Name: st.Name, Action: st.Action, Status: t.Steps[i].Status})
	}
	if runErr != nil {
		res.Status, res.Error = StatusFailed, runErr.Error()
	} else {
		res.Status = StatusCompleted
		res.Output = orEmpty(t.Output)
	}
	res.DirectoryContents, err = readTree(ws)
	if err != nil {
		return res, err
	}
	return res, nil
}

func memFS(files []File) (fs.FS, error) {
	m := fstest.MapFS{}
	total := 0
	if len(files) > maxDryRunFiles {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "directoryContents has more than %d files", maxDryRunFiles)
	}
	for _, f := range files {
		p := path.Clean(filepathToSlash(f.Path))
		if p == "." || path.IsAbs(p) || p == ".." || len(p) > 2 && p[:3] == "../" {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "directoryContents: path %q must be relative and stay inside the template", f.Path)
		}
		b, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "directoryContents %s: base64Content: %v", f.Path, err)
		}
		total += len(b)
		if total > maxDryRunBytes {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "directoryContents is larger than %d bytes", maxDryRunBytes)
		}
		mode := fs.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		m[p] = &fstest.MapFile{Data: b, Mode: mode}
	}
	return m, nil
}

func filepathToSlash(p string) string { return filepath.ToSlash(p) }

// readTree returns a workspace's files (without .git), sorted by path.
func readTree(dir string) ([]File, error) {
	out := []File{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, _ := d.Info()
		out = append(out, File{Path: filepath.ToSlash(rel), Base64Content: base64.StdEncoding.EncodeToString(b), Executable: fi != nil && fi.Mode()&0o111 != 0})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}
