package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
)

// LivePath is where open pages follow catalog changes as Server-Sent
// Events. It is under the server's stream prefix (/api/events/stream), so
// the request timeout does not cut it off.
const LivePath = "/api/events/stream/catalog"

// Bounds of the live-update stream.
const (
	// maxLiveClients bounds concurrent streams over all clients.
	maxLiveClients = 1024
	// maxLivePerClient bounds concurrent streams from one browser (one
	// per open tab; the script closes the stream of hidden tabs). A browser
	// is told apart by its CSRF cookie, which every page sets.
	maxLivePerClient = 16
	// maxLivePerAddr bounds concurrent streams from one IP address, where
	// browsers can mint cookies at will. Behind a reverse proxy this is
	// the client's address when backend.trustProxy trusts the proxy.
	maxLivePerAddr = 256
	// maxLiveRefs bounds the entity refs one stream may follow.
	maxLiveRefs = 100
	// liveBuffer is how many events a stream may fall behind before it is
	// told to resynchronise instead.
	liveBuffer = 64
	// liveHistory is how many recent events a reconnecting stream can
	// catch up on (through Last-Event-ID).
	liveHistory = 256
	// liveRetry is the reconnection delay the browser is told to use.
	liveRetry = 3 * time.Second
)

// liveEvent is one change as a stream sends it.
type liveEvent struct {
	ID   string `json:"-"`
	seq  uint64
	Type string `json:"type"`
	Ref  string `json:"entityRef"`
	ETag string `json:"etag,omitempty"`
	At   string `json:"at"`
}

// liveClient is one open stream.
type liveClient struct {
	refs    map[string]bool // nil: every entity
	addr    string
	browser string
	startID string // the id of the latest event when the stream joined
	c       chan liveEvent
	resync  chan struct{} // signalled (cap 1) when c overflowed
}

func (c *liveClient) wants(ref string) bool { return c.refs == nil || c.refs[ref] }

// liveHub fans the handler's one catalog subscription out to the open
// streams, so that browser tabs do not each hold a catalog subscriber. A
// slow stream never holds up the others: when its buffer is full it is
// told to resynchronise (reload what it shows) instead.
type liveHub struct {
	mu      sync.Mutex
	boot    string // distinguishes this process's event ids from a previous one's
	seq     uint64
	history []liveEvent // ring of the last liveHistory events, oldest first
	clients map[*liveClient]struct{}
	perAddr map[string]int
	perBrws map[string]int
	done    chan struct{} // closed when the feed ends (shutdown)
	closed  bool
	started bool
	// heartbeat is how often an idle stream sends a comment, so that
	// proxies keep it open and dead connections are noticed.
	heartbeat time.Duration
}

func newLiveHub() *liveHub {
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	return &liveHub{boot: hex.EncodeToString(b), clients: map[*liveClient]struct{}{}, perAddr: map[string]int{}, perBrws: map[string]int{},
		done: make(chan struct{}), heartbeat: 25 * time.Second}
}

// start marks the hub as fed by a running Watch.
func (hub *liveHub) start() {
	hub.mu.Lock()
	hub.started = true
	hub.mu.Unlock()
}

// publish hands ev to every stream that follows its entity.
func (hub *liveHub) publish(ev catalog.Event) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.closed {
		return
	}
	hub.seq++
	le := liveEvent{seq: hub.seq, ID: hub.boot + "-" + strconv.FormatUint(hub.seq, 10), Type: string(ev.Type),
		Ref: ev.Ref, ETag: ev.ETag, At: ev.At.UTC().Format(time.RFC3339Nano)}
	hub.history = append(hub.history, le)
	if len(hub.history) > liveHistory {
		hub.history = hub.history[len(hub.history)-liveHistory:]
	}
	for c := range hub.clients {
		if !c.wants(le.Ref) {
			continue
		}
		select {
		case c.c <- le:
		default:
			hub.signalResync(c)
		}
	}
}

// latestID returns the id of the latest event published.
func (hub *liveHub) latestID() string {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	return hub.boot + "-" + strconv.FormatUint(hub.seq, 10)
}

// resyncAll tells every stream that events were lost upstream.
func (hub *liveHub) resyncAll() {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	for c := range hub.clients {
		hub.signalResync(c)
	}
}

func (hub *liveHub) signalResync(c *liveClient) {
	select {
	case c.resync <- struct{}{}:
	default: // already signalled
	}
}

// close ends every stream; called when the change feed ends.
func (hub *liveHub) close() {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if !hub.closed {
		hub.closed = true
		close(hub.done)
	}
}

// join registers a stream, replaying the events after lastID when they are
// still in the history. It reports whether the stream must resynchronise
// first (lastID unknown or too old). Errors are code unavailable: the hub
// is closed or not fed, or there are too many streams (overall or from
// addr or browser).
func (hub *liveHub) join(addr, browser string, refs map[string]bool, lastID string) (*liveClient, []liveEvent, bool, error) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	switch {
	case !hub.started || hub.closed:
		return nil, nil, false, greenroom.Errorf(greenroom.CodeUnavailable, "live updates are not available on this server")
	case len(hub.clients) >= maxLiveClients:
		return nil, nil, false, greenroom.Errorf(greenroom.CodeUnavailable, "too many open live-update streams (at most %d); reload later", maxLiveClients)
	case hub.perBrws[browser] >= maxLivePerClient:
		return nil, nil, false, greenroom.Errorf(greenroom.CodeUnavailable, "too many open live-update streams from this browser (at most %d); close some tabs", maxLivePerClient)
	case hub.perAddr[addr] >= maxLivePerAddr:
		return nil, nil, false, greenroom.Errorf(greenroom.CodeUnavailable, "too many open live-update streams from this address (at most %d)", maxLivePerAddr)
	}
	c := &liveClient{refs: refs, addr: addr, browser: browser, c: make(chan liveEvent, liveBuffer), resync: make(chan struct{}, 1),
		startID: hub.boot + "-" + strconv.FormatUint(hub.seq, 10)}
	hub.clients[c] = struct{}{}
	hub.perAddr[addr]++
	hub.perBrws[browser]++
	if lastID == "" {
		return c, nil, false, nil
	}
	boot, n, ok := strings.Cut(lastID, "-")
	seq, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || boot != hub.boot || seq > hub.seq {
		return c, nil, true, nil // another process's id (a restart) or garbage
	}
	if seq == hub.seq {
		return c, nil, false, nil
	}
	if len(hub.history) == 0 || hub.history[0].seq > seq+1 {
		return c, nil, true, nil // missed more than the history holds
	}
	var missed []liveEvent
	for _, ev := range hub.history {
		if ev.seq > seq && c.wants(ev.Ref) {
			missed = append(missed, ev)
		}
	}
	return c, missed, false, nil
}

func (hub *liveHub) leave(c *liveClient) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	delete(hub.clients, c)
	if hub.perAddr[c.addr]--; hub.perAddr[c.addr] <= 0 {
		delete(hub.perAddr, c.addr)
	}
	if hub.perBrws[c.browser]--; hub.perBrws[c.browser] <= 0 {
		delete(hub.perBrws, c.browser)
	}
}

// liveRefs parses the entity refs a stream follows: ?entity=kind:ns/name,
// repeated; none means every entity.
func liveRefs(r *http.Request) (map[string]bool, error) {
	vals := r.URL.Query()["entity"]
	if len(vals) == 0 {
		return nil, nil
	}
	if len(vals) > maxLiveRefs {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "a live-update stream follows at most %d entities, not %d", maxLiveRefs, len(vals))
	}
	refs := make(map[string]bool, len(vals))
	for i, v := range vals {
		ref, err := greenroom.ParseEntityRef(v, "", "")
		if err != nil || len(v) > 3*maxRefPart {
			return nil, greenroom.Errorf(greenroom.CodeInvalid, "entity[%d] %q is not an entity ref like component:default/name", i, clip(v, 80))
		}
		refs[ref.String()] = true
	}
	return refs, nil
}

// lastEventID is where the stream resumes: the Last-Event-ID header of
// the browser's own reconnection, or ?since= when the script reopens a
// stream it closed (a hidden tab).
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("since")
}

// liveBrowser is the browser streams are counted by: its CSRF cookie, or
// its address when it has none.
func liveBrowser(r *http.Request, addr string) string {
	if c, err := r.Cookie(csrfCookie); err == nil && validToken(c.Value) {
		return "cookie:" + c.Value
	}
	return "addr:" + addr
}

// clientAddr is the address streams are counted by: the peer's IP.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serveLive answers a refused stream in plain text with the reason
// (EventSource shows none, but people and scripts debugging it do).
func (h *Handler) serveLive(w http.ResponseWriter, r *http.Request) {
	if err := h.liveStream(w, r); err != nil {
		setSecurityHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		if greenroom.HTTPStatus(err) == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "10")
		}
		http.Error(w, greenroom.ErrorMessage(err), greenroom.HTTPStatus(err))
	}
}

// liveStream serves GET LivePath: a text/event-stream of "change" events
// (data: {"type","entityRef","etag","at"}) for the followed entities
// after a "ready" event that carries the current event id, a
// "resync" event when the stream fell behind or missed events (the page
// reloads what it shows), and a comment every heartbeat. It ends when the
// client goes away or the server shuts down.
func (h *Handler) liveStream(w http.ResponseWriter, r *http.Request) error {
	refs, err := liveRefs(r)
	if err != nil {
		return err
	}
	// The stream names only entities the caller may see: a hidden
	// entity's changes are never announced (not even its ref).
	visible := func(string) bool { return true }
	if vc, ok := h.catalog.(visibilityChecker); ok {
		if visible, err = vc.Visibility(r.Context()); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	addr := clientAddr(r)
	c, missed, resync, err := h.live.join(addr, liveBrowser(r, addr), refs, lastEventID(r))
	if err != nil {
		return err
	}
	defer h.live.leave(c)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	setSecurityHeaders(w, r)
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) error {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The first write decides the response's encoding: flush before any
	// byte so that the stream is never compressed (and so buffered).
	if err := rc.Flush(); err != nil {
		return nil // the writer cannot stream; nothing more to say
	}
	if err := send("retry: %d\n: greenroom live updates\n\n", liveRetry.Milliseconds()); err != nil {
		return nil
	}
	if resync {
		if err := send("event: resync\ndata: {}\n\n"); err != nil {
			return nil
		}
	}
	for _, ev := range missed {
		if !visible(ev.Ref) {
			continue
		}
		if err := sendLive(send, ev); err != nil {
			return nil
		}
	}
	// "ready" carries the latest event's id, so that a stream reopened
	// later (?since=) catches up even when it has seen no change yet.
	if err := send("id: %s\nevent: ready\ndata: {}\n\n", c.startID); err != nil {
		return nil
	}
	tick := time.NewTicker(h.live.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-h.live.done:
			return nil
		case <-c.resync:
			err = send("event: resync\ndata: {}\n\n")
		case ev := <-c.c:
			if visible(ev.Ref) {
				err = sendLive(send, ev)
			}
		case <-tick.C:
			err = send(": ping\n\n")
		}
		if err != nil {
			return nil // the client went away
		}
	}
}

// visibilityChecker is the catalog's read scope for refs outside a query
// (catalog.Service.Visibility).
type visibilityChecker interface {
	Visibility(ctx context.Context) (func(ref string) bool, error)
}

func sendLive(send func(string, ...any) error, ev liveEvent) error {
	data, _ := json.Marshal(ev) // strings only: never fails
	return send("id: %s\nevent: change\ndata: %s\n\n", ev.ID, data)
}

// liveView tells the page's script what to follow (the data-live
// attributes of <main>): the entity page follows its entity; lists follow
// every change.
type liveView struct {
	Mode string // "entity" or "list"
	URL  string
}

func entityLive(ref string) *liveView {
	return &liveView{Mode: "entity", URL: LivePath + "?" + url.Values{"entity": {ref}}.Encode()}
}

func listLive() *liveView { return &liveView{Mode: "list", URL: LivePath} }
