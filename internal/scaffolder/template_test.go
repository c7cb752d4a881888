package scaffolder_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

func TestValidateFindsProblems(t *testing.T) {
	src := `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: bad}
spec:
  parameters:
    properties:
      name: {type: string}
  steps:
    - id: a
      action: nope:nope
    - id: b
      action: debug:log
      input: {message: '${{ parameters.nmae }} ${{ steps.c.output.x }}'}
    - id: b
      action: fs:delete
      input: {files: 3}
    - id: c
      action: debug:log
      input: {message: '${{ parameters.name'}
`
	tmpl, err := scaffolder.ParseTemplate(yamlToJSON(t, src))
	if err != nil {
		t.Fatal(err)
	}
	ps := tmpl.Validate(scaffolder.NewRegistry(), scaffolder.NewEngine(scaffolder.Limits{}))
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		`spec.steps[0].action: unknown action "nope:nope"`,
		`spec.steps[1].input.message: references parameters.nmae, which no parameter step declares`,
		`spec.steps[1].input.message: references steps.c, which is not an earlier step`,
		`spec.steps[2].id: step id "b" is used by spec.steps[1] too`,
		`spec.steps[2].input: does not match fs:delete's input schema`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q; got:\n%s", want, joined)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"old api version", "apiVersion: scaffolder.backstage.io/v1beta2\nkind: Template\nmetadata: {name: x}\nspec: {}", "not supported"},
		{"step without action", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: x}\nspec: {steps: [{id: a}]}", "has no action"},
		{"no name", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {}\nspec: {}", "metadata.name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scaffolder.ParseTemplate(yamlToJSON(t, tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBadSkeletons: path traversal in file names and targetPath, and
// symlinks in skeletons, fail the step with a clear error.
func TestBadSkeletons(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "skeleton", "passwd")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files interface{}
		input string
		want  string
	}{
		{"traversal in a file name", fstest.MapFS{"skeleton/${{ values.p }}/x": {Data: []byte("x")}}, `{url: ./skeleton, values: {p: ../../etc}}`, "leaves the workspace"},
		{"traversal in targetPath", fstest.MapFS{"skeleton/x": {Data: []byte("x")}}, `{url: ./skeleton, targetPath: ../out}`, "leaves the workspace"},
		{"absolute targetPath", fstest.MapFS{"skeleton/x": {Data: []byte("x")}}, `{url: ./skeleton, targetPath: /tmp/x}`, "must be relative"},
		{"url above the template", fstest.MapFS{"skeleton/x": {Data: []byte("x")}}, `{url: ../../}`, "leaves the template's directory"},
		{"symlink in skeleton", os.DirFS(dir), `{url: ./skeleton}`, "symbolic link"},
		{"absolute url without a fetcher", fstest.MapFS{"skeleton/x": {Data: []byte("x")}}, `{url: "https://github.com/a/b/tree/main/x"}`, "absolute URLs are not enabled"},
		{"huge output", fstest.MapFS{"skeleton/x": {Data: []byte("{% for i in range(90000) %}0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789{% endfor %}")}}, `{url: ./skeleton}`, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  steps:\n    - id: f\n      action: fetch:template\n      input: " + tc.input + "\n"
			h := newHarness(t, t.TempDir(), storetest.SQLite(t))
			var fsys = tc.files
			res, err := h.svc.DryRun(t.Context(), scaffolder.DryRunRequest{Template: yamlToJSON(t, src)}, toFS(fsys))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != scaffolder.StatusFailed || !strings.Contains(res.Error, tc.want) {
				t.Errorf("dry-run = %s %q, want failed with %q", res.Status, res.Error, tc.want)
			}
		})
	}
}
