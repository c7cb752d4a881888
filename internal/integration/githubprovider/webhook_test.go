package githubprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/config"
	"greenroom/internal/integration/github"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func send(t *testing.T, e *env, d githubfake.Delivery) (int, string) {
	t.Helper()
	resp, err := d.Send(t.Context(), nil, e.hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func queued(t *testing.T, s *store.Store) int {
	t.Helper()
	c, err := s.JobCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func TestWebhookBadInput(t *testing.T) {
	fake := githubfake.New(t, githubfake.Config{})
	fake.AddOrg("acme")
	fake.AddRepo("acme", githubfake.Repo{Name: "a", Files: map[string]string{"README.md": "x"}})
	s := storetest.SQLite(t)
	e := newEnv(t, s, fake, providerConfig("acme"))
	audit := &memAuditor{}
	e.disc.deps.Auditor = audit
	d := fake.PushFile("acme", "a", "main", "catalog-info.yaml", component("a"))

	post := func(body []byte, h http.Header) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/api/events/http/github", bytes.NewReader(body))
		req.Header = h
		w := httptest.NewRecorder()
		e.disc.WebhookHandler().ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	bad := d.Header()
	bad.Set(github.HeaderSignature256, "sha256="+strings.Repeat("0", 64))
	missing := d.Header()
	missing.Del(github.HeaderSignature256)
	missing.Del("X-Hub-Signature")
	malformed := []byte(`{"ref": 42`)
	malformedHeader := d.Header()
	malformedHeader.Set(github.HeaderSignature256, github.Sign([]byte(fake.WebhookSecret()), malformed))
	noDelivery := d.Header()
	noDelivery.Del(github.HeaderDelivery)

	tests := []struct {
		name   string
		body   []byte
		header http.Header
		status int
	}{
		{"bad signature", d.Body, bad, 401},
		{"missing signature", d.Body, missing, 401},
		{"tampered body", append(bytes.Clone(d.Body), ' '), d.Header(), 401},
		{"malformed payload", malformed, malformedHeader, 400},
		{"no delivery id", d.Body, noDelivery, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.body, tt.header)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			if n := queued(t, s); n != 0 {
				t.Errorf("%d jobs queued after a refused delivery", n)
			}
		})
	}
	// Each signature refusal is audited; other refusals are not attacks.
	if got := audit.list(); len(got) != 3 {
		t.Errorf("audited %d refusals, want 3 (bad, missing, tampered): %+v", len(got), got)
	} else {
		for _, ev := range got {
			if ev.Decision != access.DecisionDeny || ev.Action != "webhook.github.receive" || ev.Details["delivery"] != d.ID ||
				!strings.HasPrefix(ev.Reason, "signature: ") || strings.Contains(ev.Reason, fake.WebhookSecret()) {
				t.Errorf("audit event %+v", ev)
			}
		}
	}
	status, body := post(d.Body, d.Header())
	if status != http.StatusAccepted || !strings.Contains(body, "queued") {
		t.Fatalf("good delivery: %d %s", status, body)
	}
	status, body = post(d.Body, d.Header())
	if status != http.StatusOK || !strings.Contains(body, "duplicate") {
		t.Errorf("replayed delivery: %d %s", status, body)
	}
	// A replay reaching another replica (which has not seen it) while the
	// job is queued is found by the jobs table's dedupe key.
	e.disc.recent = newRecentSet(10)
	status, body = post(d.Body, d.Header())
	if status != http.StatusOK || !strings.Contains(body, "duplicate") {
		t.Errorf("replayed delivery on a fresh receiver: %d %s", status, body)
	}
	if n := queued(t, s); n != 1 {
		t.Errorf("%d jobs queued, want 1", n)
	}
	// Nothing was processed: the pool never ran.
	if e.present("a")["a"] {
		t.Error("entity appeared without the pool running")
	}
}

func TestWebhookEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "svc", Files: map[string]string{"catalog-info.yaml": component("svc")}})
		fake.AddRepo("acme", githubfake.Repo{Name: "fresh", Files: map[string]string{"README.md": "x"}})
		e := newEnv(t, s, fake, providerConfig("acme")) // hourly schedule: only webhooks can be quick
		e.scan()
		e.start()

		d := fake.PushFile("acme", "fresh", "main", "catalog-info.yaml", component("fresh"))
		start := time.Now()
		if status, body := send(t, e, d); status != http.StatusAccepted {
			t.Fatalf("delivery: %d %s", status, body)
		}
		latency := waitFor(t, 10*time.Second, func() bool { return e.present("fresh")["fresh"] })
		t.Logf("push to queryable entity: %s", time.Since(start).Round(time.Millisecond))
		_ = latency

		steps := []struct {
			name     string
			delivery func() githubfake.Delivery
			want     map[string]bool
		}{
			{"rename", func() githubfake.Delivery { return fake.RenameRepo("acme", "svc", "svc2") }, map[string]bool{"svc": true, "fresh": true}},
			{"file modified", func() githubfake.Delivery {
				return fake.PushFile("acme", "svc2", "main", "catalog-info.yaml", component("svc-v2"))
			}, map[string]bool{"svc-v2": true, "fresh": true}},
			{"file removed", func() githubfake.Delivery { return fake.DeleteFile("acme", "fresh", "main", "catalog-info.yaml") }, map[string]bool{"svc-v2": true}},
			{"archived", func() githubfake.Delivery { return fake.ArchiveRepo("acme", "svc2") }, map[string]bool{}},
			{"unarchived", func() githubfake.Delivery { return fake.UnarchiveRepo("acme", "svc2") }, map[string]bool{"svc-v2": true}},
			{"deleted", func() githubfake.Delivery { return fake.DeleteRepo("acme", "svc2") }, map[string]bool{}},
		}
		names := []string{"svc", "svc-v2", "fresh"}
		for _, st := range steps {
			if status, body := send(t, e, st.delivery()); status != http.StatusAccepted {
				t.Fatalf("%s: delivery %d %s", st.name, status, body)
			}
			waitFor(t, 10*time.Second, func() bool {
				got := e.present(names...)
				for _, n := range names {
					if got[n] != st.want[n] {
						return false
					}
				}
				return true
			})
		}
		if got := e.prov.Status().WebhooksApplied; got < len(steps) {
			t.Errorf("webhooks applied %d, want at least %d", got, len(steps))
		}
	})
}

func TestScheduleWithoutWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "a", Files: map[string]string{"catalog-info.yaml": component("a")}})
		pc := providerConfig("acme")
		pc.Schedule = config.ProviderSchedule{Frequency: 1500 * time.Millisecond, Timeout: 10 * time.Second}
		e := newEnv(t, s, fake, pc)
		e.start()
		if err := e.disc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, func() bool { return e.present("a")["a"] }) // the initial scan
		fake.PushFile("acme", "a", "main", "more/catalog-info.yaml", component("ignored"))
		fake.AddRepo("acme", githubfake.Repo{Name: "b", Files: map[string]string{"catalog-info.yaml": component("b")}})
		// Within one interval (plus its ±10 % jitter and the pool's poll).
		took := waitFor(t, pc.Schedule.Frequency*11/10+500*time.Millisecond, func() bool { return e.present("b")["b"] })
		t.Logf("new repository visible after %s with a %s schedule", took.Round(time.Millisecond), pc.Schedule.Frequency)
		st := e.prov.Status()
		if st.NextRun.IsZero() || st.LastSuccess.IsZero() {
			t.Errorf("status after scheduled scans: %+v", st)
		}
		var list StatusList
		w := httptest.NewRecorder()
		e.disc.StatusHandler().ServeHTTP(w, httptest.NewRequest("GET", "/api/catalog/providers", nil))
		if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list.Items) != 1 || list.Items[0].Name != "github-test" {
			t.Errorf("GET /api/catalog/providers: %v %s", err, w.Body.String())
		}
	})
}

// A delivery replayed after its job finished and the process restarted
// (or on another replica) is still ignored: the jobs table keeps its dedupe
// key. A delivery whose job failed for good may be redelivered and runs.
func TestWebhookReplayAfterRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fake := githubfake.New(t, githubfake.Config{})
		fake.AddOrg("acme")
		fake.AddRepo("acme", githubfake.Repo{Name: "a", Files: map[string]string{"README.md": "x"}})
		e := newEnv(t, s, fake, providerConfig("acme"))
		e.scan()
		e.start()
		d := fake.PushFile("acme", "a", "main", "catalog-info.yaml", component("a"))
		if status, body := send(t, e, d); status != http.StatusAccepted {
			t.Fatalf("delivery: %d %s", status, body)
		}
		waitFor(t, 10*time.Second, func() bool { return e.present("a")["a"] })
		waitFor(t, 5*time.Second, func() bool { return pending(t, s) == 0 })

		// "Restart": a new Discovery with an empty memory on the same store.
		restarted := newEnv(t, s, fake, providerConfig("acme"))
		status, body := send(t, restarted, d)
		if status != http.StatusOK || !strings.Contains(body, "duplicate") {
			t.Fatalf("replay after restart: %d %s, want 200 duplicate", status, body)
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("%d jobs queued by a replay after restart", n)
		}

		// A delivery whose work failed for good is taken again.
		q := "UPDATE jobs SET state = 'failed' WHERE dedupe_key = ?"
		if s.Driver() == "postgres" {
			q = strings.Replace(q, "?", "$1", 1)
		}
		if _, err := s.WriteDB().ExecContext(t.Context(), q, "github-delivery:"+d.ID); err != nil {
			t.Fatal(err)
		}
		again := newEnv(t, s, fake, providerConfig("acme"))
		if status, body := send(t, again, d); status != http.StatusAccepted {
			t.Errorf("redelivery of a failed delivery: %d %s, want 202", status, body)
		}
	})
}

// pending counts queued and running jobs.
func pending(t *testing.T, s *store.Store) int {
	t.Helper()
	c, err := s.JobCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c["queued"] + c["running"]
}

// memAuditor keeps audit events in memory.
type memAuditor struct {
	mu  sync.Mutex
	evs []access.AuditEvent
}

func (m *memAuditor) Audit(_ context.Context, ev access.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, ev)
	return nil
}

func (m *memAuditor) list() []access.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]access.AuditEvent(nil), m.evs...)
}
