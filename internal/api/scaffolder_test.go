package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"greenroom/internal/api"
	"greenroom/internal/greenroom"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

type oneTemplate struct{ raw json.RawMessage }

func (c oneTemplate) Templates(context.Context) ([]json.RawMessage, error) {
	return []json.RawMessage{c.raw}, nil
}

func (c oneTemplate) Entity(_ context.Context, ref greenroom.EntityRef) (json.RawMessage, error) {
	if ref.String() == "template:default/hello" {
		return c.raw, nil
	}
	return nil, greenroom.Errorf(greenroom.CodeNotFound, "no %s", ref)
}

const helloTemplate = `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"hello","title":"Hello"},
"spec":{"parameters":[{"title":"Who","required":["who"],"properties":{"who":{"type":"string"}}}],
"steps":[{"id":"fetch","action":"fetch:template","input":{"url":"./skeleton","values":{"who":"${{ parameters.who }}"}}},
{"id":"log","action":"debug:log","input":{"message":"hi ${{ parameters.who }}"}}],
"output":{"links":[{"title":"x","url":"https://example.com/${{ parameters.who }}"}]}}}`

func TestScaffolderAPI(t *testing.T) {
	svc := scaffolder.NewService(scaffolder.Options{Store: storetest.SQLite(t), Catalog: oneTemplate{json.RawMessage(helloTemplate)}, DataDir: t.TempDir()})
	mux := http.NewServeMux()
	api.NewScaffolder(svc, nil).Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, body string, into any) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if into != nil {
			_ = json.NewDecoder(resp.Body).Decode(into)
		}
		return resp.StatusCode
	}
	var schema scaffolder.ParameterSchema
	if code := do("GET", "/api/scaffolder/v2/templates/default/template/hello/parameter-schema", "", &schema); code != 200 || schema.Title != "Hello" || len(schema.Steps) != 1 {
		t.Errorf("parameter-schema: %d %+v", code, schema)
	}
	var actions []struct {
		ID     string
		Schema struct{ Input map[string]any }
	}
	do("GET", "/api/scaffolder/v2/actions", "", &actions)
	found := false
	for _, a := range actions {
		found = found || (a.ID == "fetch:template" && a.Schema.Input["type"] == "object")
	}
	if !found {
		t.Errorf("actions lack fetch:template with its input schema: %+v", actions)
	}
	var e struct {
		Error    struct{ Name, Message string }
		Response struct{ StatusCode int }
	}
	if code := do("POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/hello","values":{}}`, &e); code != 400 || e.Error.Name != "InputError" || !strings.Contains(e.Error.Message, "who") {
		t.Errorf("missing value: %d %+v", code, e)
	}
	if code := do("GET", "/api/scaffolder/v2/tasks/nope", "", &e); code != 404 || e.Error.Name != "NotFoundError" {
		t.Errorf("unknown task: %d %+v", code, e)
	}
	if code := do("POST", "/api/scaffolder/v2/tasks", `{`, &e); code != 400 {
		t.Errorf("malformed body: %d", code)
	}
	var created struct{ ID string }
	if code := do("POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/hello","values":{"who":"ann"}}`, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var list struct {
		Tasks      []struct{ ID, Status string }
		TotalTasks int
	}
	if do("GET", "/api/scaffolder/v2/tasks", "", &list); list.TotalTasks != 1 || list.Tasks[0].ID != created.ID || list.Tasks[0].Status != "open" {
		t.Errorf("tasks = %+v", list)
	}
	var cancelled struct{ Status string }
	if code := do("POST", "/api/scaffolder/v2/tasks/"+created.ID+"/cancel", "", &cancelled); code != 200 || cancelled.Status != "cancelled" {
		t.Errorf("cancel: %d %+v", code, cancelled)
	}
	var evs []scaffolder.Event
	if do("GET", "/api/scaffolder/v2/tasks/"+created.ID+"/events", "", &evs); len(evs) != 1 || evs[0].Type != "cancelled" {
		t.Errorf("events = %+v", evs)
	}
	if code := do("POST", "/api/scaffolder/v2/tasks/"+created.ID+"/retry", "", nil); code != 201 {
		t.Errorf("retry a cancelled task: %d", code)
	}
	// dry-run with the files in the body, as Backstage's template editor sends them
	body, _ := json.Marshal(map[string]any{
		"template": json.RawMessage(helloTemplate), "values": map[string]any{"who": "bo"},
		"directoryContents": []map[string]any{{"path": "skeleton/hello.txt", "base64Content": base64.StdEncoding.EncodeToString([]byte("hello ${{ values.who }}"))}},
	})
	var res scaffolder.DryRunResult
	if code := do("POST", "/api/scaffolder/v2/dry-run", string(body), &res); code != 200 || len(res.DirectoryContents) != 1 {
		t.Fatalf("dry-run: %d %+v", code, res)
	}
	got, _ := base64.StdEncoding.DecodeString(res.DirectoryContents[0].Base64Content)
	if !bytes.Equal(got, []byte("hello bo")) || res.Output["links"] == nil {
		t.Errorf("dry-run rendered %q, output %v", got, res.Output)
	}
}
