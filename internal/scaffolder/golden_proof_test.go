package scaffolder_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"pgregory.net/rapid"

	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

// requireTool finds a program or skips loudly; under CI=true it fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("SKIPPED LOUDLY: %s not found: %v", name, err)
	}
	return p
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestGoldenGoServiceBuilds scaffolds the Go template and builds and tests
// the result with the Go toolchain.
func TestGoldenGoServiceBuilds(t *testing.T) {
	goBin := requireTool(t, "go")
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	dir := t.TempDir()
	dryRunGolden(t, h.svc, "go-service", goldenValues("invoice-exporter"), dir)
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0"}
	run(t, dir, env, goBin, "build", "./...")
	run(t, dir, env, goBin, "vet", "./...")
	out := run(t, dir, env, goBin, "test", "-count=1", "./...")
	if !strings.Contains(out, "ok") {
		t.Errorf("go test output: %s", out)
	}
}

// TestGoldenReactAppBuilds scaffolds the React template and runs npm
// install, build and test on it (the npm registry is reachable here).
func TestGoldenReactAppBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED LOUDLY: -short skips the npm build of the React golden path")
	}
	npm := requireTool(t, "npm")
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	dir := t.TempDir()
	dryRunGolden(t, h.svc, "react-app", goldenValues("web-portal"), dir)
	env := []string{"npm_config_fund=false", "npm_config_audit=false", "npm_config_update_notifier=false"}
	run(t, dir, env, npm, "install", "--no-audit", "--prefer-offline")
	run(t, dir, env, npm, "run", "build")
	if _, err := os.Stat(filepath.Join(dir, "dist", "index.html")); err != nil {
		t.Errorf("build produced no dist/index.html: %v", err)
	}
	out := run(t, dir, env, npm, "test")
	if !strings.Contains(out, "2 passed") {
		t.Errorf("npm test output lacks '2 passed':\n%s", out)
	}
}

// TestGoldenStructure validates what cannot be built here for every golden
// path: each catalog-info.yaml with the catalog's own validator, every YAML
// file parsed, each Helm chart linted structurally, and the Java and React
// Native projects' required files. Maven Central and the Expo toolchain are
// not reachable here, so Java and React Native are checked structurally.
func TestGoldenStructure(t *testing.T) {
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	for _, id := range goldenPaths {
		t.Run(id, func(t *testing.T) {
			dir := t.TempDir()
			dryRunGolden(t, h.svc, id, goldenValues("invoice-exporter"), dir)
			rep, err := catalog.ValidateFiles([]string{filepath.Join(dir, "catalog-info.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Problems {
				t.Errorf("catalog-info.yaml: %s", p)
			}
			if rep.Entities != 1 {
				t.Errorf("catalog-info.yaml has %d entities, want 1", rep.Entities)
			}
			checkYAMLFiles(t, dir)
			lintChart(t, filepath.Join(dir, "chart"))
			checkDockerfile(t, filepath.Join(dir, "Dockerfile"))
			switch id {
			case "java-service":
				for _, p := range []string{"pom.xml", "src/main/java/com/acme/invoiceexporter/Application.java", "src/test/java/com/acme/invoiceexporter/HealthTest.java", "src/main/resources/application.yaml"} {
					if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
						t.Errorf("java: %v", err)
					}
				}
				pom, _ := os.ReadFile(filepath.Join(dir, "pom.xml"))
				for _, want := range []string{"<artifactId>invoice-exporter</artifactId>", "spring-boot-starter-actuator", "spring-boot-starter-test"} {
					if !strings.Contains(string(pom), want) {
						t.Errorf("pom.xml lacks %s", want)
					}
				}
			case "react-native-app":
				for _, p := range []string{"package.json", "app.json", "App.tsx", "App.test.tsx", "src/health.ts", "babel.config.js"} {
					if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
						t.Errorf("react-native: %v", err)
					}
				}
			}
		})
	}
}

func checkYAMLFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) || strings.Contains(p, string(filepath.Separator)+"templates"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Errorf("%s is not valid YAML: %v", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var helmAction = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)

// lintChart is a strict structural check of a Helm chart (Helm's Go
// library pulls in Kubernetes' dependency tree; this checks what helm lint
// would for these charts): Chart.yaml fields, values that parse and hold
// what the templates use, and templates that are valid YAML once their
// actions are replaced, with the probes, resources and non-root security
// context the golden path promises.
func lintChart(t *testing.T, dir string) {
	t.Helper()
	var chart struct {
		APIVersion string `yaml:"apiVersion"`
		Name       string `yaml:"name"`
		Version    string `yaml:"version"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &chart); err != nil || chart.APIVersion != "v2" || chart.Name == "" || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(chart.Version) {
		t.Errorf("Chart.yaml: %+v, %v; want apiVersion v2, a name and a semver version", chart, err)
	}
	var values map[string]any
	vb, _ := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err := yaml.Unmarshal(vb, &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "templates"))
	kinds := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		src, _ := os.ReadFile(filepath.Join(dir, "templates", e.Name()))
		// .Values references must exist in values.yaml
		for _, m := range regexp.MustCompile(`\.Values\.([A-Za-z0-9_.]+)`).FindAllStringSubmatch(string(src), -1) {
			if !hasPath(values, strings.Split(m[1], ".")) && m[1] != "env" {
				t.Errorf("%s uses .Values.%s, which values.yaml lacks", e.Name(), m[1])
			}
		}
		var lines []string
		for _, line := range strings.Split(string(src), "\n") {
			trimmed := strings.TrimSpace(line)
			if helmAction.MatchString(trimmed) && helmAction.ReplaceAllString(trimmed, "") == "" {
				continue // a line that is only actions (if, include | nindent, with…)
			}
			lines = append(lines, helmAction.ReplaceAllString(line, "x"))
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(strings.Join(lines, "\n")), &doc); err != nil {
			t.Errorf("%s: not YAML once its actions are replaced: %v", e.Name(), err)
			continue
		}
		kind, _ := doc["kind"].(string)
		kinds[kind] = strings.Join(lines, "\n")
	}
	for _, k := range []string{"Deployment", "Service", "HorizontalPodAutoscaler"} {
		if kinds[k] == "" {
			t.Errorf("chart has no %s", k)
		}
	}
	for _, want := range []string{"livenessProbe", "readinessProbe", "resources", "runAsNonRoot: true"} {
		if !strings.Contains(kinds["Deployment"], want) {
			t.Errorf("Deployment lacks %s", want)
		}
	}
	res, _ := values["resources"].(map[string]any)
	if res["requests"] == nil || res["limits"] == nil {
		t.Errorf("values.yaml resources = %v, want requests and limits", res)
	}
}

func hasPath(m map[string]any, path []string) bool {
	cur := any(m)
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = mm[p]; !ok {
			return false
		}
	}
	return true
}

func checkDockerfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := strings.Count(s, "\nFROM ") + boolInt(strings.HasPrefix(s, "FROM ")); n < 2 {
		t.Errorf("Dockerfile has %d stages, want a multi-stage build", n)
	}
	if !regexp.MustCompile(`(?m)^USER\s+\S+`).MatchString(s) || strings.Contains(s, "USER root") {
		t.Error("Dockerfile does not switch to a non-root user")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// Property 5: generated project completeness. For any valid name, owner
// and repository and any golden path, the generated project holds every
// required file and a catalog-info.yaml naming that project.
func TestPropertyGeneratedProjectCompleteness(t *testing.T) {
	h := newHarness(t, t.TempDir(), storetest.SQLite(t))
	rapid.Check(t, func(rt *rapid.T) {
		id := rapid.SampledFrom(goldenPaths).Draw(rt, "template")
		name := rapid.StringMatching(`[a-z][a-z0-9-]{1,20}[a-z0-9]`).Draw(rt, "name")
		if !nameRe.MatchString(name) {
			rt.Skip()
		}
		team := rapid.SampledFrom([]string{"group:default/team-payments", "group:default/team-invoicing", "team-x"}).Draw(rt, "owner")
		org := rapid.StringMatching(`[a-z][a-z0-9-]{0,15}`).Draw(rt, "org")
		values := map[string]any{"name": name, "owner": team, "repoUrl": "github.com?owner=" + org + "&repo=" + name}
		res := dryRunGolden(t, h.svc, id, values, "")
		have := map[string]string{}
		for _, f := range res.DirectoryContents {
			b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
			have[f.Path] = string(b)
		}
		for _, p := range requiredFiles {
			p = strings.ReplaceAll(p, "invoice-exporter", name)
			if _, ok := have[p]; !ok {
				rt.Fatalf("%s with name %s lacks %s", id, name, p)
			}
		}
		var ent struct {
			Metadata struct {
				Name        string            `yaml:"name"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				Owner string `yaml:"owner"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(have["catalog-info.yaml"]), &ent); err != nil {
			rt.Fatal(err)
		}
		if ent.Metadata.Name != name || ent.Spec.Owner != team || ent.Metadata.Annotations["github.com/project-slug"] != fmt.Sprintf("%s/%s", org, name) {
			rt.Fatalf("catalog-info.yaml = %+v", ent)
		}
	})
}
