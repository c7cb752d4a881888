package techdocs

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/internal/greenroom"
)

// memStatus is an in-memory StatusStore for the service's tests; the
// store's implementation is tested on both engines in internal/store.
type memStatus struct {
	mu   sync.Mutex
	recs map[string]BuildRecord
}

func (m *memStatus) BuildRecord(_ context.Context, e string) (BuildRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[e]
	if !ok {
		return BuildRecord{}, greenroom.Errorf(greenroom.CodeNotFound, "none")
	}
	return r, nil
}

func (m *memStatus) SaveBuildRecord(_ context.Context, r BuildRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]BuildRecord{}
	}
	m.recs[r.Entity] = r
	return nil
}

func (m *memStatus) BuildRecords(context.Context) ([]BuildRecord, error) { return nil, nil }

// smtpListener is a tiny SMTP server that records each message's data.
func smtpListener(t *testing.T) (addr string, msgs chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	msgs = make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				w := func(s string) { io.WriteString(c, s+"\r\n") }
				w("220 localhost ESMTP")
				var data strings.Builder
				inData := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if inData {
						if line == ".\r\n" {
							inData = false
							msgs <- data.String()
							w("250 OK")
							continue
						}
						data.WriteString(line)
						continue
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						w("250 localhost")
					case cmd == "DATA":
						inData = true
						w("354 go ahead")
					case cmd == "QUIT":
						w("221 bye")
						return
					default:
						w("250 OK")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), msgs
}

func TestServiceSyncAndFailures(t *testing.T) {
	ctx := context.Background()
	var slackMu sync.Mutex
	var slack []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		slackMu.Lock()
		slack = append(slack, body["text"])
		slackMu.Unlock()
	}))
	defer hook.Close()
	smtpAddr, mails := smtpListener(t)

	repo := project(t, map[string]string{
		"catalog-info.yaml": "x",
		"mkdocs.yml":        "site_name: Pay\n",
		"docs/index.md":     "# Pay\n\nHello.\n",
	})
	pub := &LocalPublisher{Dir: t.TempDir()}
	st := &memStatus{}
	svc := NewService(ServiceOptions{Publisher: pub, Status: st, PortalURL: "https://portal.example",
		Notifier: Notifiers{&SlackNotifier{WebhookURL: hook.URL}, &SMTPNotifier{Addr: smtpAddr, From: "docs@acme.example",
			Recipients: map[string][]string{"group:default/payments": {"payments@acme.example"}}}}})
	e := EntityDocs{Name: EntityName{"default", "Component", "pay"}, Owner: "group:default/payments", ETag: "e1",
		Annotations: map[string]string{AnnotationRef: "dir:.", AnnotationLocation: "file:" + filepath.Join(repo, "catalog-info.yaml")}}

	var logs []string
	updated, err := svc.Sync(ctx, e, false, func(s string) { logs = append(logs, s) })
	if err != nil || !updated {
		t.Fatalf("first sync = %v, %v", updated, err)
	}
	if got, _ := readAll(t, pub, e.Name, ""); !strings.Contains(got, "Hello.") {
		t.Fatalf("published index = %q", got)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "Built 1 pages") {
		t.Errorf("logs = %v", logs)
	}
	rec, _ := svc.Record(ctx, e.Name)
	good := rec.LastSuccessAt
	if rec.Status != StatusSuccess || good.IsZero() {
		t.Fatalf("record = %+v", rec)
	}
	if updated, err := svc.Sync(ctx, e, false, nil); err != nil || updated {
		t.Errorf("unchanged sync = %v, %v; want no rebuild", updated, err)
	}

	// Break the project: the last good site stays, the error is located,
	// the owner is told once however often the build is retried.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(repo, "mkdocs.yml"), []byte("site_name: [broken\n"), 0o644)
	for range 3 {
		if _, err := svc.Sync(ctx, e, false, nil); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Fatalf("broken sync: err = %v", err)
		}
	}
	rec, _ = svc.Record(ctx, e.Name)
	if rec.Status != StatusFailed || !strings.Contains(rec.Error, "mkdocs.yml:1") || !rec.LastSuccessAt.Equal(good) {
		t.Errorf("record after failure = %+v", rec)
	}
	if got, _ := readAll(t, pub, e.Name, ""); !strings.Contains(got, "Hello.") {
		t.Errorf("last good site replaced: %q", got)
	}
	slackMu.Lock()
	if len(slack) != 1 || !strings.Contains(slack[0], "component:default/pay") || !strings.Contains(slack[0], "mkdocs.yml:1") {
		t.Errorf("slack messages = %q, want one", slack)
	}
	slackMu.Unlock()
	select {
	case m := <-mails:
		if !strings.Contains(m, "To: payments@acme.example") || !strings.Contains(m, "mkdocs.yml:1") || !strings.Contains(m, "https://portal.example/docs/default/component/pay/") {
			t.Errorf("mail = %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mail")
	}
	select {
	case m := <-mails:
		t.Errorf("second mail for the same failing change: %q", m)
	case <-time.After(100 * time.Millisecond):
	}

	// A different failing change is notified again; a fix publishes.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(repo, "mkdocs.yml"), []byte("site_name: [broken again\n"), 0o644)
	svc.Sync(ctx, e, false, nil)
	slackMu.Lock()
	if len(slack) != 2 {
		t.Errorf("slack messages after a new failure = %d, want 2", len(slack))
	}
	slackMu.Unlock()
	os.WriteFile(filepath.Join(repo, "mkdocs.yml"), []byte("site_name: Pay\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "docs", "index.md"), []byte("# Pay\n\nFixed.\n"), 0o644)
	if updated, err := svc.Sync(ctx, e, false, nil); err != nil || !updated {
		t.Fatalf("fixed sync = %v, %v", updated, err)
	}
	if got, _ := readAll(t, pub, e.Name, ""); !strings.Contains(got, "Fixed.") {
		t.Errorf("fixed site not published: %q", got)
	}

	ext := NewService(ServiceOptions{Builder: BuilderExternal, Publisher: pub, Status: st})
	if updated, err := ext.Sync(ctx, e, true, nil); err != nil || updated {
		t.Errorf("external builder sync = %v, %v", updated, err)
	}
}

func TestServiceStale(t *testing.T) {
	ctx := context.Background()
	repo := project(t, map[string]string{"mkdocs.yml": "site_name: S\n", "docs/index.md": "# S\n"})
	svc := NewService(ServiceOptions{Publisher: &LocalPublisher{Dir: t.TempDir()}, Status: &memStatus{}})
	e := EntityDocs{Name: EntityName{"default", "component", "s"}, ETag: "e1",
		Annotations: map[string]string{AnnotationRef: "dir:.", AnnotationLocation: "file:" + filepath.Join(repo, "catalog-info.yaml")}}
	if !svc.Stale(ctx, e) {
		t.Error("never built: not stale")
	}
	if _, err := svc.Sync(ctx, e, false, nil); err != nil {
		t.Fatal(err)
	}
	if svc.Stale(ctx, e) {
		t.Error("just built: stale")
	}
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(repo, "docs", "index.md"), []byte("# S\n\nchanged\n"), 0o644)
	if !svc.Stale(ctx, e) {
		t.Error("docs changed: not stale")
	}
	e.ETag = "e2"
	if _, err := svc.Sync(ctx, e, false, nil); err != nil {
		t.Fatal(err)
	}
	if svc.Stale(ctx, e) {
		t.Error("rebuilt: stale")
	}
	e.Annotations[AnnotationRef] = "url:https://example.com/x"
	if svc.Stale(ctx, e) {
		t.Error("url source without an ETagger: stale")
	}
}
