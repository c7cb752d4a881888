package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/api"
	"greenroom/internal/scaffolder"
	"greenroom/internal/store/storetest"
)

// The task pages show a user only their own tasks; someone else's task
// page is not found; an admin sees every task and filters by creator.
func TestCreateTaskPagesAreOwn(t *testing.T) {
	st := storetest.SQLite(t)
	f := newFixture(t, st)
	svc := scaffolder.NewService(scaffolder.Options{Store: st, Catalog: newGoldenCatalog(t, f.svc), DataDir: t.TempDir()})
	admin := func(ctx context.Context) bool {
		p := access.FromContext(ctx)
		return p != nil && len(p.Roles) > 0 && p.Roles[0] == access.RolePlatformAdmin
	}
	f.h.CreatePages(&api.OwnTasks{Service: svc, SeesAll: admin}, newGoldenCatalog(t, f.svc)).Routes(f.mux)
	for _, tk := range []scaffolder.Task{
		{ID: "task-ann", CreatedBy: "user:default/ann", Status: scaffolder.StatusCompleted, CreatedAt: time.Now()},
		{ID: "task-bob", CreatedBy: "user:default/bob", Status: scaffolder.StatusCompleted, CreatedAt: time.Now()},
	} {
		if err := st.CreateTask(t.Context(), tk); err != nil {
			t.Fatal(err)
		}
	}
	as := func(ref, role, path string) response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		p := &access.Principal{Kind: access.KindUser, UserRef: ref, Roles: []string{role}}
		return f.do(t, req.WithContext(access.NewContext(req.Context(), p)))
	}
	for _, tc := range []struct {
		name, user, role, path string
		code                   int
		has, lacks             []string
	}{
		{"ann's list", "user:default/ann", access.RoleDeveloper, "/create/tasks", 200, []string{"/create/tasks/task-ann"}, []string{"task-bob"}},
		{"ann asks for bob's", "user:default/ann", access.RoleDeveloper, "/create/tasks?createdBy=user:default/bob", 200, nil, []string{"task-bob", "task-ann"}},
		{"ann opens bob's task", "user:default/ann", access.RoleDeveloper, "/create/tasks/task-bob", 404, nil, []string{"user:default/bob"}},
		{"ann opens hers", "user:default/ann", access.RoleDeveloper, "/create/tasks/task-ann", 200, []string{"task-ann"}, nil},
		{"admin's list", "user:default/ada", access.RolePlatformAdmin, "/create/tasks", 200, []string{"task-ann", "task-bob"}, nil},
		{"admin filters", "user:default/ada", access.RolePlatformAdmin, "/create/tasks?createdBy=user:default/bob", 200, []string{"task-bob"}, []string{"task-ann"}},
		{"admin opens bob's task", "user:default/ada", access.RolePlatformAdmin, "/create/tasks/task-bob", 200, []string{"task-bob"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := as(tc.user, tc.role, tc.path)
			if res.Code != tc.code {
				t.Fatalf("status %d, want %d\n%s", res.Code, tc.code, res.body)
			}
			for _, s := range tc.has {
				if !strings.Contains(res.body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.lacks {
				if strings.Contains(res.body, s) {
					t.Errorf("page shows %q", s)
				}
			}
		})
	}
}
