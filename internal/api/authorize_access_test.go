package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/store/storetest"
)

func TestAuditAPIQueryAndExport(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for i := range 2500 {
		dec := access.DecisionAllow
		if i%2 == 1 {
			dec = access.DecisionDeny
		}
		if err := st.Audit(ctx, access.AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), Actor: fmt.Sprintf("user:default/u%d", i%3),
			Action: "delete", Resource: fmt.Sprint(i), Decision: dec}); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	NewAccess(st, nil, nil, slog.New(slog.DiscardHandler)).Routes(mux)
	get := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		return rec
	}
	var page struct {
		Items []access.AuditRecord `json:"items"`
		Next  int64                `json:"next"`
	}
	rec := get("/api/access/audit?actor=user:default/u0&decision=deny&limit=10")
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(page.Items) != 10 || page.Next != page.Items[9].ID {
		t.Fatalf("page: %d items, next %d", len(page.Items), page.Next)
	}
	for _, it := range page.Items {
		if it.Actor != "user:default/u0" || it.Decision != "deny" {
			t.Fatalf("filter leaked %+v", it)
		}
	}
	for _, bad := range []string{"decision=maybe", "since=yesterday", "limit=0", "limit=99999", "before=-1"} {
		if rec := get("/api/access/audit?" + bad); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "InputError") {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	// The export streams every match, in pages, as JSON lines.
	rec = get("/api/access/audit/export?since=" + t0.Add(100*time.Second).Format(time.RFC3339))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/jsonl") {
		t.Errorf("content type %q", ct)
	}
	sc := bufio.NewScanner(rec.Body)
	n := 0
	var last int64 = 1 << 62
	for sc.Scan() {
		var r access.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if r.ID >= last {
			t.Fatalf("not newest first at line %d", n)
		}
		last = r.ID
		n++
	}
	if n != 2400 {
		t.Fatalf("exported %d lines, want 2400", n)
	}
}

// FuzzParseAuditFilter: any query string parses to a valid filter or a
// located invalid error, never a panic.
func FuzzParseAuditFilter(f *testing.F) {
	for _, s := range []string{"actor=user:default/jane&decision=deny", "since=2026-01-02T15:04:05Z&until=x", "limit=10&before=3",
		"action=approval.*&resource=component:default/x", "decision=none&limit=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseAuditFilter(q)
		if err != nil {
			if !strings.Contains(err.Error(), "must be") {
				t.Fatalf("unlocated error %v", err)
			}
			return
		}
		if flt.Limit < 0 || flt.Limit > access.MaxAuditLimit || flt.BeforeID < 0 {
			t.Fatalf("out of range %+v", flt)
		}
	})
}
