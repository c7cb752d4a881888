package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
)

func TestDumpRedactsSecrets(t *testing.T) {
	env := envMap(map[string]string{
		"BACKEND_SECRET": "backend-secret-value", "DB_PASSWORD": "db-password-value",
		"GITHUB_TOKEN": "ghp_token_value", "GRAFANA_TOKEN": "grafana-token-value",
	})
	secrets := []string{
		"backend-secret-value", "db-password-value", "ghp_token_value", "grafana-token-value",
		"hunter2-private-key-material", "gh-client-secret-value", "gh-private-key-value", "gh-webhook-secret-value",
		"oauth-client-secret-value", "grafana-url-password", "p@ss", "aws-secret-access-key-value",
		"kv-password-value", "sentry-api-key-98765", "dsn-url-password",
	}
	c, _ := mustLoad(t, LoadOptions{
		Files:     []string{"testdata/dump/app-config.yaml", "testdata/dump/dsn.yaml"},
		LookupEnv: env,
		Environ:   []string{`APP_CONFIG_integrations_gitlab=[{"host":"gitlab.com","token":"env-override-secret"}]`},
	})
	secrets = append(secrets, "env-override-secret")
	var buf bytes.Buffer
	if err := c.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("dump contains secret %q:\n%s", s, out)
		}
	}
	for _, s := range []string{
		"clientId: abc", "clientId: Iv1.abc", "accessKeyId: AKIAEXAMPLE", "credentials: true",
		"https://admin:<redacted>@grafana.acme.dev", "password=<redacted> user=search",
		// dsn.yaml's connection string replaces the object of app-config.yaml.
		"connection: postgresql://greenroom:<redacted>@db.internal:5432/portal?sslmode=require",
		"https://svc:<redacted>@legacy.acme.dev/api",
		// Defaults of typed keys the files left unset.
		"requestTimeout: 30s", "dataDir: ./.greenroom",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("dump lacks %q:\n%s", s, out)
		}
	}

	// The dump is valid YAML that keeps the structure.
	var back map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("dump is not YAML: %v\n%s", err, out)
	}
	conn := back["backend"].(map[string]any)["database"].(map[string]any)["connection"]
	if !strings.HasPrefix(fmt.Sprint(conn), "postgresql://greenroom:") {
		t.Errorf("connection = %v", conn)
	}
	apps := back["integrations"].(map[string]any)["github"].([]any)[0].(map[string]any)["apps"].([]any)[0]
	want := map[string]any{
		"appId": uint64(1), "clientId": "Iv1.abc", "clientSecret": redacted, "privateKey": redacted, "webhookSecret": redacted,
	}
	if diff := cmp.Diff(want, apps); diff != "" {
		t.Errorf("github app (-want +got):\n%s", diff)
	}
}

func TestDumpCodeBuiltConfig(t *testing.T) {
	c := Default()
	c.Backend.Database = Database{Client: ClientPG, Connection: Connection{Host: "db", User: "app", Password: "code-password"}}
	var buf bytes.Buffer
	if err := c.Dump(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "code-password") {
		t.Errorf("dump leaks the password:\n%s", out)
	}
	for _, s := range []string{"client: pg", "password: <redacted>", "port: 7007", "demo: true"} {
		if !strings.Contains(out, s) {
			t.Errorf("dump lacks %q:\n%s", s, out)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "s3cr3t-value"
	s := Secret(value)
	type holder struct {
		Password Secret `json:"password" yaml:"password"`
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("connect", "password", s, "conn", holder{Password: s})
	jsonOut, err := json.Marshal(holder{Password: s})
	if err != nil {
		t.Fatal(err)
	}
	yamlOut, err := yaml.Marshal(holder{Password: s})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s),
		"%x": fmt.Sprintf("%x", s), "%d": fmt.Sprintf("%d", s), "%#v": fmt.Sprintf("%#v", s),
		"%+v struct": fmt.Sprintf("%+v", holder{Password: s}), "%#v struct": fmt.Sprintf("%#v", holder{Password: s}),
		"String": s.String(), "GoString": s.GoString(), "json": string(jsonOut), "yaml": string(yamlOut),
		"slog": logBuf.String(),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, value) || !strings.Contains(out, "redacted") {
				t.Errorf("output %q must show %s and not the value", out, redacted)
			}
		})
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	if Secret("").String() != "" {
		t.Error("an empty secret must print empty, so that 'not set' stays visible")
	}
}
