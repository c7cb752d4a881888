package scaffolder

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/goccy/go-yaml"

	"greenroom/internal/greenroom"
)

func fsActions() []*Action {
	return []*Action{
		{
			ID:          "fs:rename",
			Description: "Renames files or directories in the workspace.",
			Input: obj([]string{"files"}, map[string]any{
				"files": map[string]any{"type": "array", "description": "A list of file and directory names to rename.",
					"items": obj([]string{"from", "to"}, map[string]any{
						"from": str("The source location of the file to be renamed."), "to": str("The destination of the new file."),
						"overwrite": boolean("Overwrite existing file or directory, default is false."),
					})},
			}),
			Run: runRename,
		},
		{
			ID:          "fs:delete",
			Description: "Deletes files and directories (paths or globs) from the workspace.",
			Input: obj([]string{"files"}, map[string]any{
				"files": strList("A list of files and directories (or globs) that will be deleted."),
			}),
			Run: runDelete,
		},
	}
}

func runRename(_ context.Context, ac *ActionContext) error {
	files, _ := ac.Input["files"].([]any)
	for _, f := range files {
		m, _ := f.(map[string]any)
		from, _ := m["from"].(string)
		to, _ := m["to"].(string)
		overwrite, _ := m["overwrite"].(bool)
		src, err := inWorkspace(ac.Workspace, from)
		if err != nil {
			return err
		}
		dst, err := inWorkspace(ac.Workspace, to)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(src); err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "fs:rename: %s does not exist", from)
		}
		if _, err := os.Lstat(dst); err == nil {
			if !overwrite {
				return greenroom.Errorf(greenroom.CodeConflict, "fs:rename: %s already exists (set overwrite: true)", to)
			}
			if err := os.RemoveAll(dst); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		ac.Logf("Renaming %s to %s", from, to)
		if err := os.Rename(src, dst); err != nil {
			return err
		}
	}
	return nil
}

func runDelete(_ context.Context, ac *ActionContext) error {
	for _, pattern := range ac.strings("files") {
		if _, err := inWorkspace(ac.Workspace, pattern); err != nil {
			return err
		}
		matches, err := doublestar.Glob(os.DirFS(ac.Workspace), strings.TrimPrefix(filepath.ToSlash(filepath.Clean(pattern)), "./"), doublestar.WithNoFollow())
		if err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "fs:delete: glob %q: %v", pattern, err)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			p, err := inWorkspace(ac.Workspace, m)
			if err != nil {
				return err
			}
			ac.Logf("Deleting %s", m)
			if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func debugLog() *Action {
	return &Action{
		ID:          "debug:log",
		Description: "Writes a message into the log and/or lists the files in the workspace.",
		Input: map[string]any{"type": "object", "properties": map[string]any{
			"message":       str("Message to output."),
			"listWorkspace": map[string]any{"type": []any{"boolean", "string"}, "description": "List the workspace files: true, with-filenames or with-contents."},
			"extra":         map[string]any{"description": "Extra info to output, of any type."},
		}},
		Run: func(_ context.Context, ac *ActionContext) error {
			if m := ac.str("message"); m != "" {
				ac.Logf("%s", m)
			}
			if x, ok := ac.Input["extra"]; ok {
				b, _ := yaml.Marshal(x)
				ac.Logf("%s", strings.TrimSpace(string(b)))
			}
			mode := ac.Input["listWorkspace"]
			if mode == nil || mode == false {
				return nil
			}
			withContents := mode == "with-contents"
			var lines []string
			err := filepath.WalkDir(ac.Workspace, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(ac.Workspace, p)
				line := filepath.ToSlash(rel)
				if withContents {
					b, _ := os.ReadFile(p)
					line += ":\n" + string(b[:min(len(b), 4096)])
				}
				lines = append(lines, line)
				return nil
			})
			if err != nil {
				return err
			}
			ac.Logf("Workspace:\n%s", strings.Join(lines, "\n"))
			return nil
		},
	}
}

// maxWait bounds debug:wait.
const maxWait = 10 * time.Minute

func debugWait() *Action {
	return &Action{
		ID:          "debug:wait",
		Description: "Waits for a certain period of time.",
		Input: map[string]any{"type": "object", "properties": map[string]any{
			"minutes": map[string]any{"type": "number"}, "seconds": map[string]any{"type": "number"}, "milliseconds": map[string]any{"type": "number"},
		}},
		Run: func(ctx context.Context, ac *ActionContext) error {
			var d time.Duration
			for k, unit := range map[string]time.Duration{"minutes": time.Minute, "seconds": time.Second, "milliseconds": time.Millisecond} {
				if v, ok := ac.Input[k].(float64); ok && v > 0 {
					d += time.Duration(v * float64(unit))
				}
			}
			if d > maxWait {
				return greenroom.Errorf(greenroom.CodeInvalid, "debug:wait: %s is longer than the %s allowed", d, maxWait)
			}
			ac.Logf("Waiting for %s", d)
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	}
}

func catalogWrite() *Action {
	return &Action{
		ID:          "catalog:write",
		Description: "Writes the catalog-info.yaml for your template.",
		Input: obj([]string{"entity"}, map[string]any{
			"filePath": str("Defaults to catalog-info.yaml."),
			"entity":   anyObj("You can provide the same values used in the Entity schema."),
		}),
		Run: func(_ context.Context, ac *ActionContext) error {
			fp := ac.str("filePath")
			if fp == "" {
				fp = "catalog-info.yaml"
			}
			dst, err := inWorkspace(ac.Workspace, fp)
			if err != nil {
				return err
			}
			b, err := yaml.MarshalWithOptions(ac.Input["entity"], yaml.IndentSequence(true))
			if err != nil {
				return err
			}
			ac.Logf("Writing %s", fp)
			return writeFile(dst, b, 0o644, true)
		},
	}
}

func catalogRegister() *Action {
	return &Action{
		ID:          "catalog:register",
		Description: "Registers entities from a catalog descriptor file in the workspace into the software catalog.",
		Input: map[string]any{"type": "object", "oneOf": []any{
			map[string]any{"required": []any{"catalogInfoUrl"}},
			map[string]any{"required": []any{"repoContentsUrl"}},
		}, "properties": map[string]any{
			"catalogInfoUrl":  str("An absolute URL pointing to the catalog info file location."),
			"repoContentsUrl": str("An absolute URL pointing to the root of a repository directory tree."),
			"catalogInfoPath": str("A relative path from the repo root pointing to the catalog info file, defaults to /catalog-info.yaml."),
			"optional":        boolean("Permit the registered location to optionally exist. Default: false."),
		}},
		Output:      obj(nil, map[string]any{"entityRef": str("The registered entity."), "catalogInfoUrl": str("The registered location.")}),
		SideEffects: true,
		Run: func(ctx context.Context, ac *ActionContext) error {
			target := ac.str("catalogInfoUrl")
			if target == "" {
				p := ac.str("catalogInfoPath")
				if p == "" {
					p = "/catalog-info.yaml"
				}
				target = strings.TrimSuffix(ac.str("repoContentsUrl"), "/") + "/" + strings.TrimPrefix(p, "/")
			}
			if ac.Deps == nil || ac.Deps.Catalog == nil {
				return greenroom.Errorf(greenroom.CodeUnavailable, "catalog:register: no catalog is connected")
			}
			ac.Logf("Registering %s in the catalog", target)
			req := RegisterRequest{Target: target, Optional: ac.boolean("optional"), TaskID: ac.TaskID}
			p := ac.str("catalogInfoPath")
			if p == "" {
				p = "catalog-info.yaml"
			}
			if local, err := inWorkspace(ac.Workspace, strings.TrimPrefix(p, "/")); err == nil {
				if fi, err := os.Stat(local); err == nil && fi.Mode().IsRegular() {
					req.LocalFile = local
				}
			}
			ref, err := ac.Deps.Catalog.RegisterLocation(ctx, req)
			if err != nil {
				return err
			}
			ac.Created("catalog location " + target)
			ac.Output("catalogInfoUrl", target)
			if ref != "" {
				ac.Output("entityRef", ref)
			}
			return nil
		},
	}
}
