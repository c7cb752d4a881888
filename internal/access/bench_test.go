package access_test

import (
	"context"
	"log/slog"
	"testing"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/catalog/catalogtest"
	"greenroom/internal/catalog/query"
	"greenroom/internal/store/storetest"
)

func benchPolicy() access.Policy {
	return access.Policy{Enabled: true, Contractors: access.Contractors{
		Members:     []string{"group:default/contractors"},
		Permissions: access.ContractorPermissions{AllowedNamespaces: []string{"default"}},
		Boundaries: access.AccessBoundaries{RestrictedServices: []string{"component:default/payments-core", "component:default/ledger"},
			RequiresApproval: []string{access.ActionScaffolderCreate, access.ActionDeploymentSync}},
	}}
}

// BenchmarkDecide is one decision of the Cedar engine on the default
// policies: a developer deleting an entity of their team.
func BenchmarkDecide(b *testing.B) {
	e, err := access.NewEngine(benchPolicy())
	if err != nil {
		b.Fatal(err)
	}
	p := &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane", OwnershipRefs: []string{"user:default/jane", "group:default/team-a"}, Roles: []string{access.RoleDeveloper}}
	res := access.Resource{Type: "entity", Ref: "component:default/svc", Kind: "component", Namespace: "default", Name: "svc", Owner: "group:default/team-a"}
	for b.Loop() {
		if d := e.Decide(access.Request{Principal: p, Action: access.ActionDelete, Resource: res}); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkDecideNeedsApproval is the costliest decision: denied, then
// evaluated again as if approved.
func BenchmarkDecideNeedsApproval(b *testing.B) {
	e, err := access.NewEngine(benchPolicy())
	if err != nil {
		b.Fatal(err)
	}
	p := &access.Principal{Kind: access.KindUser, UserRef: "user:default/cy", Contractor: true, Roles: []string{access.RoleContractorDeveloper}}
	res := access.Resource{Type: "scaffolder"}
	for b.Loop() {
		if d := e.Decide(access.Request{Principal: p, Action: access.ActionScaffolderCreate, Resource: res}); !d.NeedsApproval {
			b.Fatal(d.Reason)
		}
	}
}

// attributePolicy adds an administrator's read policy on entity
// attributes: production entities only for their owners.
func attributePolicy() access.Policy {
	p := benchPolicy()
	p.Files = []access.PolicyFile{{Name: "reads.cedar", Text: []byte(`@id("reads.production-owners")
forbid (principal, action == Action::"read", resource is Entity)
when { resource.production && !principal.ownership.contains(resource.owner) };`)}}
	return p
}

var (
	benchDeveloper  = &access.Principal{Kind: access.KindUser, UserRef: "user:default/jane", OwnershipRefs: []string{"user:default/jane", "group:default/team-a"}, Roles: []string{access.RoleDeveloper}}
	benchContractor = &access.Principal{Kind: access.KindUser, UserRef: "user:default/cy", Contractor: true, Roles: []string{access.RoleContractorViewer}}
)

// BenchmarkReadScope is the read scope of one catalog call: the read
// policies translated into a filter for the caller.
func BenchmarkReadScope(b *testing.B) {
	for _, bc := range []struct {
		name   string
		policy access.Policy
		p      *access.Principal
	}{
		{"developer", benchPolicy(), benchDeveloper},
		{"contractor", benchPolicy(), benchContractor},
		{"developer-attribute-policy", attributePolicy(), benchDeveloper},
	} {
		b.Run(bc.name, func(b *testing.B) {
			authz, err := access.NewAuthorizer(bc.policy, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			authz.SetEntities(storetest.SQLite(b))
			ctx := access.NewContext(context.Background(), bc.p)
			for b.Loop() {
				if _, err := authz.ReadScope(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScopedQuery is a by-query page of 25 with its total over a
// generated catalog of 2000 entities, unscoped, as a contractor (the
// scope's filter in the SQL), and as a developer under an attribute read
// policy (filter in the SQL, relation targets looked up to be decided).
func BenchmarkScopedQuery(b *testing.B) {
	ents, err := catalogtest.Generate(2000, 1)
	if err != nil {
		b.Fatal(err)
	}
	layout, err := catalogtest.Write(b.TempDir(), ents, catalogtest.MaxPerFile)
	if err != nil {
		b.Fatal(err)
	}
	src, err := catalog.FileSource(layout.Root, nil)
	if err != nil {
		b.Fatal(err)
	}
	st := storetest.SQLite(b)
	svc, err := catalog.NewService(st, []catalog.Source{src}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	kind := query.In("kind", "component")
	q := query.EntitiesQuery{Style: query.StyleQuery, Filter: &kind, Limit: 25, TotalItems: true}
	for _, bc := range []struct {
		name   string
		policy access.Policy
		p      *access.Principal
	}{
		{"unscoped", benchPolicy(), nil},
		{"contractor", benchPolicy(), benchContractor},
		{"developer-attribute-policy", attributePolicy(), benchDeveloper},
	} {
		b.Run(bc.name, func(b *testing.B) {
			authz, err := access.NewAuthorizer(bc.policy, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			authz.SetEntities(st)
			svc.SetReadFilter(authz.ReadScope)
			ctx := context.Background()
			if bc.p != nil {
				ctx = access.NewContext(ctx, bc.p)
			}
			for b.Loop() {
				if _, err := svc.QueryEntities(ctx, q, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
