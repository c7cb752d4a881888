package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/api"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

// Each caller sees only the tasks they created, as Backstage's createdBy
// filter selects them; someone else's task is a missing one; platform
// admins see and filter every task.
func TestOwnTasks(t *testing.T) {
	svc := scaffolder.NewService(scaffolder.Options{Store: storetest.SQLite(t), Catalog: oneTemplate{json.RawMessage(helloTemplate)}, DataDir: t.TempDir()})
	authz, err := access.NewAuthorizer(access.Policy{Enabled: true, DefaultRole: access.RoleDeveloper}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tasks := &api.OwnTasks{Service: svc, SeesAll: func(ctx context.Context) bool {
		return authz.Check(ctx, access.ActionAdmin, access.Resource{Type: "scaffolder"}).Allowed
	}}
	mux := http.NewServeMux()
	api.NewScaffolder(tasks, nil).Routes(mux)
	ann := &access.Principal{Kind: access.KindUser, UserRef: "user:default/ann", Roles: []string{access.RoleDeveloper}}
	bob := &access.Principal{Kind: access.KindUser, UserRef: "user:default/bob", Roles: []string{access.RoleDeveloper}}
	ada := &access.Principal{Kind: access.KindUser, UserRef: "user:default/ada", Roles: []string{access.RolePlatformAdmin}}
	do := func(p *access.Principal, method, path, body string, into any) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req.WithContext(access.NewContext(req.Context(), p)))
		if into != nil {
			_ = json.Unmarshal(rec.Body.Bytes(), into)
		}
		return rec
	}
	create := func(p *access.Principal) string {
		var c struct{ ID string }
		if rec := do(p, "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/hello","values":{"who":"x"}}`, &c); rec.Code != 201 {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		return c.ID
	}
	annTask, bobTask, bobTask2 := create(ann), create(bob), create(bob)
	type listing struct {
		Tasks []struct {
			ID        string `json:"id"`
			CreatedBy string `json:"createdBy"`
		} `json:"tasks"`
		TotalTasks int `json:"totalTasks"`
	}
	ids := func(l listing) []string {
		var out []string
		for _, x := range l.Tasks {
			out = append(out, x.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ss ...string) []string { slices.Sort(ss); return ss }
	for _, tc := range []struct {
		name  string
		p     *access.Principal
		query string
		want  []string
	}{
		{"ann: her own", ann, "", []string{annTask}},
		{"ann asks for bob's", ann, "?createdBy=user:default/bob", nil},
		{"ann asks for hers", ann, "?createdBy=user:default/ann", []string{annTask}},
		{"bob: his own", bob, "", sorted(bobTask, bobTask2)},
		{"admin: all", ada, "", sorted(annTask, bobTask, bobTask2)},
		{"admin filters", ada, "?createdBy=user:default/bob", sorted(bobTask, bobTask2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l listing
			if rec := do(tc.p, "GET", "/api/scaffolder/v2/tasks"+tc.query, "", &l); rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if got := ids(l); !slices.Equal(got, tc.want) || l.TotalTasks != len(tc.want) {
				t.Errorf("tasks %v (total %d), want %v", got, l.TotalTasks, tc.want)
			}
		})
	}
	// Someone else's task is not found, with a missing task's message.
	missing := do(ann, "GET", "/api/scaffolder/v2/tasks/00000000-0000-0000-0000-000000000000", "", nil).Body.String()
	for _, path := range []string{"", "/events", "/eventstream", "/cancel", "/retry"} {
		method := "GET"
		if path == "/cancel" || path == "/retry" {
			method = "POST"
		}
		rec := do(ann, method, "/api/scaffolder/v2/tasks/"+bobTask+path, "", nil)
		want := strings.ReplaceAll(missing, "00000000-0000-0000-0000-000000000000", bobTask)
		if rec.Code != http.StatusNotFound || (path == "" && rec.Body.String() != want) {
			t.Errorf("ann %s %s: %d %s (a missing task: %s)", method, path, rec.Code, rec.Body, want)
		}
	}
	if st, err := svc.Task(t.Context(), bobTask); err != nil || st.Status == scaffolder.StatusCancelled {
		t.Errorf("bob's task after ann's attempts: %+v %v", st, err)
	}
	for _, p := range []*access.Principal{bob, ada} {
		if rec := do(p, "GET", "/api/scaffolder/v2/tasks/"+bobTask, "", nil); rec.Code != 200 {
			t.Errorf("%s reads bob's task: %d", p.UserRef, rec.Code)
		}
	}
	if rec := do(bob, "POST", "/api/scaffolder/v2/tasks/"+bobTask+"/cancel", "", nil); rec.Code != 200 {
		t.Errorf("bob cancels his task: %d %s", rec.Code, rec.Body)
	}
}
