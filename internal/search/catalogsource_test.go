package search

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEntityDocument(t *testing.T) {
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, body string
		check      func(t *testing.T, d Document)
	}{
		{"template", `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"go-service","title":"Go service","tags":["go"]},"spec":{"type":"service","owner":"team-platform"}}`,
			func(t *testing.T, d Document) {
				if d.Category != CategoryTemplates || d.Kind != "template" || d.Owner != "group:default/team-platform" || d.Title != "Go service" {
					t.Errorf("%+v", d)
				}
			}},
		{"user", `{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"jane"},"spec":{"profile":{"displayName":"Jane Doe","email":"jane@example.com"},"memberOf":["team-a"]},"relations":[{"type":"memberOf","targetRef":"group:default/team-a"}]}`,
			func(t *testing.T, d Document) {
				if d.Category != CategoryPeople || d.Title != "Jane Doe" || !slices.Contains(d.Keywords, "jane@example.com") || !slices.Contains(d.Keywords, "team-a") {
					t.Errorf("%+v", d)
				}
			}},
		{"group members", `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"team-a","namespace":"Ops"},"spec":{"type":"team","profile":{"displayName":"Team A"},"children":[],"members":["jane","joe"]}}`,
			func(t *testing.T, d Document) {
				if d.Ref != "group:ops/team-a" || d.Namespace != "Ops" || !slices.Contains(d.Keywords, "joe") || d.Location != "/catalog/ops/group/team-a" {
					t.Errorf("%+v", d)
				}
			}},
		{"readable annotations", `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc","description":"Does things","annotations":{"argocd/app-name":"svc-prod","x/y":"hidden"}},"spec":{"type":"service","lifecycle":"production","owner":"group:other/team-b","system":"core"}}`,
			func(t *testing.T, d Document) {
				if !strings.Contains(d.Text, "Argo CD application: svc-prod") || strings.Contains(d.Text, "hidden") || d.System != "system:default/core" || d.Owner != "group:other/team-b" || !d.UpdatedAt.Equal(at) {
					t.Errorf("%+v", d)
				}
				if d.Fields["componentType"] != "service" || d.Description != "Does things" || strings.Contains(d.Text, "Does things") {
					t.Errorf("fields %v, text %q", d.Fields, d.Text)
				}
			}},
		{"api operations", `{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"pets"},"spec":{"type":"openapi","lifecycle":"production","owner":"a","definition":"openapi: 3.0.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get:\n      operationId: listPets\n      summary: List all pets\ncomponents:\n  schemas:\n    Pet: {type: object}\n"}}`,
			func(t *testing.T, d Document) {
				if !slices.Contains(d.Keywords, "listPets") || !slices.Contains(d.Keywords, "Pet") || !strings.Contains(d.Text, "GET /pets listPets List all pets") || d.Category != CategoryAPIs {
					t.Errorf("keywords %v\ntext %q", d.Keywords, d.Text)
				}
			}},
		{"unreadable definition still indexes the entity", `{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"bad"},"spec":{"type":"openapi","lifecycle":"production","owner":"a","definition":"{{{"}}`,
			func(t *testing.T, d Document) {
				if d.Name != "bad" || len(d.Keywords) != 0 {
					t.Errorf("%+v", d)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := EntityDocument([]byte(tt.body), at)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, d)
		})
	}
	for _, bad := range []string{`{`, `{"kind":"Component"}`, `[]`} {
		if _, err := EntityDocument([]byte(bad), at); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzQueryTerm(f *testing.F) {
	for _, s := range []string{"pay", `"*~:(`, "AND OR NOT", "发布流程", "a\x00b", strings.Repeat("x", 1001), "payments-api v2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CleanTerm(s)
		if err != nil {
			return
		}
		for _, w := range tokens(c) {
			if w.text == "" || strings.ContainsAny(w.text, " \"*~:()") {
				t.Fatalf("%q: token %q", s, w.text)
			}
		}
		if len(tokens(c)) > MaxTokens {
			t.Fatalf("%q: %d tokens", s, len(tokens(c)))
		}
	})
}
