package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreAt = cmpopts.IgnoreUnexported(ExternalAccess{}, AccessRestriction{}, CatalogRule{}, CatalogRuleLocation{}, CustomKind{})

func TestLoadAuthRulesAndCustomKinds(t *testing.T) {
	env := envMap(map[string]string{"CI_TOKEN": "ci-token-abcdef"})
	c, r := mustLoad(t, LoadOptions{Files: []string{"testdata/auth/good.yaml"}, LookupEnv: env})
	if w := lines(r, SeverityWarning); len(w) != 1 || w[0] != "warning testdata/auth/good.yaml:19:9: backend.auth.externalAccess[2].type: externalAccess type legacy is not supported by Greenroom; only static tokens are accepted, so this entry matches no request" {
		t.Errorf("warnings: %q", w)
	}
	wantAccess := []ExternalAccess{
		{Type: "static", Token: "ci-token-abcdef", Subject: "ci-pipeline", File: "testdata/auth/good.yaml", Line: 6},
		{Type: "static", Token: "terraform-token-0123", Subject: "terraform", File: "testdata/auth/good.yaml", Line: 10,
			AccessRestrictions: []AccessRestriction{{Plugin: "catalog",
				Permissions: []string{"catalog.entity.create", "catalog.entity.read"}, Actions: []string{"create", "read"}}}},
		{Type: "legacy", File: "testdata/auth/good.yaml", Line: 19},
	}
	if diff := cmp.Diff(wantAccess, c.Backend.Auth.ExternalAccess, ignoreAt); diff != "" {
		t.Errorf("externalAccess (-want +got):\n%s", diff)
	}
	wantRules := []CatalogRule{
		{Allow: []CatalogRuleAllow{{Kind: "Component"}, {Kind: "System"}, {Kind: "API"}, {Kind: "Resource"}, {Kind: "Location"}}},
		{Allow: []CatalogRuleAllow{{Kind: "Resource", SpecType: "database"}}},
		{Allow: []CatalogRuleAllow{{Kind: "Template"}}, Locations: []CatalogRuleLocation{
			{Type: "url", Pattern: "https://github.com/acme/**"}, {Type: "push", Exact: "templates"}}},
	}
	if diff := cmp.Diff(wantRules, c.Catalog.Rules, ignoreAt); diff != "" || !c.Catalog.RulesSet {
		t.Errorf("rules (set %v, -want +got):\n%s", c.Catalog.RulesSet, diff)
	}
	if got := c.Catalog.Locations[0].Rules; len(got) != 1 || !cmp.Equal(got[0].Allow, []string{"User", "Group"}) {
		t.Errorf("location rules: %+v", got)
	}
	kinds := c.Greenroom.Catalog.CustomKinds
	if len(kinds) != 3 {
		t.Fatalf("custom kinds: %+v", kinds)
	}
	var pipeline, service map[string]any
	if err := json.Unmarshal(kinds[0].Schema, &pipeline); err != nil || pipeline["type"] != "object" {
		t.Errorf("inline schema: %s %v", kinds[0].Schema, err)
	}
	if err := json.Unmarshal(kinds[1].Schema, &service); err != nil || service["required"].([]any)[0] != "tier" {
		t.Errorf("$file schema: %s %v", kinds[1].Schema, err)
	}
	if kinds[2].Schema != nil || kinds[2].Kind != "Anything" {
		t.Errorf("schema-less kind: %+v", kinds[2])
	}
	ek := c.Greenroom.Catalog.EntityKinds()
	if len(ek) != 3 || ek[1].Kind != "Service" || string(ek[1].Schema) != string(kinds[1].Schema) {
		t.Errorf("EntityKinds: %+v", ek)
	}
}

func TestLoadAuthProblems(t *testing.T) {
	_, r, err := Load(LoadOptions{Files: []string{"testdata/auth/bad.yaml"}, LookupEnv: noEnv})
	if err == nil {
		t.Fatal("bad auth config loaded without error")
	}
	want := []string{
		"error testdata/auth/bad.yaml:6:11: backend.auth.externalAccess[0].options.token: Illegal token, must be at least 8 characters length",
		"error testdata/auth/bad.yaml:10:11: backend.auth.externalAccess[1].options.token: Illegal token, must be a set of non-space characters",
		"error testdata/auth/bad.yaml:11:11: backend.auth.externalAccess[1].options.subject: Illegal subject, must be a set of non-space characters",
		"error testdata/auth/bad.yaml:13:9: backend.auth.externalAccess[2].options.token: missing required key token",
		"error testdata/auth/bad.yaml:15:9: backend.auth.externalAccess[3].type: expected one of static, legacy, jwks, got \"oauth\"",
		"error testdata/auth/bad.yaml:22:11: backend.auth.externalAccess[5].options.token: Static externalAccess token was declared more than once (also at backend.auth.externalAccess[4])",
		"error testdata/auth/bad.yaml:27:15: backend.auth.externalAccess[5].accessRestrictions[0].permissionAttribute.action: Invalid value 'write' in 'permissionAttributes' config, valid values are 'create', 'read', 'update', 'delete'",
		"error testdata/auth/bad.yaml:28:13: backend.auth.externalAccess[5].accessRestrictions[1].plugin: Attempted to declare 'accessRestrictions' twice for plugin 'catalog', which is not permitted",
		"error testdata/auth/bad.yaml:31:7: catalog.rules[0].allow: expected a list of entity kinds, or of {kind, spec.type}, got \"Component\"",
		"error testdata/auth/bad.yaml:32:15: catalog.rules[1].allow[0].kind: missing required key kind",
		"error testdata/auth/bad.yaml:34:11: catalog.rules[1].locations[0]: A catalog rule location cannot have both exact and pattern values",
		"error testdata/auth/bad.yaml:40:9: greenroom.catalog.customKinds[0]: custom kind Bad (acme.example/v1): schema does not compile: \"mem://greenroom/schemas/custom-0.json#\" is not valid against metaschema: jsonschema validation failed with 'http://json-schema.org/draft-07/schema#'; at '/type': 'anyOf' failed; at '/type': value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'; at '/type': got number, want array",
		"error testdata/auth/bad.yaml:44:9: greenroom.catalog.customKinds[1]: custom kind \"Thing\", apiVersion \"not a version\": not a valid kind and apiVersion",
		"error testdata/auth/bad.yaml:46:9: greenroom.catalog.customKinds[2].apiVersion: missing required key apiVersion",
		"error testdata/auth/bad.yaml:49:9: greenroom.catalog.customKinds[3].schema: expected a JSON Schema: a mapping, or the text of a JSON or YAML file ($file), got text that is not a mapping",
	}
	got := lines(r, SeverityWarning)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoadEmptyCatalogRules(t *testing.T) {
	c, _ := mustLoad(t, LoadOptions{Files: []string{"testdata/auth/empty-rules.yaml"}})
	if !c.Catalog.RulesSet || c.Catalog.Rules == nil || len(c.Catalog.Rules) != 0 {
		t.Errorf("rules: [] must be set and empty (allowing nothing), got set=%v %#v", c.Catalog.RulesSet, c.Catalog.Rules)
	}
	c, _ = mustLoad(t, LoadOptions{})
	if c.Catalog.RulesSet || len(c.Backend.Auth.ExternalAccess) != 0 {
		t.Errorf("defaults: %+v %+v", c.Catalog, c.Backend.Auth)
	}
}

func TestDumpRedactsStaticTokens(t *testing.T) {
	env := envMap(map[string]string{"CI_TOKEN": "ci-token-abcdef"})
	c, _ := mustLoad(t, LoadOptions{Files: []string{"testdata/auth/good.yaml"}, LookupEnv: env})
	var b strings.Builder
	if err := c.Dump(&b); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ci-token-abcdef", "terraform-token-0123", "c2VjcmV0", "legacy-shared-secret"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("dump shows %q:\n%s", secret, b.String())
		}
	}
	if !strings.Contains(b.String(), "subject: terraform") {
		t.Errorf("dump lost the subjects:\n%s", b.String())
	}
	if s := fmt.Sprintf("%v %+v", c.Backend.Auth, c.Backend.Auth.ExternalAccess[0]); strings.Contains(s, "ci-token-abcdef") {
		t.Errorf("printing the typed config shows the token: %s", s)
	}
}
