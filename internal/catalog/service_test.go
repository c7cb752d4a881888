package catalog_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"greenroom/examples"
	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

const component = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
spec: {type: service, owner: team, lifecycle: production}
`

func TestRefreshDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		svc, err := catalog.NewService(s, []catalog.Source{{Name: "demo", FS: examples.FS, Root: examples.Root}}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if p := svc.Problems(); len(p) != 0 {
			t.Errorf("demo has problems: %v", p)
		}
		ents, err := svc.Entities(ctx, catalog.Query{Kind: "component"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) < 25 {
			t.Fatalf("%d components", len(ents))
		}
		uids := map[string]string{}
		for _, raw := range ents {
			var e struct {
				Metadata struct{ Name, Namespace, UID, Etag string }
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			if e.Metadata.UID == "" || e.Metadata.Etag == "" || e.Metadata.Namespace != "default" {
				t.Errorf("entity %s lacks uid/etag/namespace", raw)
			}
			uids[e.Metadata.Name] = e.Metadata.UID
		}
		// A second refresh keeps every uid: nothing changed.
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		again, _ := svc.Entities(ctx, catalog.Query{Kind: "component"})
		for _, raw := range again {
			var e struct{ Metadata struct{ Name, UID string } }
			json.Unmarshal(raw, &e)
			if uids[e.Metadata.Name] != e.Metadata.UID {
				t.Errorf("%s: uid changed across an unchanged refresh", e.Metadata.Name)
			}
		}
	})
}

func TestRefreshKeepsGoodFilesAndRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		fsys := fstest.MapFS{
			"all.yaml": {Data: []byte(`apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec: {targets: [./good.yaml, ./bad.yaml, ./group.yaml]}
`)},
			"good.yaml":  {Data: []byte(strings.ReplaceAll(component, "%s", "good"))},
			"bad.yaml":   {Data: []byte("kind: Component\nmetadata: {name: nameless-api-version}\n")},
			"group.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n")},
		}
		loc := catalog.Source{Name: "test", FS: fsys, Root: "all.yaml", AllowKinds: []string{"Location", "Component"}}
		svc, err := catalog.NewService(s, []catalog.Source{loc}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.EntityByName(ctx, greenroom.EntityRef{Kind: "Component", Namespace: "default", Name: "good"}); err != nil {
			t.Errorf("good entity missing: %v", err)
		}
		_, err = svc.EntityByName(ctx, greenroom.EntityRef{Kind: "group", Namespace: "default", Name: "team"})
		if !greenroom.IsNotFound(err) {
			t.Errorf("Group not allowed by the location's rules was stored: %v", err)
		}
		var msgs []string
		for _, p := range svc.Problems() {
			msgs = append(msgs, p.Error())
		}
		joined := strings.Join(msgs, "\n")
		for _, want := range []string{"bad.yaml:1: ", "apiVersion", "kind Group is not allowed"} {
			if !strings.Contains(joined, want) {
				t.Errorf("problems lack %q:\n%s", want, joined)
			}
		}
	})
}

type recordingQueue struct {
	kinds    []string
	payloads []any
}

func TestRequestRefresh(t *testing.T) {
	s := storetest.SQLite(t)
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.ReplaceAll(component, "%s", "x"))}}
	svc, err := catalog.NewService(s, []catalog.Source{{Name: "test", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestRefresh(t.Context(), ""); greenroom.ErrorCode(err) != greenroom.CodeUnavailable {
		t.Errorf("without a queue: %v", err)
	}
	q := &recordingQueue{}
	svc.SetEnqueuer(func(ctx context.Context, kind string, payload any) error {
		q.kinds = append(q.kinds, kind)
		q.payloads = append(q.payloads, payload)
		return nil
	})
	if err := svc.RequestRefresh(t.Context(), "Component:default/X"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestRefresh(t.Context(), "a:/c"); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("bad ref: %v", err)
	}
	// As Backstage: 404 with "Entity <ref> not found".
	err = svc.RequestRefresh(t.Context(), "component:default/nope")
	if !greenroom.IsNotFound(err) || greenroom.ErrorMessage(err) != "Entity component:default/nope not found" {
		t.Errorf("unknown entity: %v", err)
	}
	if len(q.kinds) != 1 || q.kinds[0] != catalog.RefreshJobKind {
		t.Fatalf("queued %v", q.kinds)
	}
	if req, ok := q.payloads[0].(catalog.RefreshRequest); !ok || req.EntityRef != "component:default/x" {
		t.Errorf("payload %#v", q.payloads[0])
	}
}
