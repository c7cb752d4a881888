package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"greenroom/internal/scaffolder"
)

// maxTemplateFile bounds a template file read by the template commands.
const maxTemplateFile = 4 << 20

func newTemplateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Validate and dry-run Backstage scaffolder templates locally",
	}
	cmd.AddCommand(newTemplateValidateCmd(), newTemplateDryRunCmd())
	return cmd
}

func newTemplateValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a template.yaml without running it",
		Long: `Check a scaffolder.backstage.io/v1beta3 template: parameter schemas compile,
step ids are unique, actions exist, expressions parse, references to
parameters and steps resolve, and literal step inputs match the actions'
input schemas. Exit code 1 when problems are found.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, err := readTemplateFile(args[0])
			if err != nil {
				return exitf(1, "%s: %v", args[0], err)
			}
			ps := tmpl.Validate(scaffolder.NewRegistry(), scaffolder.NewEngine(scaffolder.Limits{}))
			out := cmd.OutOrStdout()
			for _, p := range ps {
				fmt.Fprintf(out, "%s: %s\n", args[0], p)
			}
			if len(ps) > 0 {
				return errSilent{code: 1}
			}
			fmt.Fprintf(out, "%s: template %s is valid (%d parameter steps, %d steps)\n", args[0], tmpl.Ref, len(tmpl.Parameters), len(tmpl.Steps))
			return nil
		},
	}
}

func readTemplateFile(path string) (*scaffolder.Template, error) {
	raw, err := templateJSON(path)
	if err != nil {
		return nil, err
	}
	return scaffolder.ParseTemplate(raw)
}

func templateJSON(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTemplateFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTemplateFile {
		return nil, fmt.Errorf("larger than %d bytes", maxTemplateFile)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("not YAML: %v", err)
	}
	return json.Marshal(v)
}

func newTemplateDryRunCmd() *cobra.Command {
	var valuesFile, outDir string
	var sets []string
	cmd := &cobra.Command{
		Use:   "dry-run FILE",
		Short: "Render a template into a directory without side effects",
		Long: `Run a template's steps against its own files (skeleton/ beside FILE) into
--out, skipping every action that changes something outside the workspace
(publish, catalog registration, external APIs), as the scaffolder's dry-run
does. Values come from --values (YAML) and --set key=value.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return exitf(2, "--out DIR is required")
			}
			if entries, err := os.ReadDir(outDir); err == nil && len(entries) > 0 {
				return exitf(2, "--out %s is not empty", outDir)
			}
			values, err := readValues(valuesFile, sets)
			if err != nil {
				return exitf(2, "%v", err)
			}
			raw, err := templateJSON(args[0])
			if err != nil {
				return exitf(1, "%s: %v", args[0], err)
			}
			svc := scaffolder.NewService(scaffolder.Options{})
			res, err := svc.DryRun(cmd.Context(), scaffolder.DryRunRequest{Template: raw, Values: values}, os.DirFS(filepath.Dir(args[0])))
			if err != nil {
				return exitf(1, "%s: %v", args[0], err)
			}
			out := cmd.OutOrStdout()
			for _, l := range res.Log {
				step, _ := l.Body["stepId"].(string)
				fmt.Fprintf(out, "[%s] %v\n", step, l.Body["message"])
			}
			if err := writeFiles(outDir, res.DirectoryContents); err != nil {
				return exitf(1, "write %s: %v", outDir, err)
			}
			if res.Status != scaffolder.StatusCompleted {
				return exitf(1, "dry-run failed: %s", res.Error)
			}
			fmt.Fprintf(out, "wrote %d files to %s\n", len(res.DirectoryContents), outDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&valuesFile, "values", "", "YAML file of parameter values")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "parameter value key=value (repeatable; the value is read as YAML: true, 3, [a, b])")
	cmd.Flags().StringVar(&outDir, "out", "", "directory to write the rendered files to (created; must be empty)")
	return cmd
}

// readValues merges a YAML values file and key=value pairs.
func readValues(file string, sets []string) (map[string]any, error) {
	values := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		if v != nil {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: want a mapping of parameter names to values", file)
			}
			values = m
		}
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want key=value", s)
		}
		var parsed any
		if err := yaml.Unmarshal([]byte(v), &parsed); err != nil || parsed == nil {
			parsed = v
		}
		if _, isMap := parsed.(map[string]any); isMap {
			parsed = v // "a: b" stays a string
		}
		values[k] = parsed
	}
	// JSON round trip: YAML integers become JSON numbers.
	b, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(b, &out)
}

func writeFiles(dir string, files []scaffolder.File) error {
	for _, f := range files {
		b, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if rel, err := filepath.Rel(dir, p); err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("path %q leaves %s", f.Path, dir)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			return err
		}
	}
	return nil
}
