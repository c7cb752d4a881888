package scaffolder_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

const integrationsTemplate = `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: wire}
spec:
  steps:
    - id: sentry
      action: sentry:create-project
      input: {organizationSlug: acme, teamSlug: payments, name: billing, platform: go}
    - id: n8n
      action: n8n:trigger
      input: {webhookPath: webhook/onboard, payload: {service: billing, dsn: '${{ steps.sentry.output.dsn }}'}}
  output:
    dsn: '${{ steps.sentry.output.dsn }}'
    run: '${{ steps.n8n.output.response.executionId }}'
`

func TestSentryAndN8NActions(t *testing.T) {
	var n8nBody map[string]any
	var sentryAuth string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/0/teams/acme/payments/projects/", func(w http.ResponseWriter, r *http.Request) {
		sentryAuth = r.Header.Get("Authorization")
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["name"] != "billing" || body["platform"] != "go" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"42","slug":"billing"}`)
	})
	mux.HandleFunc("GET /api/0/projects/acme/billing/keys/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"dsn":{"public":"https://pub@sentry.example/42"}}]`)
	})
	mux.HandleFunc("POST /webhook/onboard", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&n8nBody)
		io.WriteString(w, `{"executionId":"e-7"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	st := storetest.SQLite(t)
	cat := &fakeCatalog{entities: map[string]json.RawMessage{"template:default/wire": yamlToJSON(t, integrationsTemplate)}}
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: cat, DataDir: t.TempDir(), Deps: &scaffolder.Deps{
		Endpoints: scaffolder.Endpoints{Sentry: srv.URL, SentryToken: "sntrys_x", N8N: srv.URL},
	}})
	ctx := t.Context()
	id, err := svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/wire"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RunTask(ctx, id); err != nil {
		t.Fatal(err)
	}
	task, _ := svc.Task(ctx, id)
	if task.Status != scaffolder.StatusCompleted {
		t.Fatalf("%s: %s", task.Status, task.Error)
	}
	if task.Output["dsn"] != "https://pub@sentry.example/42" || task.Output["run"] != "e-7" {
		t.Errorf("output = %v", task.Output)
	}
	if sentryAuth != "Bearer sntrys_x" || n8nBody["dsn"] != "https://pub@sentry.example/42" {
		t.Errorf("sentry auth %q, n8n body %v", sentryAuth, n8nBody)
	}

	// An n8n path outside the configured base is refused.
	bad := strings.Replace(integrationsTemplate, "webhook/onboard", "https://evil.example/x", 1)
	cat.entities["template:default/wire"] = yamlToJSON(t, bad)
	id, _ = svc.CreateTask(ctx, scaffolder.CreateRequest{TemplateRef: "template:default/wire"})
	_ = svc.RunTask(ctx, id)
	task, _ = svc.Task(ctx, id)
	if task.Status != scaffolder.StatusFailed || !strings.Contains(task.Error, "must be a path under") || !strings.Contains(task.Error, "sentry project acme/billing") {
		t.Errorf("bad n8n path: %s %q; want failed, naming the Sentry project created before", task.Status, task.Error)
	}
}
