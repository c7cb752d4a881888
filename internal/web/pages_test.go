package web

import (
	"net/http"
	"strings"
	"testing"

	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

// TestPagesRender renders every page type over the demo catalog on both
// engines and checks its content, its markup and its headers.
func TestPagesRender(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		tests := []struct {
			path   string
			status int
			want   []string
			not    []string
		}{
			{"/", 200, []string{"<h1>Acme Portal</h1>", `action="/catalog"`, "My services", "Sign-in is not set up",
				"Recently changed", "Catalog health", "hostile.yaml, line", "Component <span class=\"count\">"}, nil},
			{"/catalog", 200, []string{"<h1>Catalog: Components</h1>", "Accounting Export", "34 entities match", `name="filters[kind]"`,
				`<option value="component" selected>`, "Lifecycle", `href="/catalog/default/component/accounting-export"`, `rel="next"`}, []string{"Maya Okafor"}},
			{"/catalog?filters%5Bkind%5D=user&filters%5Btext%5D=maya", 200, []string{"<h1>Catalog: Users</h1>", "Maya Okafor", "mailto:maya.okafor@acme-ledger.example"}, []string{"Payment Gateway"}},
			{"/catalog?filters%5Bkind%5D=", 200, []string{"<h1>Catalog</h1>", "All entities", "<th scope=\"col\">Kind</th>"}, nil},
			{"/catalog/default/component/payment-gateway", 200, []string{"<h1>Payment Gateway</h1>", "<h2 id=\"section-h\">Overview</h2>",
				"About", `href="/catalog/default/group/team-payments"`, `href="/catalog/default/system/payments-processing"`,
				`href="/catalog/default/domain/payments"`, `href="https://github.com/acme-ledger/payment-gateway/tree/main/"`,
				"argocd/app-name", "The Argo CD application that deploys it", "Runbook", "lc-production", "production",
				`aria-current="page">Overview</a>`, `href="/catalog/default/component/payment-gateway/dependencies"`,
				`href="/catalog/default/component/payment-gateway/api"`}, []string{"Processing errors"}},
			{"/catalog/default/component/flaky", 200, []string{"Processing errors", "<strong>hostile.yaml, line 26</strong>",
				"spec.owner", `href="/catalog/default/group/team-payments"`}, nil},
			{"/catalog/default/component/payment-gateway/dependencies", 200, []string{"<h2 id=\"section-h\">Dependencies</h2>",
				"Depends on", `href="/catalog/default/resource/payments-db"`, `href="/catalog/default/component/card-vault"`, "Depended on by", "hostile",
				"<svg", `aria-label="Graph depth"`, `<a href="?depth=1" aria-current="true">`, "depends on"}, nil},
			{"/catalog/default/component/payment-gateway/dependencies?depth=2", 200, []string{"<svg", `<a href="?depth=2" aria-current="true">`}, nil},
			{"/catalog/default/component/payment-gateway/dependencies?depth=99", 200, []string{`<a href="?depth=1" aria-current="true">`}, nil},
			{"/catalog/default/component/payment-gateway/api", 200, []string{"Provided APIs", `href="/catalog/default/api/payments-api"`,
				"Consumed APIs", `href="/catalog/default/api/ledger-api"`}, nil},
			{"/catalog/default/component/payment-gateway/deployments", 200, []string{"argocd/app-name: payment-gateway-prod",
				"once an Argo CD instance is configured"}, []string{"Add the annotation"}},
			{"/catalog/default/component/flaky/deployments", 200, []string{"Add the annotation <code>argocd/app-name</code> to see deployments."}, nil},
			{"/catalog/default/component/flaky/errors", 200, []string{"Add the annotation <code>sentry/project-slug</code> to see errors.", "datadoghq.com/service-name"}, nil},
			{"/catalog/default/component/flaky/docs", 200, []string{"<code>backstage.io/techdocs-ref</code>"}, nil},
			{"/catalog/default/component/flaky/cost", 200, []string{"<code>opencost/service-label</code>"}, nil},
			{"/catalog/default/group/team-payments", 200, []string{"<h1>", "Members", `href="/catalog/default/user/tomas.novak"`,
				"Parent team", `href="/catalog/default/group/engineering"`, "Owned by this group", `href="/catalog/default/component/payment-gateway"`,
				"payments@acme-ledger.example"}, nil},
			{"/catalog/default/group/engineering", 200, []string{"Sub-teams", `href="/catalog/default/group/team-payments"`}, nil},
			{"/catalog/default/user/tomas.novak", 200, []string{"Member of", `href="/catalog/default/group/team-payments"`, "mailto:", "Their teams own"}, nil},
			{"/catalog/default/system/payments-processing/dependencies", 200, []string{"Components", `href="/catalog/default/component/payment-gateway"`, "Part of domain"}, nil},
			{"/catalog/default/domain/payments/dependencies", 200, []string{"Systems", `href="/catalog/default/system/payments-processing"`}, nil},
			{"/catalog/default/api/payments-api", 200, []string{"<h1>", "openapi"}, nil},
			{"/catalog/default/api/payments-api/api", 200, []string{"Provided by", `href="/catalog/default/component/payment-gateway"`, "Consumed by",
				`class="api-definition"`, "<caption>Parameters</caption>"}, []string{"openapi: "}},
			{"/api-docs", 200, []string{"<h1>APIs</h1>", "payments-api", "<th scope=\"col\">System</th>", "<th scope=\"col\">Lifecycle</th>"}, []string{`name="filters[kind]"`, "Payment Gateway"}},
			{"/catalog-import", 200, []string{"Catalog file URL", `name="csrf"`, `type="url"`}, nil},
			{"/catalog/default/component/payment-gatewy", 404, []string{"No component named", "Did you mean", `href="/catalog/default/component/payment-gateway"`}, nil},
			{"/catalog/default/component/payment-gateway/kubernetes", 404, []string{"has no “kubernetes” section", `href="/catalog/default/component/payment-gateway/dependencies"`}, nil},
			{"/catalog/default/group/team-payments/deployments", 404, []string{"has no “deployments” section"}, nil},
			{"/no/such/page", 404, []string{"There is no page at this address"}, nil},
		}
		for _, tt := range tests {
			t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
				res := f.get(t, tt.path)
				if res.Code != tt.status {
					t.Fatalf("status %d, want %d\n%s", res.Code, tt.status, res.body)
				}
				for _, w := range tt.want {
					if !strings.Contains(res.body, w) {
						t.Errorf("page lacks %q", w)
					}
				}
				for _, w := range tt.not {
					if strings.Contains(res.body, w) {
						t.Errorf("page has %q", w)
					}
				}
				if res.doc == nil {
					t.Fatal("not HTML")
				}
				for _, p := range markupProblems(res.doc) {
					t.Error(p)
				}
				checkHeaders(t, res.Header())
			})
		}
	})
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "img-src 'self' data:", "object-src 'none'",
		"base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe code: %s", csp)
	}
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
		"Cache-Control": "no-cache, private", "Content-Type": "text/html; charset=utf-8",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(h.Get("ETag"), `W/"`) {
		t.Errorf("ETag %q", h.Get("ETag"))
	}
}
