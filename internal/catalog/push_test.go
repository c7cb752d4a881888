package catalog_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// resource returns a pushed Resource entity as JSON.
func resource(name, description string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Resource",
		"metadata":{"name":%q,"description":%q,"annotations":{"backstage.io/managed-by-location":"url:https://elsewhere/x.yaml"}},
		"spec":{"type":"database","owner":"team-a"}}`, name, description))
}

// outcome is a result without index, for compact comparisons.
type outcome struct {
	Ref, Status, Error string
	Kept               bool
}

func outcomes(res catalog.PushResult) []outcome {
	out := make([]outcome, len(res.Results))
	for i, r := range res.Results {
		out[i] = outcome{Ref: r.Ref, Status: string(r.Status), Kept: r.Kept}
		if r.Error != nil {
			out[i].Error = r.Error.Name
		}
	}
	return out
}

type stored struct {
	Metadata struct {
		Description string
		Annotations map[string]string
	}
	Relations []struct{ Type, TargetRef string }
}

func getEntity(t *testing.T, svc *catalog.Service, kind, name string) (stored, error) {
	t.Helper()
	raw, err := svc.EntityByName(t.Context(), greenroom.EntityRef{Kind: kind, Namespace: "default", Name: name})
	if err != nil {
		return stored{}, err
	}
	var e stored
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e, nil
}

func newPushService(t *testing.T, s *store.Store) *catalog.Service {
	t.Helper()
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(fmt.Sprintf(component, "git-owned") +
		"---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n")}}
	svc, err := catalog.NewService(s, []catalog.Source{{Name: "git", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := catalog.NewRulesEnforcer(append(catalog.DefaultRules(),
		catalog.Rule{Allow: []catalog.RuleAllow{{Kind: "Resource"}}, Locations: []catalog.RuleLocation{{Type: "push", Exact: "terraform"}}}))
	if err != nil {
		t.Fatal(err)
	}
	svc.SetPushRules(rules)
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestPush(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		svc := newPushService(t, s)
		push := func(mode catalog.PushMode, ents ...json.RawMessage) catalog.PushResult {
			t.Helper()
			res, err := svc.Push(ctx, "terraform", catalog.PushRequest{Entities: ents, Mode: mode, Subject: "ci"})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}

		res := push(catalog.PushMerge,
			resource("db-1", "first"),
			json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"Resource","metadata":{"name":"bad"},"spec":{"type":"database"}}`),
			json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"git-owned"},"spec":{"type":"service","owner":"team-a","lifecycle":"production"}}`),
			json.RawMessage(`42`),
			resource("DB-1", "again"),
			json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"someone"},"spec":{"memberOf":[]}}`),
		)
		want := []outcome{
			{Ref: "resource:default/db-1", Status: "created"},
			{Ref: "resource:default/bad", Status: "error", Error: "InputError"},
			{Ref: "component:default/git-owned", Status: "error", Error: "ConflictError"},
			{Status: "error", Error: "InputError"},
			{Ref: "resource:default/db-1", Status: "error", Error: "InputError"},
			{Ref: "user:default/someone", Status: "error", Error: "NotAllowedError"},
		}
		if diff := cmp.Diff(want, outcomes(res)); diff != "" {
			t.Fatalf("first push (-want +got):\n%s", diff)
		}
		if res.Source != "push:terraform" || res.Mode != "merge" || res.Results[3].Index != 3 {
			t.Errorf("result header: %+v", res)
		}
		for i, part := range map[int]string{1: `spec.owner: required property "owner" is missing`, 2: "already provided by git", 3: "must be a JSON object",
			4: "pushed twice", 5: "is not of an allowed kind for that location; add {allow: [User], locations: [{type: push, exact: terraform}]}"} {
			if msg := res.Results[i].Error.Message; !strings.Contains(msg, part) {
				t.Errorf("result %d message %q lacks %q", i, msg, part)
			}
		}
		db, err := getEntity(t, svc, "resource", "db-1")
		if err != nil {
			t.Fatal(err)
		}
		if db.Metadata.Annotations["backstage.io/managed-by-location"] != "push:terraform" ||
			db.Metadata.Annotations["backstage.io/managed-by-origin-location"] != "push:terraform" || db.Metadata.Description != "first" {
			t.Errorf("stored entity: %+v", db.Metadata)
		}
		if !hasRelation(db, "ownedBy", "group:default/team-a") {
			t.Errorf("db-1 relations: %+v", db.Relations)
		}
		team, _ := getEntity(t, svc, "group", "team-a")
		if !hasRelation(team, "ownerOf", "resource:default/db-1") {
			t.Errorf("team-a was not stitched with the pushed entity: %+v", team.Relations)
		}

		if got := outcomes(push(catalog.PushMerge, resource("db-1", "first"))); got[0].Status != "unchanged" {
			t.Errorf("same entity again: %+v", got)
		}
		if got := outcomes(push(catalog.PushMerge, resource("db-1", "second"))); got[0].Status != "updated" {
			t.Errorf("changed entity: %+v", got)
		}
		if got := outcomes(push(catalog.PushMerge, resource("db-2", "other"))); got[0].Status != "created" {
			t.Errorf("second entity: %+v", got)
		}
		if db, err := getEntity(t, svc, "resource", "db-1"); err != nil || db.Metadata.Description != "second" {
			t.Errorf("a merge must keep the source's other entities: %+v %v", db, err)
		}

		// An invalid new version keeps the last good one.
		bad := json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"Resource","metadata":{"name":"db-2","tags":["Not OK"]},"spec":{"type":"database","owner":"team-a"}}`)
		if got := outcomes(push(catalog.PushMerge, bad)); got[0] != (outcome{Ref: "resource:default/db-2", Status: "error", Error: "InputError", Kept: true}) {
			t.Errorf("invalid update: %+v", got)
		}
		if db2, err := getEntity(t, svc, "resource", "db-2"); err != nil || db2.Metadata.Description != "other" {
			t.Errorf("last good version lost: %+v %v", db2, err)
		}

		// A full refresh of the locations leaves push sources alone.
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if db, err := getEntity(t, svc, "resource", "db-1"); err != nil || db.Metadata.Annotations[catalog.OrphanAnnotation] != "" {
			t.Errorf("refresh touched a push source: %+v %v", db, err)
		}

		// A replace orphans what it leaves out; the cleanup of the next
		// refresh deletes it (orphan strategy delete, the default).
		res = push(catalog.PushReplace, resource("db-2", "other"))
		if res.Mode != "replace" || res.Orphaned != 1 || outcomes(res)[0].Status != "unchanged" {
			t.Errorf("replace: %+v", res)
		}
		if db, err := getEntity(t, svc, "resource", "db-1"); err != nil || db.Metadata.Annotations[catalog.OrphanAnnotation] != "true" {
			t.Errorf("left-out entity is not an orphan: %+v %v", db, err)
		}
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := getEntity(t, svc, "resource", "db-1"); !greenroom.IsNotFound(err) {
			t.Errorf("orphan not deleted by the cleanup: %v", err)
		}
		if _, err := getEntity(t, svc, "resource", "db-2"); err != nil {
			t.Errorf("replaced set lost its entity: %v", err)
		}
	})
}

func hasRelation(e stored, typ, target string) bool {
	for _, r := range e.Relations {
		if r.Type == typ && r.TargetRef == target {
			return true
		}
	}
	return false
}

func TestPushRefusesBadRequests(t *testing.T) {
	svc, err := catalog.NewService(storetest.SQLite(t), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	many := make([]json.RawMessage, catalog.MaxPushEntities+1)
	tests := []struct {
		name, source string
		req          catalog.PushRequest
		want         string
	}{
		{"upper case source", "Terraform", catalog.PushRequest{}, "must be lowercase"},
		{"slash in source", "a/b", catalog.PushRequest{}, "must be lowercase"},
		{"long source", strings.Repeat("a", 64), catalog.PushRequest{}, "at most 63"},
		{"unknown mode", "ci", catalog.PushRequest{Mode: "append"}, `push mode "append"`},
		{"too many", "ci", catalog.PushRequest{Entities: many}, "at most 10000 entities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Push(t.Context(), tt.source, tt.req)
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want invalid %q", err, tt.want)
			}
		})
	}
	// Without rules set, every kind may be pushed.
	res, err := svc.Push(t.Context(), "ci", catalog.PushRequest{Entities: []json.RawMessage{
		json.RawMessage(`{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"bot"},"spec":{"memberOf":[]}}`)}})
	if err != nil || res.Results[0].Status != catalog.PushCreated {
		t.Errorf("push without rules: %+v %v", res, err)
	}
	if !catalog.IsPushSource(res.Source) || catalog.IsPushSource("file:/x") {
		t.Error("IsPushSource")
	}
}
