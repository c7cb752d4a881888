package access_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

const directoryYAML = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: eng, annotations: {greenroom.io/department: engineering, greenroom.io/cost-center: cc-7}}
spec: {type: department, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a, annotations: {greenroom.io/project: apollo}}
spec: {type: team, parent: eng, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: contractors}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: jane, annotations: {greenroom.io/project: gemini}}
spec: {memberOf: [MEMBERS]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: cy}
spec: {memberOf: [contractors]}
`

func directory(t *testing.T, janeIn string) (*catalog.Service, *fstest.MapFS) {
	t.Helper()
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.Replace(directoryYAML, "MEMBERS", janeIn, 1))}}
	svc, err := catalog.NewService(storetest.SQLite(t), []catalog.Source{{Name: "dir", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if p := svc.Problems(); len(p) > 0 {
		t.Fatalf("fixture: %v", p)
	}
	return svc, &fsys
}

func resolverPolicy() access.Policy {
	return access.Policy{Enabled: true, DefaultRole: access.RoleViewer,
		Bindings:    []access.Binding{{Role: access.RolePlatformAdmin, Members: []string{"group:default/eng"}}},
		Contractors: access.Contractors{Members: []string{"group:default/contractors"}, DefaultRole: access.RoleContractorViewer}}
}

func TestResolverTransitiveGroupsAndAttributes(t *testing.T) {
	svc, _ := directory(t, "team-a")
	r := access.NewResolver(resolverPolicy(), svc)
	jane := &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane"}
	if err := r.Enrich(t.Context(), jane); err != nil {
		t.Fatal(err)
	}
	want := &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane",
		OwnershipRefs: []string{"user:default/jane", "group:default/team-a", "group:default/eng"},
		Roles:         []string{access.RolePlatformAdmin},
		Attributes:    map[string]string{"project": "gemini", "department": "engineering", "cost_center": "cc-7"}}
	if diff := cmp.Diff(want, jane); diff != "" {
		t.Errorf("jane (-want +got):\n%s", diff)
	}
	cy := &access.Principal{Kind: access.KindUser, UserRef: "user:default/cy"}
	if err := r.Enrich(t.Context(), cy); err != nil {
		t.Fatal(err)
	}
	if !cy.Contractor || !cmp.Equal(cy.Roles, []string{access.RoleContractorViewer}) {
		t.Errorf("cy: %+v", cy)
	}
	ghost := &access.Principal{Kind: access.KindUser, UserRef: "user:default/ghost", OwnershipRefs: []string{"user:default/ghost"}}
	if err := r.Enrich(t.Context(), ghost); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(ghost.Roles, []string{access.RoleViewer}) || ghost.Contractor {
		t.Errorf("a user missing from the catalog gets the default role: %+v", ghost)
	}
	svcP := &access.Principal{Kind: access.KindService, UserRef: "service:ci"}
	if err := r.Enrich(t.Context(), svcP); err != nil {
		t.Fatal(err)
	}
	if len(svcP.Roles) != 0 {
		t.Errorf("an unbound service token gets no role: %+v", svcP)
	}
}

// Decisions follow a membership change within access.MaxStaleness (5 s):
// the change event drops the cache at once.
func TestResolverFollowsMembershipChanges(t *testing.T) {
	svc, fsys := directory(t, "team-a")
	r := access.NewResolver(resolverPolicy(), svc)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sub, err := svc.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go r.Follow(sub)
	roles := func() []string {
		p := &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane"}
		if err := r.Enrich(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		return p.Roles
	}
	if got := roles(); !cmp.Equal(got, []string{access.RolePlatformAdmin}) {
		t.Fatalf("before: %v", got)
	}
	(*fsys)["all.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(directoryYAML, "MEMBERS", "contractors", 1))}
	if err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now() // the change is committed and published
	for {
		got := roles()
		if cmp.Equal(got, []string{access.RoleContractorViewer}) {
			break
		}
		if time.Since(start) > access.MaxStaleness {
			t.Fatalf("after %v still %v", time.Since(start), got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v; the change event should drop the cache at once", d)
	}
}
