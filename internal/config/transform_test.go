package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadSubstitution(t *testing.T) {
	env := envMap(map[string]string{
		"PORTAL_NAME": "  Acme ", "BASE_HOST": "portal.acme.dev", "PORT": "7100", "GITHUB_TOKEN": "ghp_example",
	})
	c, r := mustLoad(t, LoadOptions{Files: []string{"testdata/env/subst.yaml"}, LookupEnv: env})

	if c.App.Title != "Acme Portal" {
		t.Errorf("title = %q, want the trimmed variable", c.App.Title)
	}
	if c.App.BaseURL != "https://portal.acme.dev" || c.Backend.Listen.Port != 7100 {
		t.Errorf("baseUrl %q, port %d", c.App.BaseURL, c.Backend.Listen.Port)
	}
	raw := c.Raw()
	wantGitHub := []any{
		map[string]any{"host": "github.com", "token": "ghp_example"},
		map[string]any{"host": "ghe.acme.dev"}, // token left out: GHE_TOKEN is not set
	}
	if diff := cmp.Diff(wantGitHub, raw["integrations"].(map[string]any)["github"]); diff != "" {
		t.Errorf("integrations.github (-want +got):\n%s", diff)
	}
	wantTechdocs := map[string]any{
		"literal": "${NOT_SUBSTITUTED}",
		"mixed":   "a-Acme-${KEEP}-b",
		"spaced":  "Acme",
		// "partial" is absent: one missing variable makes the whole value undefined.
		"list": []any{"Acme", "last"},
	}
	if diff := cmp.Diff(wantTechdocs, raw["techdocs"]); diff != "" {
		t.Errorf("techdocs (-want +got):\n%s", diff)
	}
	wantInfos := []string{
		"info testdata/env/subst.yaml:15:7: integrations.github[1].token: environment variable GHE_TOKEN is not set, so the value is left out",
		"info testdata/env/subst.yaml:21:3: techdocs.partial: environment variable MISSING_VAR is not set, so the value is left out",
		"info testdata/env/subst.yaml:24:7: techdocs.list[1]: environment variable MISSING_VAR is not set, so the value is left out",
	}
	if diff := cmp.Diff(wantInfos, lines(r, SeverityInfo)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestSubstitute(t *testing.T) {
	lookup := envMap(map[string]string{"A": "a", "B": " b ", "EMPTY": ""})
	tests := []struct {
		in      string
		want    string
		missing []string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "a"},
		{in: "x${A}y${B}z", want: "xaybz"},
		{in: "${ A }", want: "a"},
		{in: "$${A}", want: "${A}"},
		{in: "$$${A}", want: "$${A}"},
		{in: "$${A}${A}", want: "${A}a"},
		{in: "${A", want: "${A"},
		{in: "${A${B}", want: "${Ab"},
		{in: "${EMPTY}", want: ""},
		{in: "${NOPE}-${A}", want: "-a", missing: []string{"NOPE"}},
		{in: "${}", want: "", missing: []string{""}},
		{in: "$A {A} $ {A}", want: "$A {A} $ {A}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, missing := substitute(tt.in, lookup)
			if got != tt.want || !cmp.Equal(missing, tt.missing) {
				t.Errorf("substitute(%q) = %q, %q; want %q, %q", tt.in, got, missing, tt.want, tt.missing)
			}
		})
	}
}

func TestLoadIncludes(t *testing.T) {
	env := envMap(map[string]string{"PORTAL_TITLE": "Included Portal", "DB_PASSWORD": "db-password", "GH_TOKEN": "gh-token"})
	c, r := mustLoad(t, LoadOptions{Files: []string{"testdata/include/app-config.yaml"}, LookupEnv: env})

	if c.App.Title != "Included Portal" {
		t.Errorf("title from $env = %q", c.App.Title)
	}
	conn := c.Backend.Database.Connection
	wantConn := Connection{
		Host: "db.internal", Port: 5432, User: "greenroom", Password: "db-password", Database: "portal",
		SSL: SSL{Mode: "verify-full", CA: "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FUZXN0\n-----END CERTIFICATE-----"},
	}
	if diff := cmp.Diff(wantConn, conn); diff != "" {
		t.Errorf("connection from $include#fragment (-want +got):\n%s", diff)
	}
	raw := c.Raw()
	secret := raw["backend"].(map[string]any)["auth"].(map[string]any)["keys"].([]any)[0].(map[string]any)["secret"]
	if secret != "c2VjcmV0LWtleS1mb3ItdGVzdHM=" {
		t.Errorf("$file value = %q, want the file's content without the trailing newline", secret)
	}
	wantGitHub := []any{map[string]any{"host": "github.com", "token": "gh-token"}}
	if diff := cmp.Diff(wantGitHub, raw["integrations"].(map[string]any)["github"]); diff != "" {
		t.Errorf("integrations.github from JSON #github (-want +got):\n%s", diff)
	}
	wantTechdocs := map[string]any{
		"builder": "local", "generator": map[string]any{"runIn": "local"}, "publisher": map[string]any{"type": "local"},
		"header": "<p>Acme docs</p>",
	}
	if diff := cmp.Diff(wantTechdocs, raw["techdocs"]); diff != "" {
		t.Errorf("techdocs (-want +got):\n%s", diff)
	}
	if len(c.Catalog.Locations) != 1 {
		t.Fatalf("locations = %+v", c.Catalog.Locations)
	}
	loc := c.Catalog.Locations[0]
	if want := filepath.Join("testdata", "examples", "entities.yaml"); loc.Path != want {
		t.Errorf("location path = %q, want %q (relative to the included file)", loc.Path, want)
	}
	if loc.File != filepath.Join("testdata", "include", "nested", "locations.yaml") || loc.Line != 2 {
		t.Errorf("location declared at %s:%d", loc.File, loc.Line)
	}
	if _, err := os.Stat(loc.Path); err != nil {
		t.Errorf("resolved location does not exist: %v", err)
	}
	if file, line := c.Origin("backend.database.connection.host"); file != filepath.Join("testdata", "include", "secrets", "db.yaml") || line != 3 {
		t.Errorf("Origin(host) = %s:%d, want the included file", file, line)
	}
	wantInfos := []string{
		"info testdata/include/app-config.yaml:4:3: app.support: environment variable UNSET_SUPPORT is not set, so the value is left out",
		"info testdata/include/app-config.yaml:14:5: backend.auth.keys: ignored by Greenroom (yet)",
	}
	if diff := cmp.Diff(wantInfos, lines(r, SeverityInfo)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoadIncludeErrors(t *testing.T) {
	_, r, err := Load(LoadOptions{Files: []string{"testdata/include/bad.yaml"}, LookupEnv: noEnv})
	want := []string{
		"error testdata/include/bad.yaml:5:5: techdocs.notObject: $include: value at 'database.connection.host' in included file secrets/db.yaml is not an object",
		"info testdata/include/bad.yaml:7:5: techdocs.missingLeaf: $include: secrets/db.yaml has no value at 'database.nothere', so the value is left out",
		`error testdata/include/bad.yaml:9:5: techdocs.badExt: $include: no configuration parser for "nested/header.html"; use a .yaml, .yml or .json file`,
		"error testdata/include/bad.yaml:10:3: techdocs.adjacent: include key $file should not have adjacent keys",
		"error testdata/include/bad.yaml:14:5: techdocs.notString: expected a string after $env, got a list",
		"error testdata/include/bad.yaml:16:5: techdocs.missingFile: $file: testdata/include/secrets/absent.txt does not exist",
		"error testdata/include/bad.yaml:18:5: techdocs.unsetInPath: $include: environment variable UNSET_DIR is not set",
	}
	if diff := cmp.Diff(want, lines(r, SeverityInfo)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	var pe *ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 6 {
		t.Errorf("err = %v, want a *ProblemsError with the 6 errors", err)
	}
}

func TestLoadIncludeCycleAndDepth(t *testing.T) {
	t.Run("cycle", func(t *testing.T) {
		_, r, err := Load(LoadOptions{Files: []string{"testdata/cycle/a.yaml"}, LookupEnv: noEnv})
		want := []string{"error testdata/cycle/b.yaml:2:3: techdocs.nested: $include: include cycle: " +
			filepath.Join("testdata", "cycle", "a.yaml") + " -> " + filepath.Join("testdata", "cycle", "b.yaml") + " -> " + filepath.Join("testdata", "cycle", "a.yaml")}
		if diff := cmp.Diff(want, lines(r, SeverityError)); diff != "" {
			t.Errorf("problems (-want +got):\n%s", diff)
		}
		if err == nil {
			t.Error("err = nil for an include cycle")
		}
	})
	t.Run("depth", func(t *testing.T) {
		dir := t.TempDir()
		for i := 0; i <= maxIncludes+2; i++ {
			text := "leaf: true\n"
			if i < maxIncludes+2 {
				text = "next:\n  $include: f" + strconv.Itoa(i+1) + ".yaml\n"
			}
			if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)+".yaml"), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, r, err := Load(LoadOptions{Files: []string{filepath.Join(dir, "f0.yaml")}, LookupEnv: noEnv})
		errs := r.Filter(SeverityError)
		if err == nil || len(errs) != 1 || !strings.Contains(errs[0].Message, "nested more than 10 deep") {
			t.Errorf("problems = %v, want one include depth error", errs)
		}
		// f0 is the config file; f1 ... f10 are ten nested includes, so the
		// directive in f10 is the one refused.
		if errs[0].File != filepath.Join(dir, "f"+strconv.Itoa(maxIncludes)+".yaml") {
			t.Errorf("depth error located in %s", errs[0].File)
		}
	})
}
