package access_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/store/storetest"
)

type countingLookup struct {
	access.EntityLookup
	n atomic.Int64
}

func (c *countingLookup) EntityByRef(ctx context.Context, ref string) (catalog.Record, error) {
	c.n.Add(1)
	return c.EntityLookup.EntityByRef(ctx, ref)
}

const cacheFixture = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc}
spec: {type: service, lifecycle: experimental, owner: team-a, dependsOn: ['component:default/vault']}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: vault, tags: [%s]}
spec: {type: service, lifecycle: experimental, owner: team-a}
`

// Single-ref decisions under an attribute policy load each entity once
// across requests, and follow its changes.
func TestReadScopeRowCacheFollowsChanges(t *testing.T) {
	st := storetest.SQLite(t)
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(fmt.Sprintf(cacheFixture, "public"))}}
	cat, err := catalog.NewService(st, []catalog.Source{{Name: "test", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	policy := access.Policy{Enabled: true, DefaultRole: access.RoleViewer, Files: []access.PolicyFile{{Name: "pci.cedar",
		Text: []byte(`forbid (principal, action == Action::"read", resource is Entity) when { resource.tags.contains("pci") };`)}}}
	authz, err := access.NewAuthorizer(policy, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lookups := &countingLookup{EntityLookup: st}
	authz.SetEntities(lookups)
	sub, err := cat.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	go authz.Follow(sub)
	ctx := access.NewContext(t.Context(), &access.Principal{Kind: access.KindUser, UserRef: "user:default/v", Roles: []string{access.RoleViewer}})
	visible := func() bool {
		sc, err := authz.ReadScope(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sc.Visible("component:default/vault")
	}
	if !visible() || !visible() || lookups.n.Load() != 1 {
		t.Fatalf("public vault: lookups %d", lookups.n.Load())
	}
	fsys["all.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(cacheFixture, "pci"))}
	if err := cat.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second) // well within the cache bound: only Follow makes it
	for visible() {
		if time.Now().After(deadline) {
			t.Fatal("the change never reached the read scope")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
