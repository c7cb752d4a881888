// Package searchtest is the contract every search.Engine meets (the
// embedded bleve index and OpenSearch alike): the same documents, the same
// queries, the same expected results — typo tolerance, prefix and in-word
// matching, CJK, stemming, field boosts, recency and own-team ranking, and
// visibility applied to results, totals, facets and suggestions.
//
// It is test support only: nothing in the binary imports it.
package searchtest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"greenroom/internal/search"
)

// Now is the clock the fixture's UpdatedAt values are relative to.
var Now = time.Now()

func doc(typ, id, kind, ns, name, title, text, owner string, tags ...string) search.Document {
	return search.Document{Type: typ, ID: id, Kind: kind, Namespace: ns, Name: name, Title: title, Text: text,
		Owner: owner, Ref: kind + ":" + ns + "/" + name, Location: "/catalog/" + ns + "/" + kind + "/" + name, Tags: tags,
		Category: search.CategoryCatalog}
}

// Documents is the fixture every engine indexes.
func Documents() []search.Document {
	ledger := doc(search.TypeCatalog, "ledger", "component", "default", "ledger-service", "Ledger Service",
		"Double-entry payments ledger running reconciliations nightly.", "group:default/payments", "java", "payments")
	ledger.Lifecycle = "production"
	ledger.UpdatedAt = Now.Add(-24 * time.Hour)
	billing := doc(search.TypeCatalog, "billing", "api", "default", "billing-api", "Billing API", "Invoices and bills for customers.", "group:default/billing")
	billing.SpecType = "openapi"
	billing.Keywords = []string{"createInvoice", "/v1/invoices"}
	worker := doc(search.TypeCatalog, "worker", "component", "default", "invoice-worker", "Invoice Worker", "Processes billing events from the queue of invoices.", "group:default/billing")
	zh := doc(search.TypeCatalog, "zh", "component", "china", "zhifu-gateway", "支付网关 Payment Gateway", "处理所有支付请求。", "group:china/pay")
	vault := doc(search.TypeCatalog, "vault", "component", "restricted", "secret-vault", "Secret Vault", "Holds the ledger secrets.", "group:restricted/sec")
	user := doc(search.TypeCatalog, "jdoe", "user", "default", "jdoe", "Jane Doe", "Engineer on the payments team.", "")
	cacheNew := doc(search.TypeCatalog, "cache-a", "component", "default", "cache-alpha", "Cache", "Distributed cache for sessions.", "group:default/team-a")
	cacheNew.UpdatedAt = Now.Add(-time.Hour)
	cacheOld := doc(search.TypeCatalog, "cache-b", "component", "default", "cache-bravo", "Cache", "Distributed cache for sessions.", "group:default/team-a")
	cacheOld.UpdatedAt = Now.Add(-2 * 365 * 24 * time.Hour)
	q1 := doc(search.TypeCatalog, "q1", "component", "default", "queue-one", "Queue", "Message broker for events.", "group:default/team-a")
	q2 := doc(search.TypeCatalog, "q2", "component", "default", "queue-two", "Queue", "Message broker for events.", "group:default/team-b")
	runbook := search.Document{Type: search.TypeTechDocs, ID: "default/component/ledger-service/runbook", Title: "Ledger runbook",
		Kind: "component", Namespace: "default", Ref: "component:default/ledger-service", Owner: "group:default/payments",
		Location: "/docs/default/component/ledger-service/runbook/", Category: search.CategoryDocs,
		Sections: []search.Section{
			{Anchor: "intro", Heading: "Introduction", Text: "What the ledger does for payments."},
			{Anchor: "restart", Heading: "Restarting the ledger", Text: "Drain the workers, then restart the pods one by one."},
		}}
	docs := []search.Document{ledger, billing, worker, zh, vault, user, cacheNew, cacheOld, q1, q2, runbook}
	for i := range docs {
		docs[i] = search.Normalise(docs[i])
	}
	return docs
}

// Fresh makes an empty engine; the contract indexes the fixture into it.
type Fresh func(t *testing.T) search.Engine

// Settle waits until eng holds n documents: engines that index
// asynchronously (ZincSearch) get there after a moment, the others at once.
func Settle(t *testing.T, eng search.Engine, n uint64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := eng.Count()
		if err == nil && c == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine holds %d documents (err %v), want %d", c, err, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type want struct {
	top      string   // key of the first hit ("" none expected first)
	has      []string // keys among the hits
	hasNot   []string // keys not among the hits
	total    int      // -1: not checked
	before   [2]string
	highText bool   // a text highlight with the match tags
	section  string // the first hit's section anchor
	didYou   string // among DidYouMean
}

func keys(hs []search.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Document.Key()
	}
	return out
}

const (
	kLedger  = "software-catalog|ledger"
	kBilling = "software-catalog|billing"
	kWorker  = "software-catalog|worker"
	kZh      = "software-catalog|zh"
	kVault   = "software-catalog|vault"
	kUser    = "software-catalog|jdoe"
	kCacheA  = "software-catalog|cache-a"
	kCacheB  = "software-catalog|cache-b"
	kQ1      = "software-catalog|q1"
	kQ2      = "software-catalog|q2"
	kRunbook = "techdocs|default/component/ledger-service/runbook"
)

var defaultOnly = search.Visibility{Namespaces: []string{"default"}}

// Run checks eng against the contract.
func Run(t *testing.T, fresh Fresh) {
	eng := fresh(t)
	ctx := context.Background()
	docs := Documents()
	if err := eng.Index(ctx, docs); err != nil {
		t.Fatalf("index: %v", err)
	}
	Settle(t, eng, uint64(len(docs)))

	tests := []struct {
		name string
		q    search.Query
		vis  search.Visibility
		want want
	}{
		{"exact name first", search.Query{Term: "ledger-service"}, search.Everything, want{top: kLedger, total: -1}},
		{"typo", search.Query{Term: "ledgr"}, search.Everything, want{has: []string{kLedger}, total: -1}},
		{"prefix", search.Query{Term: "ledg"}, search.Everything, want{has: []string{kLedger}, total: -1}},
		{"in-word", search.Query{Term: "edger"}, search.Everything, want{has: []string{kLedger}, total: -1}},
		{"CJK bigrams", search.Query{Term: "支付"}, search.Everything, want{top: kZh, total: -1}},
		{"English stemming", search.Query{Term: "reconciliation"}, search.Everything, want{top: kLedger, highText: true, total: -1}},
		{"name outranks body", search.Query{Term: "billing"}, search.Everything, want{top: kBilling, has: []string{kWorker}, total: -1}},
		{"keywords", search.Query{Term: "createInvoice"}, search.Everything, want{top: kBilling, total: -1}},
		{"recency breaks ties", search.Query{Term: "distributed cache"}, search.Everything, want{before: [2]string{kCacheA, kCacheB}, total: -1}},
		{"own team first", search.Query{Term: "message broker", OwnerRefs: []string{"group:default/team-b"}}, search.Everything, want{before: [2]string{kQ2, kQ1}, total: -1}},
		{"own team first, other team", search.Query{Term: "message broker", OwnerRefs: []string{"group:default/team-a"}}, search.Everything, want{before: [2]string{kQ1, kQ2}, total: -1}},
		{"visibility hides other namespaces", search.Query{Term: "ledger"}, defaultOnly, want{has: []string{kLedger, kRunbook}, hasNot: []string{kVault}, total: 2}},
		{"visibility everything shows them", search.Query{Term: "ledger"}, search.Everything, want{has: []string{kVault}, total: 3}},
		{"visibility by ref", search.Query{Term: "ledger"}, search.Visibility{Refs: []string{"component:restricted/secret-vault"}}, want{top: kVault, total: 1}},
		{"excluded ref", search.Query{Term: "ledger"}, search.Visibility{All: true, ExcludeRefs: []string{"component:restricted/secret-vault"}}, want{hasNot: []string{kVault}, total: 2}},
		{"excluded kind", search.Query{Term: "jane"}, search.Visibility{All: true, ExcludeKinds: []string{"user"}}, want{total: 0}},
		{"nothing visible", search.Query{Term: "ledger"}, search.Visibility{}, want{total: 0}},
		{"filter", search.Query{Term: "invoices", Filters: map[string][]string{"kind": {"API"}}}, search.Everything, want{top: kBilling, total: 1}},
		{"types", search.Query{Term: "ledger", Types: []string{search.TypeTechDocs}}, search.Everything, want{top: kRunbook, total: 1}},
		{"section deep link", search.Query{Term: "restarting pods"}, search.Everything, want{top: kRunbook, section: "restart", total: -1}},
		{"did you mean", search.Query{Term: "lxdgxr"}, search.Everything, want{total: 0, didYou: "ledger-service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.q.Validate()
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Search(ctx, q, tt.vis)
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			got := keys(res.Hits)
			w := tt.want
			if w.top != "" && (len(got) == 0 || got[0] != w.top) {
				t.Errorf("hits %v, want %s first", got, w.top)
			}
			for _, k := range w.has {
				if !slices.Contains(got, k) {
					t.Errorf("hits %v lack %s", got, k)
				}
			}
			for _, k := range w.hasNot {
				if slices.Contains(got, k) {
					t.Errorf("hits %v hold %s", got, k)
				}
			}
			if w.total >= 0 && res.Total != w.total {
				t.Errorf("total %d, want %d (hits %v)", res.Total, w.total, got)
			}
			if w.total == 0 && len(got) > 0 {
				t.Errorf("hits %v, want none", got)
			}
			if w.before[0] != "" {
				i, j := slices.Index(got, w.before[0]), slices.Index(got, w.before[1])
				if i < 0 || j < 0 || i > j {
					t.Errorf("hits %v, want %s before %s", got, w.before[0], w.before[1])
				}
			}
			if w.highText && len(res.Hits) > 0 {
				if h := res.Hits[0].Highlight["text"]; !strings.Contains(h, search.PreTag) || !strings.Contains(h, search.PostTag) {
					t.Errorf("text highlight %q lacks the match tags", h)
				}
			}
			if w.section != "" && len(res.Hits) > 0 {
				h := res.Hits[0]
				if h.Section != w.section || !strings.HasSuffix(h.Document.Location, "#"+w.section) {
					t.Errorf("section %q, location %q, want %q", h.Section, h.Document.Location, w.section)
				}
			}
			if w.didYou != "" && !slices.Contains(res.DidYouMean, w.didYou) {
				t.Errorf("did you mean %v, want %s", res.DidYouMean, w.didYou)
			}
			for i, h := range res.Hits {
				if h.Rank != q.Offset+i+1 {
					t.Errorf("hit %d rank %d", i, h.Rank)
				}
			}
		})
	}

	t.Run("facets count what is visible", func(t *testing.T) {
		q, _ := search.Query{Term: "", Facets: []string{"kind", "namespace"}}.Validate()
		res, err := eng.Search(ctx, q, defaultOnly)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, v := range res.Facets["kind"] {
			kinds[v.Value] = v.Count
		}
		// default holds ledger, billing, worker, jdoe, two caches, two
		// queues and the runbook: 7 components (runbook included), 1 api,
		// 1 user.
		wantKinds := map[string]int{"component": 7, "api": 1, "user": 1}
		for k, n := range wantKinds {
			if kinds[k] != n {
				t.Errorf("kind facet %v, want %v", kinds, wantKinds)
				break
			}
		}
		for _, v := range res.Facets["namespace"] {
			if v.Value != "default" {
				t.Errorf("namespace facet %v shows a hidden namespace", res.Facets["namespace"])
			}
		}
		if res.Total != 9 {
			t.Errorf("total %d, want 9", res.Total)
		}
	})

	t.Run("paging", func(t *testing.T) {
		q, _ := search.Query{Term: "distributed cache", Limit: 1, Offset: 1}.Validate()
		res, err := eng.Search(ctx, q, search.Everything)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 1 || res.Hits[0].Rank != 2 || res.Hits[0].Document.Key() != kCacheB || res.Total != 2 {
			t.Errorf("page 2 of 1: hits %v total %d, want %s at rank 2 of 2", keys(res.Hits), res.Total, kCacheB)
		}
	})

	t.Run("suggestions", func(t *testing.T) {
		for _, c := range []struct {
			prefix string
			vis    search.Visibility
			first  string // title
			none   bool
		}{
			{"ledg", search.Everything, "Ledger Service", false},
			{"bill", search.Everything, "Billing API", false},
			{"secr", defaultOnly, "", true},
			{"secr", search.Everything, "Secret Vault", false},
			{"支付", search.Everything, "支付网关 Payment Gateway", false},
		} {
			got, err := eng.Suggest(ctx, c.prefix, nil, c.vis, 8)
			if err != nil {
				t.Fatalf("suggest %q: %v", c.prefix, err)
			}
			if c.none && len(got) > 0 {
				t.Errorf("suggest %q: %v, want none", c.prefix, got)
			}
			if !c.none && (len(got) == 0 || got[0].Title != c.first) {
				t.Errorf("suggest %q: %v, want %q first", c.prefix, got, c.first)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := eng.Delete(ctx, []string{kVault, "software-catalog|unknown"}); err != nil {
			t.Fatal(err)
		}
		Settle(t, eng, uint64(len(docs)-1))
		q, _ := search.Query{Term: "secret vault"}.Validate()
		res, err := eng.Search(ctx, q, search.Everything)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(keys(res.Hits), kVault) {
			t.Errorf("deleted document still found: %v", keys(res.Hits))
		}
	})
}
