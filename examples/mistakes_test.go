package examples_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// Every check must catch the mistake it exists for; a check that passes
// everything would make TestDemoCatalog worthless. Each case breaks a small
// valid catalog in one way and names a fragment of the error it expects.
func TestChecksCatchMistakes(t *testing.T) {
	t.Run("baseline passes", func(t *testing.T) {
		c, errs := load(fixture(), "all.yaml")
		errs = append(errs, runChecks(c)...)
		for _, err := range errs {
			t.Error(err)
		}
	})
	const (
		svcOwner = "owner: team-a\n  system: s\n  providesApis"
		lifeLine = "  lifecycle: production\n  " + svcOwner
	)
	for _, tc := range []struct {
		name    string
		edit    func(*testing.T, fstest.MapFS)
		wantErr string
	}{
		{"unparseable yaml", replace("org.yaml", "children: [team-a]", "children: [team-a"), "org.yaml, document 1"},
		{"unknown envelope field", replace("org.yaml", "kind: User\n", "kind: User\nmetdata: {}\n"), "metdata"},
		{"missing target", replace("all.yaml", "./things.yaml", "./thing.yaml"), "thing.yaml"},
		{"absolute target", replace("all.yaml", "./things.yaml", "https://example.com/things.yaml"), "not a relative path"},
		{"glob target", replace("all.yaml", "./things.yaml", "./*.yaml"), "glob"},
		{"target escaping the FS", replace("all.yaml", "./things.yaml", "../things.yaml"), "leaves"},
		{"file targeted twice", replace("all.yaml", "    - ./org.yaml\n", "    - ./org.yaml\n    - ./org.yaml\n"), "org.yaml is targeted 2 times"},
		{"file not reached", add("stray.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Group\n"), "stray.yaml is not reached"},
		{"missing $text target", replace("things.yaml", "./apis/a.yaml", "./apis/b.yaml"), "apis/b.yaml"},
		{"wrong apiVersion", replace("org.yaml", "apiVersion: backstage.io/v1alpha1\nkind: User", "apiVersion: backstage.io/v1\nkind: User"), "apiVersion"},
		{"unknown kind", replace("org.yaml", "kind: User", "kind: Person"), `kind "Person"`},
		{"invalid name", replace("org.yaml", "name: u1", "name: u1-"), `metadata.name "u1-"`},
		{"name too long", replace("org.yaml", "name: u1", "name: "+strings.Repeat("u", 64)), "invalid metadata.name"},
		{"invalid tag", replace("things.yaml", "tags: [go]", "tags: [Go]"), `tag "Go"`},
		{"duplicate name, differing in case", replace("things.yaml", "name: other-db", "name: DB"), "duplicate"},
		{"non-string label", replace("things.yaml", "tier: tier-1", "tier: 1"), "invalid label"},
		{"link without scheme", replace("things.yaml", "https://runbooks.example/svc", "runbooks.example/svc"), "link"},
		{"missing lifecycle", replace("things.yaml", lifeLine, "  "+svcOwner), "spec.lifecycle is missing"},
		{"unknown lifecycle", replace("things.yaml", "lifecycle: production\n  owner: team-a\n  system: s\n  providesApis", "lifecycle: prod\n  "+svcOwner), `"prod"`},
		{"user email outside .example", replace("org.yaml", "u1@co.example", "u1@co.com"), "email"},
		{"dangling owner", replace("things.yaml", svcOwner, "owner: team-b\n  system: s\n  providesApis"), "group:default/team-b does not exist"},
		{"owner of a wrong kind", replace("things.yaml", svcOwner, "owner: system:s\n  system: s\n  providesApis"), "must be one of kinds"},
		{"dependsOn without a kind", replace("things.yaml", "dependsOn: [resource:other-db]", "dependsOn: [other-db]"), "no default kind"},
		{"dangling providesApis", replace("things.yaml", "providesApis: [api-a]", "providesApis: [api-b]"), "api:default/api-b does not exist"},
		{"dangling domain", replace("things.yaml", "domain: d", "domain: e"), "domain:default/e does not exist"},
		{"dangling memberOf", replace("org.yaml", "memberOf: [team-a]", "memberOf: [team-z]"), "group:default/team-z does not exist"},
		{"empty memberOf", replace("org.yaml", "memberOf: [team-a]", "memberOf: []"), "memberOf names no existing group"},
		{"child not listed by its parent", replace("org.yaml", "children: [team-a]", "children: []"), "does not list it"},
		{"child whose parent is elsewhere", replace("org.yaml", "  children: []\n", "  children: [root]\n"), "whose spec.parent is not this group"},
		{"two roots", replace("org.yaml", "  parent: root\n", ""), "want exactly one root"},
		{"team without people", replace("org.yaml", "memberOf: [team-a]", "memberOf: [root]"), "team without members"},
		{"members disagree with memberOf", replace("org.yaml", "  children: []\n", "  children: []\n  members: [u1, u2]\n"), "user:default/u2 (missing)"},
		{"service without an annotation", replace("things.yaml", "    n8n/workflows: a,b\n", ""), "lacks annotation n8n/workflows"},
		{"malformed github slug", replace("things.yaml", "github.com/project-slug: acme-ledger/svc", "github.com/project-slug: svc"), "github.com/project-slug"},
		{"API without a provider", replace("things.yaml", "providesApis: [api-a]", "consumesApis: [api-a]"), "provided by no Component"},
		{"Resource nobody uses", replace("things.yaml", "dependsOn: [resource:other-db]", "dependsOn: [resource:db]"), "resource:default/other-db (things.yaml, document 6): nothing depends on it"},
		{"unresolved $ref in a definition", replace("apis/a.yaml", "#/components/schemas/Thing", "#/components/schemas/Nothing"), "Nothing"},
		{"definition of the wrong format", replace("apis/a.yaml", "openapi: 3.0.3", "asyncapi: 3.0.0"), "no openapi version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := fixture()
			tc.edit(t, files)
			c, errs := load(files, "all.yaml")
			errs = append(errs, runChecks(c)...)
			if len(errs) == 0 {
				t.Fatalf("no error reported, want one mentioning %q", tc.wantErr)
			}
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.wantErr) {
					return
				}
			}
			t.Errorf("no error mentions %q; got:\n%v", tc.wantErr, errors.Join(errs...))
		})
	}
}

// A small valid catalog for TestChecksCatchMistakes to break.
func fixture() fstest.MapFS {
	files := map[string]string{
		"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: root
spec:
  targets:
    - ./org.yaml
    - ./things.yaml
`,
		"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: root
spec:
  type: organization
  profile: {displayName: Root, email: root@co.example}
  children: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  profile: {displayName: Team A, email: team-a@co.example}
  parent: root
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: u1
spec:
  profile: {displayName: User One, email: u1@co.example}
  memberOf: [team-a]
`,
		"things.yaml": `apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: d
spec:
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: s
spec:
  owner: team-a
  domain: d
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc
  tags: [go]
  labels:
    co.example/tier: tier-1
  annotations:
    github.com/project-slug: acme-ledger/svc
    backstage.io/source-location: url:https://github.com/acme-ledger/svc/tree/main/
    argocd/app-name: svc-prod
    datadog/dashboard-url: https://app.datadoghq.com/dashboard/abc-123
    sentry/project-slug: acme-ledger/svc
    opencost/service-label: svc
    n8n/workflows: a,b
  links:
    - url: https://runbooks.example/svc
      title: Runbook
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: s
  providesApis: [api-a]
  dependsOn: [resource:other-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: api-a
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  system: s
  definition:
    $text: ./apis/a.yaml
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: db
spec:
  type: database
  owner: team-a
  system: s
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: other-db
spec:
  type: database
  owner: team-a
  system: s
  dependsOn: [resource:default/db]
`,
		"apis/a.yaml": `openapi: 3.0.3
info: {title: A, version: 1.0.0}
paths:
  /things:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Thing'
components:
  schemas:
    Thing: {type: object}
`,
	}
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

func replace(file, old, repl string) func(*testing.T, fstest.MapFS) {
	return func(t *testing.T, files fstest.MapFS) {
		t.Helper()
		f := files[file]
		if f == nil || !bytes.Contains(f.Data, []byte(old)) {
			t.Fatalf("fixture %s does not contain %q", file, old)
		}
		f.Data = bytes.Replace(f.Data, []byte(old), []byte(repl), 1)
	}
}

func add(file, text string) func(*testing.T, fstest.MapFS) {
	return func(_ *testing.T, files fstest.MapFS) {
		files[file] = &fstest.MapFile{Data: []byte(text)}
	}
}
