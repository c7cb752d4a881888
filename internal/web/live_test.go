package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

// sseEvent is one parsed Server-Sent Event (comments kept apart).
type sseEvent struct {
	ID, Event, Data string
	Comment         string
}

// sseStream reads a live stream's events on a channel.
type sseStream struct {
	resp *http.Response
	c    chan sseEvent
	end  chan struct{} // closed when the body ends
}

func openStream(t *testing.T, base, query string, header http.Header) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+LivePath+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &sseStream{resp: resp, c: make(chan sseEvent, 256), end: make(chan struct{})}
	if resp.StatusCode != http.StatusOK {
		close(s.end)
		return s
	}
	go func() {
		defer close(s.end)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.c <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Comment += strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "id":
					ev.ID = v
				case "event":
					ev.Event = v
				case "data":
					ev.Data += v
				}
			}
		}
	}()
	return s
}

// next returns the next event (not comment-only) within a deadline.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.c:
			if ev.Event == "" && ev.Data == "" || ev.Event == "ready" {
				continue
			}
			return ev
		case <-s.end:
			t.Fatal("stream ended")
		case <-timeout:
			t.Fatal("no event within 10s")
		}
	}
}

// nextFor returns the next change of ref, skipping other entities' (a
// pushed component also changes its owner group's relations).
func (s *sseStream) nextFor(t *testing.T, ref string) liveEvent {
	t.Helper()
	for {
		if le := changeOf(t, s.next(t)); le.Ref == ref {
			return le
		}
	}
}

// quiet checks that no event arrives for a while.
func (s *sseStream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	timer := time.After(d)
	for {
		select {
		case ev := <-s.c:
			if ev.Event != "" && ev.Event != "ready" {
				t.Fatalf("unexpected event %+v", ev)
			}
		case <-timer:
			return
		}
	}
}

func pushComponent(t *testing.T, svc *catalog.Service, name, description string) {
	t.Helper()
	raw := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":%q,"description":%q},`+
		`"spec":{"type":"service","owner":"team-payments","lifecycle":"production"}}`, name, description)
	res, err := svc.Push(t.Context(), "live-test", catalog.PushRequest{Entities: []json.RawMessage{json.RawMessage(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 1 || res.Results[0].Error != nil {
		t.Fatalf("push %s: %+v", name, res.Results)
	}
}

func changeOf(t *testing.T, ev sseEvent) liveEvent {
	t.Helper()
	if ev.Event != "change" {
		t.Fatalf("event %q (%s), want change", ev.Event, ev.Data)
	}
	var le liveEvent
	if err := json.Unmarshal([]byte(ev.Data), &le); err != nil {
		t.Fatalf("change data %q: %v", ev.Data, err)
	}
	if ev.ID == "" {
		t.Errorf("change without id: %+v", ev)
	}
	return le
}

func TestLiveStream(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.h.live.heartbeat = 50 * time.Millisecond
	srv := httptest.NewServer(f.mux)
	t.Cleanup(srv.Close)

	one := openStream(t, srv.URL, "?entity=component:default/live-one", nil)
	all := openStream(t, srv.URL, "", nil)
	for _, s := range []*sseStream{one, all} {
		if s.resp.StatusCode != 200 || s.resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: status %d, type %q", s.resp.StatusCode, s.resp.Header.Get("Content-Type"))
		}
		if csp := s.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("stream CSP %q", csp)
		}
	}

	// Each stream starts with "ready", carrying the latest event's id.
	for _, s := range []*sseStream{one, all} {
		for ev := range s.c {
			if ev.Event == "" {
				continue // the opening comment
			}
			if ev.Event != "ready" || !strings.HasPrefix(ev.ID, f.h.live.boot+"-") {
				t.Errorf("first event %+v, want ready with the latest id", ev)
			}
			break
		}
	}
	// A stream reopened from ready's id catches up on what followed.
	readyID := f.h.live.latestID()

	// Another entity's change reaches the unfiltered stream only.
	pushComponent(t, f.svc, "live-other", "first")
	if le := all.nextFor(t, "component:default/live-other"); le.Type != "created" || le.ETag == "" {
		t.Errorf("all: %+v", le)
	}
	// The followed entity's creation and update reach both, in order.
	pushComponent(t, f.svc, "live-one", "first")
	pushComponent(t, f.svc, "live-one", "second")
	var ids []string
	for i, want := range []string{"created", "updated"} {
		ev := one.next(t)
		le := changeOf(t, ev)
		if le.Ref != "component:default/live-one" || le.Type != want {
			t.Errorf("one #%d: %+v, want %s", i, le, want)
		}
		ids = append(ids, ev.ID)
		if le := all.nextFor(t, "component:default/live-one"); le.Type != want {
			t.Errorf("all #%d: %+v, want %s", i, le, want)
		}
	}
	// The heartbeat keeps an idle stream talking, as comments.
	deadline := time.After(5 * time.Second)
	for ping := false; !ping; {
		select {
		case ev := <-one.c:
			if ev.Event != "" {
				t.Fatalf("unexpected %+v", ev)
			}
			ping = ev.Comment == "ping"
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}

	// A reconnection with Last-Event-ID catches up on what it missed; an
	// id from another process (a restart) or garbage gets resync.
	again := openStream(t, srv.URL, "?entity=component:default/live-one", http.Header{"Last-Event-Id": {ids[0]}})
	if le := changeOf(t, again.next(t)); le.Type != "updated" {
		t.Errorf("replay: %+v", le)
	}
	again.quiet(t, 150*time.Millisecond)
	fromReady := openStream(t, srv.URL, "?entity=component:default/live-one&since="+url.QueryEscape(readyID), nil)
	for _, want := range []string{"created", "updated"} {
		if le := changeOf(t, fromReady.next(t)); le.Type != want {
			t.Errorf("from ready: %+v, want %s", le, want)
		}
	}
	since := openStream(t, srv.URL, "?entity=component:default/live-one&since="+url.QueryEscape(ids[1]), nil)
	since.quiet(t, 150*time.Millisecond) // up to date: nothing to replay
	for _, id := range []string{"0000-1", "garbage", f.h.live.boot + "-999999"} {
		s := openStream(t, srv.URL, "?since="+url.QueryEscape(id), nil)
		if ev := s.next(t); ev.Event != "resync" {
			t.Errorf("since %q: %+v, want resync", id, ev)
		}
	}
}

func TestLiveStreamBadInputAndLimits(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	srv := httptest.NewServer(f.mux)
	t.Cleanup(srv.Close)
	for name, q := range map[string]string{
		"not a ref": "?entity=" + url.QueryEscape("component:/x"),
		"too many":  "?" + strings.Repeat("entity=component:a&", maxLiveRefs+1),
	} {
		s := openStream(t, srv.URL, q, nil)
		body, _ := io.ReadAll(s.resp.Body)
		if s.resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "entit") {
			t.Errorf("%s: status %d\n%.300s", name, s.resp.StatusCode, body)
		}
	}
	// One address may hold maxLivePerClient streams; the next is refused
	// with a reason, and a closed one frees its place.
	var open []*sseStream
	for range maxLivePerClient {
		s := openStream(t, srv.URL, "", nil)
		if s.resp.StatusCode != 200 {
			t.Fatalf("stream %d refused: %d", len(open), s.resp.StatusCode)
		}
		open = append(open, s)
	}
	over := openStream(t, srv.URL, "", nil)
	body, _ := io.ReadAll(over.resp.Body)
	if over.resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "close some tabs") {
		t.Errorf("stream over the limit: %d\n%.300s", over.resp.StatusCode, body)
	}
	// Another browser (its own CSRF cookie) at the same address may.
	tok := strings.Repeat("A", 43) // 32 bytes, base64url
	other := openStream(t, srv.URL, "", http.Header{"Cookie": {csrfCookie + "=" + tok}})
	if other.resp.StatusCode != 200 {
		t.Errorf("another browser at the same address refused: %d", other.resp.StatusCode)
	}
	open[0].resp.Body.Close()
	var s *sseStream
	for deadline := time.Now().Add(5 * time.Second); ; {
		s = openStream(t, srv.URL, "", nil)
		if s.resp.StatusCode == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s.resp.StatusCode != 200 {
		t.Errorf("closing a stream did not free its place: %d", s.resp.StatusCode)
	}
}

// A stream ends when the change feed does (server shutdown), and a
// handler that does not watch the catalog refuses streams.
func TestLiveStreamShutdown(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	h, err := New("Acme", f.svc, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	off := openStream(t, srv.URL, "", nil)
	if off.resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream without Watch: %d", off.resp.StatusCode)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := h.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	s := openStream(t, srv.URL, "", nil)
	if s.resp.StatusCode != 200 {
		t.Fatalf("stream: %d", s.resp.StatusCode)
	}
	pushComponent(t, f.svc, "live-shutdown", "x")
	s.nextFor(t, "component:default/live-shutdown")
	cancel()
	select {
	case <-s.end:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after the feed ended")
	}
	if late := openStream(t, srv.URL, "", nil); late.resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after shutdown: %d", late.resp.StatusCode)
	}
}

// A stream that falls behind is told to resynchronise rather than
// holding up publishing.
func TestLiveHubSlowClient(t *testing.T) {
	hub := newLiveHub()
	hub.start()
	c, _, _, err := hub.join("a", "a", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for i := range liveBuffer + 10 {
			hub.publish(catalog.Event{Type: catalog.EventUpdated, Ref: fmt.Sprintf("component:default/s%d", i), At: time.Now()})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publish blocked on a slow stream")
	}
	if len(c.c) != liveBuffer {
		t.Errorf("buffered %d, want %d", len(c.c), liveBuffer)
	}
	select {
	case <-c.resync:
	default:
		t.Error("slow stream not told to resync")
	}
	// The history is bounded; an id older than it resyncs.
	for range liveHistory {
		hub.publish(catalog.Event{Type: catalog.EventUpdated, Ref: "component:default/x", At: time.Now()})
	}
	if len(hub.history) != liveHistory {
		t.Errorf("history %d", len(hub.history))
	}
	_, missed, resync, _ := hub.join("b", "b", nil, hub.boot+"-1")
	if !resync || missed != nil {
		t.Errorf("old id: resync %v, %d missed", resync, len(missed))
	}
	_, missed, resync, _ = hub.join("b", "b", map[string]bool{"component:default/x": true}, fmt.Sprintf("%s-%d", hub.boot, hub.seq-3))
	if resync || len(missed) != 3 {
		t.Errorf("recent id: resync %v, %d missed", resync, len(missed))
	}
	// One address, many browsers: bounded too.
	addrHub := newLiveHub()
	addrHub.start()
	for i := range maxLivePerAddr {
		if _, _, _, err := addrHub.join("10.0.0.1", fmt.Sprint("cookie:", i), nil, ""); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	if _, _, _, err := addrHub.join("10.0.0.1", "cookie:new", nil, ""); err == nil || !strings.Contains(err.Error(), "this address") {
		t.Errorf("stream over the address limit: %v", err)
	}
	if _, _, _, err := (&liveHub{}).join("a", "a", nil, ""); greenroom.ErrorCode(err) != greenroom.CodeUnavailable {
		t.Errorf("unstarted hub: %v", err)
	}
}

// Pages that show catalog entities tell the script what to follow.
func TestLivePageAttributes(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	for path, want := range map[string]string{
		"/":                                      `data-live="list" data-live-url="/api/events/stream/catalog"`,
		"/catalog":                               `data-live="list" data-live-url="/api/events/stream/catalog"`,
		"/catalog/default/component/flaky":       `data-live="entity" data-live-url="/api/events/stream/catalog?entity=component%3Adefault%2Fflaky"`,
		"/catalog/default/component/flaky/graph": `data-live="entity"`,
	} {
		res := f.get(t, path)
		if res.Code == http.StatusMovedPermanently || res.Code == http.StatusNotFound {
			continue // the section may have another id; checked below
		}
		if !strings.Contains(res.body, want) {
			i := strings.Index(res.body, "<main")
			t.Errorf("%s lacks %s:\n%.200s", path, want, res.body[max(i, 0):])
		}
	}
	if res := f.get(t, "/catalog-import"); strings.Contains(res.body, "data-live=") {
		t.Error("the import page follows changes")
	}
}

// FuzzLiveResume: whatever Last-Event-ID or ?entity= a client sends, the
// hub neither panics nor replays events the client has seen or does not
// follow, and a stream is either caught up, replayed or told to resync.
func FuzzLiveResume(f *testing.F) {
	hub := newLiveHub()
	hub.start()
	for i := range 40 {
		hub.publish(catalog.Event{Type: catalog.EventUpdated, Ref: fmt.Sprintf("component:default/s%d", i%7), At: time.Now()})
	}
	for _, seed := range []string{"", hub.boot + "-0", hub.boot + "-1", hub.boot + "-39", hub.boot + "-40", hub.boot + "-41",
		hub.boot + "--1", hub.boot + "-18446744073709551615", "deadbeef-3", "-", "garbage", hub.boot + "-+5"} {
		f.Add(seed, "component:default/s3")
	}
	f.Fuzz(func(t *testing.T, lastID, entity string) {
		r := httptest.NewRequest(http.MethodGet, LivePath+"?"+url.Values{"entity": {entity}}.Encode(), nil)
		refs, err := liveRefs(r)
		if err != nil {
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid {
				t.Fatalf("refs %q: %v", entity, err)
			}
			refs = nil
		}
		c, missed, resync, err := hub.join("fuzz", "fuzz", refs, lastID)
		if err != nil {
			t.Fatal(err)
		}
		defer hub.leave(c)
		if resync && len(missed) > 0 {
			t.Fatalf("%q: resync and %d replayed", lastID, len(missed))
		}
		var after uint64
		if _, n, ok := strings.Cut(lastID, "-"); ok {
			fmt.Sscan(n, &after)
		}
		prev := uint64(0)
		for _, ev := range missed {
			if ev.seq <= after || ev.seq <= prev || !c.wants(ev.Ref) {
				t.Fatalf("%q: replayed %+v (after %d, previous %d)", lastID, ev, after, prev)
			}
			prev = ev.seq
		}
	})
}

// BenchmarkLiveFanout: one catalog change handed to 1000 open streams
// (each drained by its own goroutine, as the handlers do).
func BenchmarkLiveFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			hub := newLiveHub()
			hub.start()
			done := make(chan struct{})
			defer close(done)
			for i := range n {
				addr := fmt.Sprintf("10.0.%d.%d", i/250, i%250)
				c, _, _, err := hub.join(addr, addr, nil, "")
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for {
						select {
						case <-c.c:
						case <-c.resync:
						case <-done:
							return
						}
					}
				}()
			}
			ev := catalog.Event{Type: catalog.EventUpdated, Ref: "component:default/svc", ETag: "abc", At: time.Now()}
			b.ResetTimer()
			for range b.N {
				hub.publish(ev)
			}
		})
	}
}

// A caller's read scope applies to the stream: a hidden entity's changes
// are never announced, not even by ref.
func TestLiveStreamHonoursReadScope(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.svc.SetReadFilter(func(context.Context) (catalog.ReadScope, error) {
		return catalog.ReadScope{Visible: func(ref string) bool { return ref != "component:default/live-secret" }}, nil
	})
	srv := httptest.NewServer(f.mux)
	t.Cleanup(srv.Close)
	all := openStream(t, srv.URL, "", nil)
	pushComponent(t, f.svc, "live-secret", "hidden")
	pushComponent(t, f.svc, "live-open", "shown")
	for {
		le := changeOf(t, all.next(t))
		if le.Ref == "component:default/live-secret" {
			t.Fatalf("a hidden entity's change was announced: %+v", le)
		}
		if le.Ref == "component:default/live-open" {
			break
		}
	}
}
