package scaffolder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/goccy/go-yaml"

	"greenroom/internal/greenroom"
)

// Greenroom's own actions: wiring a new service into Argo CD, Datadog,
// Sentry and n8n.
func greenroomActions() []*Action {
	return []*Action{argocdCreateApp(), datadogSetup(), sentryCreateProject(), n8nTrigger()}
}

func argocdCreateApp() *Action {
	return &Action{
		ID:          "argocd:create-app",
		Description: "Writes an Argo CD Application manifest per environment into the workspace (the GitOps directory of the new repository, or of a GitOps repository checked out there).",
		Input: obj([]string{"appName", "repoUrl"}, map[string]any{
			"appName":        str("Application name; -<env> is appended per environment."),
			"repoUrl":        str("Git URL Argo CD syncs from."),
			"path":           str("Path of the Helm chart in that repository. Defaults to chart."),
			"targetRevision": str("Revision to sync. Defaults to HEAD."),
			"project":        str("Argo CD project. Defaults to default."),
			"namespace":      str("Destination namespace; defaults to appName."),
			"server":         str("Destination cluster. Defaults to https://kubernetes.default.svc."),
			"environments":   strList("Environments, one Application each. Defaults to dev, staging, production."),
			"outputDir":      str("Directory in the workspace for the manifests. Defaults to argocd."),
			"labels":         anyObj("Labels for the Applications."),
		}),
		Output: obj(nil, map[string]any{"files": strList("The manifests written.")}),
		Run: func(_ context.Context, ac *ActionContext) error {
			app := ac.str("appName")
			if !dnsLabel(app) {
				return greenroom.Errorf(greenroom.CodeInvalid, "argocd:create-app: appName %q must be a DNS label (lowercase letters, digits, '-')", app)
			}
			envs := ac.strings("environments")
			if len(envs) == 0 {
				envs = []string{"dev", "staging", "production"}
			}
			dir := or(ac.str("outputDir"), "argocd")
			ns := or(ac.str("namespace"), app)
			var files []any
			for _, env := range envs {
				if !dnsLabel(env) {
					return greenroom.Errorf(greenroom.CodeInvalid, "argocd:create-app: environment %q must be a DNS label", env)
				}
				manifest := map[string]any{
					"apiVersion": "argoproj.io/v1alpha1",
					"kind":       "Application",
					"metadata": map[string]any{
						"name": app + "-" + env, "namespace": "argocd",
						"labels":     mergeLabels(ac.Input["labels"], map[string]any{"app.kubernetes.io/name": app, "greenroom.io/environment": env}),
						"finalizers": []any{"resources-finalizer.argocd.argoproj.io"},
					},
					"spec": map[string]any{
						"project": or(ac.str("project"), "default"),
						"source": map[string]any{
							"repoURL": ac.str("repoUrl"), "path": or(ac.str("path"), "chart"),
							"targetRevision": or(ac.str("targetRevision"), "HEAD"),
							"helm":           map[string]any{"valueFiles": []any{"values.yaml", "values-" + env + ".yaml"}},
						},
						"destination": map[string]any{"server": or(ac.str("server"), "https://kubernetes.default.svc"), "namespace": ns + "-" + env},
						"syncPolicy": map[string]any{
							"automated":   map[string]any{"prune": true, "selfHeal": env != "production"},
							"syncOptions": []any{"CreateNamespace=true"},
						},
					},
				}
				name := dir + "/" + app + "-" + env + ".yaml"
				if err := writeYAML(ac, name, manifest); err != nil {
					return err
				}
				files = append(files, name)
			}
			ac.Output("files", files)
			return nil
		},
	}
}

func datadogSetup() *Action {
	return &Action{
		ID:          "datadog:setup",
		Description: "Writes a Datadog service definition (schema v2.2) and monitors as code (Datadog monitor JSON) into the workspace.",
		Input: obj([]string{"service", "team"}, map[string]any{
			"service":      str("Service name (the DD_SERVICE tag)."),
			"team":         str("Owning team."),
			"env":          strList("Environments. Defaults to dev, staging, production."),
			"outputDir":    str("Directory in the workspace. Defaults to datadog."),
			"repoUrl":      str("Repository URL for the service definition's links."),
			"tier":         str("Service tier."),
			"latencyP95Ms": map[string]any{"type": "number", "description": "p95 latency threshold in milliseconds. Defaults to 500."},
		}),
		Output: obj(nil, map[string]any{"files": strList("The files written.")}),
		Run: func(_ context.Context, ac *ActionContext) error {
			svc, team := ac.str("service"), ac.str("team")
			if !dnsLabel(svc) {
				return greenroom.Errorf(greenroom.CodeInvalid, "datadog:setup: service %q must be lowercase letters, digits and '-'", svc)
			}
			dir := or(ac.str("outputDir"), "datadog")
			def := map[string]any{
				"schema-version": "v2.2", "dd-service": svc, "team": team, "tier": or(ac.str("tier"), "standard"),
				"application": svc, "type": "web", "languages": []any{},
				"links": []any{}, "tags": []any{"team:" + team},
			}
			if r := ac.str("repoUrl"); r != "" {
				def["links"] = []any{map[string]any{"name": "Source", "type": "repo", "url": r}}
			}
			if err := writeYAML(ac, dir+"/service.datadog.yaml", def); err != nil {
				return err
			}
			p95 := 500.0
			if v, ok := ac.Input["latencyP95Ms"].(float64); ok && v > 0 {
				p95 = v
			}
			envs := ac.strings("env")
			if len(envs) == 0 {
				envs = []string{"dev", "staging", "production"}
			}
			files := []any{dir + "/service.datadog.yaml"}
			for _, env := range envs {
				monitors := []any{
					map[string]any{
						"name": fmt.Sprintf("[%s] %s error rate above 5%%", env, svc), "type": "query alert",
						"query":   fmt.Sprintf("sum(last_5m):sum:trace.http.request.errors{service:%s,env:%s}.as_count() / sum:trace.http.request.hits{service:%s,env:%s}.as_count() > 0.05", svc, env, svc, env),
						"message": fmt.Sprintf("Error rate of %s in %s is above 5%%. @team-%s", svc, env, team),
						"tags":    []any{"service:" + svc, "env:" + env, "team:" + team, "managed-by:greenroom"},
						"options": map[string]any{"thresholds": map[string]any{"critical": 0.05, "warning": 0.02}, "notify_no_data": false},
					},
					map[string]any{
						"name": fmt.Sprintf("[%s] %s p95 latency above %gms", env, svc, p95), "type": "query alert",
						"query":   fmt.Sprintf("percentile(last_10m):p95:trace.http.request{service:%s,env:%s} > %g", svc, env, p95/1000),
						"message": fmt.Sprintf("p95 latency of %s in %s is above %gms. @team-%s", svc, env, p95, team),
						"tags":    []any{"service:" + svc, "env:" + env, "team:" + team, "managed-by:greenroom"},
						"options": map[string]any{"thresholds": map[string]any{"critical": p95 / 1000}},
					},
				}
				b, _ := json.MarshalIndent(monitors, "", "  ")
				name := dir + "/monitors-" + env + ".json"
				dst, err := inWorkspace(ac.Workspace, name)
				if err != nil {
					return err
				}
				if err := writeFile(dst, append(b, '\n'), 0o644, true); err != nil {
					return err
				}
				files = append(files, name)
			}
			ac.Logf("Wrote the Datadog service definition and %d monitor files", len(envs))
			ac.Output("files", files)
			return nil
		},
	}
}

func sentryCreateProject() *Action {
	return &Action{
		ID:          "sentry:create-project",
		Description: "Creates a Sentry project for a team (POST /api/0/teams/{org}/{team}/projects/) and returns its slug and DSN.",
		Input: obj([]string{"organizationSlug", "teamSlug", "name"}, map[string]any{
			"organizationSlug": str("Sentry organization."),
			"teamSlug":         str("Sentry team."),
			"name":             str("Project name."),
			"slug":             str("Project slug; Sentry derives it from the name when absent."),
			"platform":         str("Sentry platform, e.g. go, java, javascript-react."),
			"authToken":        str("Token; defaults to the configured one."),
		}),
		Output:      obj(nil, map[string]any{"id": str("Project id."), "slug": str("Project slug."), "dsn": str("Public DSN, when the key could be read.")}),
		SideEffects: true,
		Run: func(ctx context.Context, ac *ActionContext) error {
			if ac.Deps == nil || ac.Deps.Endpoints.Sentry == "" {
				return greenroom.Errorf(greenroom.CodeUnavailable, "sentry:create-project: no Sentry endpoint is configured (scaffolder.sentry.baseUrl)")
			}
			token := or(ac.str("authToken"), ac.Deps.Endpoints.SentryToken)
			org, team := url.PathEscape(ac.str("organizationSlug")), url.PathEscape(ac.str("teamSlug"))
			body := map[string]any{"name": ac.str("name")}
			for _, k := range []string{"slug", "platform"} {
				if v := ac.str(k); v != "" {
					body[k] = v
				}
			}
			base := strings.TrimSuffix(ac.Deps.Endpoints.Sentry, "/")
			var proj struct {
				ID   string `json:"id"`
				Slug string `json:"slug"`
			}
			if err := callJSON(ctx, ac.Deps.HTTP, http.MethodPost, base+"/api/0/teams/"+org+"/"+team+"/projects/", token, body, &proj); err != nil {
				return fmt.Errorf("sentry:create-project: %w", err)
			}
			ac.Created("sentry project " + ac.str("organizationSlug") + "/" + proj.Slug)
			ac.Logf("Created Sentry project %s", proj.Slug)
			ac.Output("id", proj.ID)
			ac.Output("slug", proj.Slug)
			var keys []struct {
				DSN struct {
					Public string `json:"public"`
				} `json:"dsn"`
			}
			if err := callJSON(ctx, ac.Deps.HTTP, http.MethodGet, base+"/api/0/projects/"+org+"/"+url.PathEscape(proj.Slug)+"/keys/", token, nil, &keys); err == nil && len(keys) > 0 {
				ac.Output("dsn", keys[0].DSN.Public)
			}
			return nil
		},
	}
}

func n8nTrigger() *Action {
	return &Action{
		ID:          "n8n:trigger",
		Description: "Triggers an n8n workflow through its webhook with a JSON payload.",
		Input: obj([]string{"webhookPath"}, map[string]any{
			"webhookPath": str("Webhook path of the workflow (webhook/<id>) or a full URL under the configured n8n base URL."),
			"payload":     anyObj("JSON body sent to the workflow."),
		}),
		Output:      obj(nil, map[string]any{"status": map[string]any{"type": "number"}, "response": map[string]any{}}),
		SideEffects: true,
		Run: func(ctx context.Context, ac *ActionContext) error {
			if ac.Deps == nil || ac.Deps.Endpoints.N8N == "" {
				return greenroom.Errorf(greenroom.CodeUnavailable, "n8n:trigger: no n8n endpoint is configured (scaffolder.n8n.baseUrl)")
			}
			base := strings.TrimSuffix(ac.Deps.Endpoints.N8N, "/")
			p := ac.str("webhookPath")
			target := p
			if !strings.HasPrefix(p, base+"/") {
				if strings.Contains(p, "://") || strings.Contains(p, "..") {
					return greenroom.Errorf(greenroom.CodeInvalid, "n8n:trigger: webhookPath %q must be a path under %s", p, base)
				}
				target = base + "/" + strings.TrimPrefix(p, "/")
			}
			var resp any
			if err := callJSON(ctx, ac.Deps.HTTP, http.MethodPost, target, ac.Deps.Endpoints.N8NToken, ac.Input["payload"], &resp); err != nil {
				return fmt.Errorf("n8n:trigger: %w", err)
			}
			ac.Logf("Triggered n8n workflow %s", p)
			ac.Created("n8n workflow run " + p)
			ac.Output("status", 200)
			ac.Output("response", resp)
			return nil
		},
	}
}

// maxResponse bounds what an action reads of an API's answer.
const maxResponse = 1 << 20

func callJSON(ctx context.Context, client *http.Client, method, target, token string, body, out any) error {
	if client == nil {
		client = http.DefaultClient
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return greenroom.Errorf(greenroom.CodeUnavailable, "%s %s: %v", method, redactURL(target), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return err
	}
	if len(b) > maxResponse {
		return greenroom.Errorf(greenroom.CodeUnavailable, "%s %s: response larger than %d bytes", method, redactURL(target), maxResponse)
	}
	if resp.StatusCode == http.StatusConflict {
		return greenroom.Errorf(greenroom.CodeConflict, "%s %s: already exists: %s", method, redactURL(target), strings.TrimSpace(string(b[:min(len(b), 300)])))
	}
	if resp.StatusCode/100 != 2 {
		return greenroom.Errorf(greenroom.CodeUnavailable, "%s %s: HTTP %d: %s", method, redactURL(target), resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 300)])))
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, redactURL(target), err)
		}
	}
	return nil
}

func writeYAML(ac *ActionContext, name string, v any) error {
	dst, err := inWorkspace(ac.Workspace, name)
	if err != nil {
		return err
	}
	b, err := yaml.MarshalWithOptions(v, yaml.IndentSequence(true))
	if err != nil {
		return err
	}
	return writeFile(dst, b, 0o644, true)
}

func mergeLabels(user any, base map[string]any) map[string]any {
	out := map[string]any{}
	if m, ok := user.(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	}
	for k, v := range base {
		out[k] = v
	}
	return out
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func dnsLabel(s string) bool {
	if s == "" || len(s) > 53 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
