package scaffolder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"greenroom/internal/integration/gitsource/gittest"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
	"greenroom/templates"
)

// BenchmarkDryRun renders each shipped golden path (target < 200 ms).
func BenchmarkDryRun(b *testing.B) {
	h := newHarness(b, b.TempDir(), storetest.SQLite(b))
	for _, id := range goldenPaths {
		raw, files := loadGolden(b, id)
		b.Run(id, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				res, err := h.svc.DryRun(b.Context(), scaffolder.DryRunRequest{Template: raw, Values: goldenValues(fmt.Sprintf("svc-%d", i))}, files)
				if err != nil || res.Status != scaffolder.StatusCompleted {
					b.Fatalf("%v %s", err, res.Error)
				}
			}
		})
	}
}

type nopRegistrar struct{}

func (nopRegistrar) RegisterLocation(context.Context, scaffolder.RegisterRequest) (string, error) {
	return "component:default/x", nil
}

// BenchmarkFullRunLocalGit runs the Go golden path as a stored task,
// publishing to a git server on loopback (target < 3 s).
func BenchmarkFullRunLocalGit(b *testing.B) {
	git := gittest.NewServer(b)
	st := storetest.SQLite(b)
	src, _ := os.ReadFile(filepath.Join("..", "..", "templates", "go-service", "template.yaml"))
	cat := &fakeCatalog{entities: map[string]json.RawMessage{"template:default/go-service": yamlToJSON(b, string(src))}}
	files := scaffolder.NewResolver()
	files.SetBundled(templates.FS)
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: cat, Files: files, DataDir: b.TempDir(),
		Deps: &scaffolder.Deps{Catalog: nopRegistrar{}}})
	host := git.URL[len("http://"):]
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("svc-%d", i)
		git.CreateRepo("acme/" + name)
		id, err := svc.CreateTask(b.Context(), scaffolder.CreateRequest{TemplateRef: "template:default/go-service",
			Values: map[string]any{"name": name, "owner": "group:default/team-a", "repoUrl": host + "?owner=acme&repo=" + name}})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.RunTask(b.Context(), id); err != nil {
			b.Fatal(err)
		}
		if task, _ := svc.Task(b.Context(), id); task.Status != scaffolder.StatusCompleted {
			b.Fatalf("%s: %s", task.Status, task.Error)
		}
	}
}
