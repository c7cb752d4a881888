package scaffolder_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml"

	"greenroom/internal/catalog"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

// TestCommunityTemplates dry-runs real Backstage templates, unchanged
// (testdata/community/SOURCE.md names their origin), and validates the
// catalog file each renders with the catalog's validator.
func TestCommunityTemplates(t *testing.T) {
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	values := map[string]any{
		"name": "team-handbook", "component_id": "team-handbook", "description": `Docs: "how we work"`,
		"owner": "group:default/team-payments", "java_package_name": "io.acme.handbook",
		"repoUrl": "github.com?owner=acme-ledger&repo=team-handbook",
	}
	for _, id := range []string{"docs-template", "react-ssr-template", "springboot-grpc-template", "docs-template-cookiecutter"} {
		t.Run(id, func(t *testing.T) {
			dir := filepath.Join("testdata", "community", id)
			src, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := scaffolder.ParseTemplate(yamlToJSON(t, string(src)))
			if err != nil {
				t.Fatal(err)
			}
			if ps := tmpl.Validate(h.svc.Registry(), h.svc.Engine()); len(ps) > 0 {
				t.Fatalf("validate: %v", ps)
			}
			res, err := h.svc.DryRun(t.Context(), scaffolder.DryRunRequest{Template: yamlToJSON(t, string(src)), Values: values}, os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != scaffolder.StatusCompleted {
				t.Fatalf("dry-run %s: %s", res.Status, res.Error)
			}
			out := t.TempDir()
			for _, f := range res.DirectoryContents {
				b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
				if err := os.WriteFile(filepath.Join(out, f.Path), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := catalog.ValidateFiles([]string{filepath.Join(out, "catalog-info.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Problems {
				t.Errorf("rendered catalog-info.yaml: %s", p)
			}
			b, _ := os.ReadFile(filepath.Join(out, "catalog-info.yaml"))
			var ent struct {
				Metadata struct {
					Name        string            `yaml:"name"`
					Description string            `yaml:"description"`
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"metadata"`
			}
			if err := yaml.Unmarshal(b, &ent); err != nil {
				t.Fatal(err)
			}
			if ent.Metadata.Name != "team-handbook" || ent.Metadata.Description != `Docs: "how we work"` || ent.Metadata.Annotations["github.com/project-slug"] != "acme-ledger/team-handbook" {
				t.Errorf("rendered entity = %+v\n%s", ent.Metadata, b)
			}
		})
	}
}
