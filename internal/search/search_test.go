package search

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func titles(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Document.Key()
	}
	return out
}

func TestMatching(t *testing.T) {
	_, st := demoCatalog(t)
	svc := startService(t, t.TempDir(), NewCatalogSource(st, nil), docsSource{dir: testdataDocs()})
	tests := []struct {
		name, term, wantTop string
	}{
		{"exact name", "payment-gateway", "software-catalog|component:default/payment-gateway"},
		{"prefix", "reconcil", "software-catalog|component:default/reconciliation-service"},
		{"in-word", "vault", "software-catalog|component:default/card-vault"},
		{"typo one edit", "ledgr-service", "software-catalog|component:default/ledger-service"},
		{"typo two edits", "reconcilaition", "software-catalog|component:default/reconciliation-service"},
		{"stemming", "rotated credential", "techdocs|component:default/payment-gateway/runbook"},
		{"chinese", "发布流程", "techdocs|component:default/merchant-dashboard/onboarding-zh"},
		{"team", "team-payments", "software-catalog|group:default/team-payments"},
		{"api operation", "listInvoices", "software-catalog|api:default/invoices-api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := svc.Search(context.Background(), Query{Term: tt.term})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) == 0 || res.Hits[0].Document.Key() != tt.wantTop {
				t.Fatalf("%q: top %v, want %s", tt.term, titles(res.Hits[:min(5, len(res.Hits))]), tt.wantTop)
			}
		})
	}
}

func TestDocPageDeepLink(t *testing.T) {
	svc := startService(t, t.TempDir(), docsSource{dir: testdataDocs()})
	res, err := svc.Search(context.Background(), Query{Term: "idempotency key"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 {
		t.Fatalf("want one result per page, got %v", titles(res.Hits))
	}
	h := res.Hits[0]
	if !strings.HasSuffix(h.Document.Location, "/architecture#idempotency") {
		t.Errorf("location %q, want the idempotency section", h.Document.Location)
	}
	if !strings.Contains(h.Highlight["text"], PreTag+"idempotency"+PostTag) {
		t.Errorf("highlight %q lacks the marked match", h.Highlight["text"])
	}
}

func TestNothingMatchesGivesClosest(t *testing.T) {
	_, st := demoCatalog(t)
	svc := startService(t, t.TempDir(), NewCatalogSource(st, nil))
	res, err := svc.Search(context.Background(), Query{Term: "paymnet gatewya servise"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 0 {
		// Three two-edit misspellings may still match; then the top must be right.
		if res.Hits[0].Document.Name != "payment-gateway" {
			t.Fatalf("top %v", titles(res.Hits))
		}
		return
	}
	if len(res.Closest) == 0 || !slices.Contains(res.DidYouMean, "payment-gateway") {
		t.Fatalf("closest %v, did you mean %v", titles(res.Closest), res.DidYouMean)
	}
}
