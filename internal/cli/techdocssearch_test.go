package cli

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// The demo's docs are built at start and their pages become searchable:
// one result per page, its deep link the section the words are in.
func TestServeSearchFindsDocPages(t *testing.T) {
	t.Parallel()
	p := serve(t, t.TempDir(), nil)
	var res struct {
		Results []struct {
			Type     string
			Document struct {
				Title, Location string
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	term := url.QueryEscape("repeated key returns the first result")
	for {
		code := getJSON(t, p.base+"/api/search/query?term="+term+"&types%5B%5D=techdocs", &res)
		if code == 200 && len(res.Results) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no techdocs result within 60 s (last status %d, %+v)", code, res)
		}
		time.Sleep(250 * time.Millisecond)
	}
	top := res.Results[0]
	if top.Type != "techdocs" || !strings.HasPrefix(top.Document.Location, "/docs/default/component/ledger-service/architecture/") ||
		!strings.Contains(top.Document.Location, "#idempotency") {
		t.Errorf("top result %+v, want the ledger-service architecture page at its Idempotency section", top)
	}
	pages := map[string]int{}
	for _, r := range res.Results {
		pages[strings.SplitN(r.Document.Location, "#", 2)[0]]++
	}
	for page, n := range pages {
		if n > 1 {
			t.Errorf("page %s is %d results, want one per page", page, n)
		}
	}
}
